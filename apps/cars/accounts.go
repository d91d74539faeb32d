package cars

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AccountType is one of the fifteen kinds of Secretary of State business
// account that CARS e-Services knows. Each proves ownership with its own
// identifiers: Mechanic and Dealer with their number and the ZIP code on
// record, Mechanic School with its school ID alone, every other type with
// the account number and ZIP code.
type AccountType struct {
	Slug  string // form value and CSV spelling, e.g. "mechanic-school"
	Name  string // as the guide writes it, e.g. "Mechanic School"
	Ident string // label of the type's identifier, e.g. "Mechanic School ID"
	ZIP   bool   // whether the ZIP code on record is asked as well
}

// AccountTypes are the types in the order of the guide's list.
var AccountTypes = []AccountType{
	{"baiid-manufacturer", "BAIID Manufacturer", "Account Number", true},
	{"custodian", "Custodian", "Account Number", true},
	{"driver-education-instructor", "Driver Education Instructor", "Account Number", true},
	{"driver-education-provider", "Driver Education Provider", "Account Number", true},
	{"dealer", "Dealer", "Dealer Number", true},
	{"permanent-fleet", "Permanent Fleet", "Account Number", true},
	{"irp-fleet", "IRP Fleet", "Account Number", true},
	{"mobile-home-dealer", "Mobile Home Dealer", "Account Number", true},
	{"mechanic", "Mechanic", "Mechanic Number", true},
	{"miscellaneous", "Miscellaneous", "Account Number", true},
	{"mechanic-school", "Mechanic School", "Mechanic School ID", false},
	{"record-sales", "Record Sales", "Account Number", true},
	{"repair-facility", "Repair Facility", "Account Number", true},
	{"salvage-vehicle-inspector", "Salvage Vehicle Inspector", "Account Number", true},
	{"third-party-trip-permit", "3rd Party Trip Permit", "Account Number", true},
}

// LookupType finds a type by its slug or its name, ignoring case, spaces
// and dashes ("Mechanic School", "mechanic-school", "MECHANICSCHOOL").
func LookupType(s string) (AccountType, bool) {
	n := Normalize(s)
	for _, t := range AccountTypes {
		if Normalize(t.Slug) == n || Normalize(t.Name) == n {
			return t, true
		}
	}
	return AccountType{}, false
}

// Account is a business account on record at the Secretary of State.
type Account struct {
	Number       string // "00-00123456"
	Type         AccountType
	Ident        string // the type's identifier as written on record
	Name         string
	Street       string
	City         string
	State        string
	ZIP          string
	Email        string // email on record
	BalanceCents int64
}

// Balance is the balance as the springboard shows it: "$0.00".
func (a Account) Balance() string { return FormatCents(a.BalanceCents) }

// FormatCents writes an amount of cents as dollars: -$12.50, $1,234.00.
func FormatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	d := strconv.FormatInt(c/100, 10)
	for i := len(d) - 3; i > 0; i -= 3 {
		d = d[:i] + "," + d[i:]
	}
	return fmt.Sprintf("%s$%s.%02d", sign, d, c%100)
}

// Normalize is how identifiers and codes are compared: upper case, with
// spaces, dashes and dots removed, so "m-123 4567" matches "M1234567".
func Normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case ' ', '\t', '-', '.', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NormalizeZIP keeps the five-digit ZIP code of "48933", "48933-1234" or
// " 48933 1234 "; anything else is returned normalised (and will not match).
func NormalizeZIP(s string) string {
	n := Normalize(s)
	if len(n) == 9 && allDigits(n) {
		return n[:5]
	}
	return n
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

var (
	accountNumberRE = regexp.MustCompile(`^[0-9]{2}-[0-9]{8}$`)
	zipRE           = regexp.MustCompile(`^[0-9]{5}(-[0-9]{4})?$`)
	identRE         = regexp.MustCompile(`^[A-Z0-9]{1,20}$`)
	stateRE         = regexp.MustCompile(`^[A-Z]{2}$`)
	balanceRE       = regexp.MustCompile(`^(-)?\$?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.([0-9]{2}))?$`)
)

// ParseCents reads a balance written "0.00", "$1,234.56" or "-12".
func ParseCents(s string) (int64, error) {
	m := balanceRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("balance %q is not an amount like 1234.56", s)
	}
	whole, err := strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64)
	if err != nil || whole > 1e12 {
		return 0, fmt.Errorf("balance %q is too large", s)
	}
	c := whole * 100
	if m[5] != "" {
		f, _ := strconv.ParseInt(m[5], 10, 64)
		c += f
	}
	if m[1] == "-" {
		c = -c
	}
	return c, nil
}

// Validate checks an account read from a file and fills in what follows
// from the rules (the identifier of an account-number type is the number).
// It returns the first rule that fails, in words for an import summary.
func (a *Account) Validate() error {
	// A NUL, line break or broken UTF-8 (a CSV cell can carry any) would be
	// stored and later printed on a letter or a page: refuse it first.
	for _, f := range []struct{ name, v string }{{"account number", a.Number}, {"identifier", a.Ident}, {"name", a.Name},
		{"street", a.Street}, {"city", a.City}, {"state", a.State}, {"ZIP code", a.ZIP}, {"email", a.Email}} {
		if !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, unicode.IsControl) {
			return fmt.Errorf("%s has control characters or is not UTF-8", f.name)
		}
	}
	a.Number = strings.TrimSpace(a.Number)
	if !accountNumberRE.MatchString(a.Number) {
		return fmt.Errorf("account number %q is not in the form 00-00123456", a.Number)
	}
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" || len(a.Name) > 200 {
		return fmt.Errorf("name is required (at most 200 characters)")
	}
	a.Ident = strings.TrimSpace(a.Ident)
	if a.Type.Ident == "Account Number" {
		if a.Ident == "" {
			a.Ident = a.Number
		} else if Normalize(a.Ident) != Normalize(a.Number) {
			return fmt.Errorf("identifier %q of a %s account must be its account number", a.Ident, a.Type.Name)
		}
	} else if !identRE.MatchString(Normalize(a.Ident)) {
		return fmt.Errorf("%s %q must be 1 to 20 letters and digits", a.Type.Ident, a.Ident)
	}
	a.Street, a.City = strings.TrimSpace(a.Street), strings.TrimSpace(a.City)
	if a.Street == "" || a.City == "" {
		return fmt.Errorf("street and city of the mailing address are required")
	}
	if len(a.Street) > 200 || len(a.City) > 200 {
		return fmt.Errorf("street and city of the mailing address are at most 200 characters")
	}
	a.State = strings.ToUpper(strings.TrimSpace(a.State))
	if !stateRE.MatchString(a.State) {
		return fmt.Errorf("state %q is not a two-letter state code", a.State)
	}
	a.ZIP = strings.TrimSpace(a.ZIP)
	if !zipRE.MatchString(a.ZIP) {
		return fmt.Errorf("ZIP code %q is not 5 digits (or ZIP+4)", a.ZIP)
	}
	a.Email = strings.TrimSpace(a.Email)
	if addr, err := mail.ParseAddress(a.Email); err != nil || addr.Address != a.Email || !strings.Contains(a.Email, "@") {
		return fmt.Errorf("email %q is not an email address", a.Email)
	}
	return nil
}

// Matches reports whether the identifiers a person typed are this
// account's, compared normalised.
func (a Account) Matches(ident, zip string) bool {
	if Normalize(ident) != Normalize(a.Ident) {
		return false
	}
	return !a.Type.ZIP || NormalizeZIP(zip) == NormalizeZIP(a.ZIP)
}

// MaskEmail hides an email on record the way the guide shows it:
// email@email.com → E*****L@EMAIL.COM. The number of stars is fixed, so
// the length of the name is not given away either.
func MaskEmail(e string) string {
	local, domain, ok := strings.Cut(strings.ToUpper(e), "@")
	if !ok || local == "" {
		return "*****"
	}
	r := []rune(local)
	return string(r[0]) + "*****" + string(r[len(r)-1]) + "@" + domain
}
