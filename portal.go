package milogin

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// PortalID names a portal. Accounts live in exactly one portal; a user ID and an
// email are unique within it (case-insensitive), not across portals.
type PortalID string

const (
	Citizen    PortalID = "citizen"    // MiLogin for residents
	ThirdParty PortalID = "thirdparty" // MILogin for Third Party: businesses, partners, local agencies
	Workforce  PortalID = "workforce"  // state employees
)

// Portal is one sign-in front door with its own pages, policy and applications.
type Portal struct {
	ID       PortalID
	Name     string // shown in the page banner, "MILogin for Third Party"
	Policy   Policy
	HelpDesk HelpDesk
}

// HelpDesk is whom a portal's people contact when self-service does not
// get them in: shown on Need Help?, Access Denied, error pages, the
// "profile incomplete" message, and linked from every email. Each portal
// has its own (serve's --help-desk-* flags).
type HelpDesk struct {
	Name  string // "MILogin Help Desk"
	Phone string // as it is written, "888-767-6424"; "" when there is none
	Hours string // "Monday to Friday, 8 a.m. to 5 p.m. Eastern"; may be ""
	Email string // may be ""
	URL   string // the portal's Need Help? page, absolute, for emails
}

// DefaultPortals returns the three portals with their default policies.
func DefaultPortals() []Portal {
	tp := DefaultPolicy()
	tp.UserIDFormat = UserIDLastFirst4
	citizen := DefaultPolicy()
	citizen.UserIDFormat = UserIDUsername
	staff := DefaultPolicy()
	staff.SessionIdle = 15 * time.Minute
	return []Portal{
		{ID: Citizen, Name: "MiLogin", Policy: citizen, HelpDesk: HelpDesk{Name: "MiLogin Help Desk"}},
		{ID: ThirdParty, Name: "MILogin for Third Party", Policy: tp, HelpDesk: HelpDesk{Name: "MILogin Help Desk"}},
		{ID: Workforce, Name: "MILogin for Workforce", Policy: staff, HelpDesk: HelpDesk{Name: "MILogin Help Desk"}},
	}
}

// ParsePortal returns the portal ID for s or an EINVALID error.
func ParsePortal(s string) (PortalID, error) {
	switch p := PortalID(strings.ToLower(strings.TrimSpace(s))); p {
	case Citizen, ThirdParty, Workforce:
		return p, nil
	}
	return "", Errorf("milogin.ParsePortal", EINVALID, "unknown portal %q (want citizen, thirdparty or workforce)", s)
}

// UserIDFormat is the portal's rule for the shape of a user ID.
type UserIDFormat string

const (
	// UserIDFree accepts any 3–64 characters without spaces.
	UserIDFree UserIDFormat = "free"
	// UserIDLastFirst4 is last name + first initial + 4 digits: John Smith → smithj9999.
	UserIDLastFirst4 UserIDFormat = "last-first-4"
	// UserIDUsername is the citizen portal's free-form username: 6 to 64
	// letters, digits and . _ - @ (an email address fits).
	UserIDUsername UserIDFormat = "username"
)

// UserIDLabel is what the portal's pages call the sign-in name: the citizen
// FAQ speaks of a "username", the third-party guides of a "User ID".
func (p *Portal) UserIDLabel() string {
	if p.Policy.UserIDFormat == UserIDUsername {
		return "Username"
	}
	return "User ID"
}

// UsernameChars are the characters a UserIDUsername may have besides
// letters and digits.
const UsernameChars = "._-@"

// Policy holds the rules a portal applies. The defaults are the state's current
// rules (profile "milogin"); NISTPolicy follows NIST SP 800-63B rev 4.
type Policy struct {
	Profile string

	PasswordMinLength int // counted in code points
	PasswordMaxLength int // at least 64; the upper bound keeps hashing bounded
	// PasswordClasses is how many of the four character classes are required
	// (0 turns the composition rule off).
	PasswordClasses int
	PasswordHistory int           // a new password may not be one of the last N
	PasswordMaxAge  time.Duration // 0: passwords never expire

	UserIDFormat UserIDFormat

	LockoutThreshold   int           // consecutive failures that lock the account
	LockoutDuration    time.Duration // how long a lock lasts
	MaxFailuresPerHour int           // hard cap under any policy (ASVS 2.2.1)

	InactivityMonths int // no sign-in for this long disables the account; 0: never

	SessionIdle     time.Duration
	SessionAbsolute time.Duration

	SecurityQuestions bool // security questions offered as a recovery option
}

// DefaultPolicy is the "milogin" profile from the state's guides.
func DefaultPolicy() Policy {
	return Policy{
		Profile:            "milogin",
		PasswordMinLength:  8,
		PasswordMaxLength:  128,
		PasswordClasses:    3,
		PasswordHistory:    3,
		PasswordMaxAge:     360 * 24 * time.Hour,
		UserIDFormat:       UserIDFree,
		LockoutThreshold:   5,
		LockoutDuration:    30 * time.Minute,
		MaxFailuresPerHour: 100,
		InactivityMonths:   18,
		SessionIdle:        30 * time.Minute,
		SessionAbsolute:    12 * time.Hour,
		SecurityQuestions:  true,
	}
}

// NISTPolicy is the "nist-800-63b-4" profile: long passwords, no composition
// rules, no expiry, no security questions.
func NISTPolicy() Policy {
	p := DefaultPolicy()
	p.Profile = "nist-800-63b-4"
	p.PasswordMinLength = 15
	p.PasswordClasses = 0
	p.PasswordMaxAge = 0
	p.SecurityQuestions = false
	return p
}

// Password rule names, used in violations and tests.
const (
	RuleLength     = "length"
	RuleMaxLength  = "max-length"
	RuleClasses    = "classes"
	RuleHistory    = "history"
	RuleUserID     = "user-id"
	RuleNames      = "names"
	RuleCommon     = "common"
	RuleConfirm    = "confirm"
	RuleControl    = "control"
	RuleRequired   = "required"
	RuleUserIDForm = "user-id-format"
)

// Violation is one broken rule with the message shown to the user.
type Violation struct {
	Field   string // form field the rule belongs to
	Rule    string
	Message string
}

func (v Violation) Error() string { return v.Message }

// PasswordCandidate is what the password rules look at besides the password.
type PasswordCandidate struct {
	Password string
	UserID   string
	Names    []string // first, last and other names of the person
}

// PasswordSpecials are the special characters the state's guides list.
const PasswordSpecials = "!$#,%@~^&*_-+=><."

// CheckPassword applies every rule that needs only the policy and the
// candidate; common reports whether a password is on the blocklist (nil skips
// that rule). The history rule needs the stored hashes and is checked by the
// caller. Each failed rule yields its own violation.
func (p Policy) CheckPassword(c PasswordCandidate, common func(string) bool) []Violation {
	var vs []Violation
	add := func(rule, msg string) { vs = append(vs, Violation{Field: "password", Rule: rule, Message: msg}) }
	pw := c.Password
	n := utf8.RuneCountInString(pw)
	if n < p.PasswordMinLength {
		add(RuleLength, fmt.Sprintf("Password must be at least %d characters in length.", p.PasswordMinLength))
	}
	if p.PasswordMaxLength > 0 && n > p.PasswordMaxLength {
		add(RuleMaxLength, fmt.Sprintf("Password must be at most %d characters in length.", p.PasswordMaxLength))
	}
	if strings.IndexFunc(pw, unicode.IsControl) >= 0 || !utf8.ValidString(pw) {
		add(RuleControl, "Password cannot contain control characters.")
	}
	if p.PasswordClasses > 0 && passwordClasses(pw) < p.PasswordClasses {
		add(RuleClasses, fmt.Sprintf("Password must include characters from %d of the following categories: upper case letters (A-Z), lower case letters (a-z), numbers (0-9), special characters (%s).", p.PasswordClasses, PasswordSpecials))
	}
	lower := strings.ToLower(pw)
	if basedOnUserID(lower, strings.ToLower(c.UserID)) {
		add(RuleUserID, "Password should not be based on your User ID.")
	}
	for _, name := range c.Names {
		name = strings.ToLower(strings.TrimSpace(name))
		if utf8.RuneCountInString(name) >= 3 && strings.Contains(lower, name) {
			add(RuleNames, "Password should not be based on your name.")
			break
		}
	}
	if common != nil && pw != "" && common(pw) {
		add(RuleCommon, "Password is too common: it appears on a list of passwords that attackers try first.")
	}
	return vs
}

func passwordClasses(pw string) int {
	var upper, lower, digit, special bool
	for _, r := range pw {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(PasswordSpecials, r):
			special = true
		}
	}
	n := 0
	for _, b := range []bool{upper, lower, digit, special} {
		if b {
			n++
		}
	}
	return n
}

// basedOnUserID reports whether the password contains the user ID or its
// alphabetic stem (smithj for smithj0001), both lower-cased.
func basedOnUserID(pw, userID string) bool {
	if userID == "" {
		return false
	}
	if strings.Contains(pw, userID) {
		return true
	}
	stem := strings.TrimRightFunc(userID, unicode.IsDigit)
	return utf8.RuneCountInString(stem) >= 4 && strings.Contains(pw, stem)
}

// CheckUserID applies the portal's user ID format. Uniqueness is the store's.
func (p Policy) CheckUserID(userID, first, last string) []Violation {
	var vs []Violation
	add := func(rule, msg string) { vs = append(vs, Violation{Field: "user_id", Rule: rule, Message: msg}) }
	if userID == "" {
		add(RuleRequired, "User ID is required.")
		return vs
	}
	if strings.ContainsFunc(userID, unicode.IsSpace) {
		add(RuleUserIDForm, "User ID cannot contain space.")
	}
	if n := utf8.RuneCountInString(userID); n < 3 || n > 64 {
		add(RuleUserIDForm, "User ID must be 3 to 64 characters long.")
	}
	// Invalid UTF-8 counts as a forbidden character: no store keeps it.
	if !utf8.ValidString(userID) || strings.ContainsFunc(userID, func(r rune) bool { return unicode.IsControl(r) || r == '/' || r == '\\' }) {
		add(RuleUserIDForm, "User ID can contain letters, numbers and . _ - @ only.")
	}
	if p.UserIDFormat == UserIDUsername {
		n := utf8.RuneCountInString(userID)
		bad := strings.ContainsFunc(userID, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(UsernameChars, r))
		})
		if n < 6 || n > 64 || bad {
			vs = []Violation{{Field: "user_id", Rule: RuleUserIDForm, Message: "Username must be 6 to 64 characters: letters (A-Z, a-z), numbers (0-9) and . _ - @ only, with no spaces."}}
		}
	}
	if p.UserIDFormat == UserIDLastFirst4 {
		stem := UserIDStem(first, last)
		id := strings.ToLower(userID)
		ok := len(id) == len(stem)+4 && strings.HasPrefix(id, stem) && stem != ""
		if ok {
			for _, r := range id[len(stem):] {
				if r < '0' || r > '9' {
					ok = false
				}
			}
		}
		if !ok {
			add(RuleUserIDForm, "Enter your last name, first initial, and any 4 numbers with no space between them. For Example: John Smith and using 9999 as an example for the four digit number, you would enter smithj9999.")
		}
	}
	return vs
}

// UserIDStem is the last name and first initial, lower-cased, letters only,
// accents folded: John Smith → smithj; Mary O'Neil-Ray → oneilraym;
// Dana Nguyễn → nguyend; José Peña-Álvarez → penaalvarezj.
func UserIDStem(first, last string) string {
	f := asciiLetters(first)
	l := asciiLetters(last)
	if f == "" || l == "" {
		return ""
	}
	return l + f[:1]
}

// foldAccents takes the marks off letters (ễ → e, ñ → n): decomposed
// (NFD), combining marks (Mn) dropped. A chain keeps state, so each call
// gets its own.
func foldAccents() transform.Transformer {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)))
}

// unmarked are the Latin letters that are not a base letter plus a mark, so
// NFD leaves them whole; they are spelt the way names are written in ASCII.
var unmarked = strings.NewReplacer("ß", "ss", "æ", "ae", "œ", "oe", "ø", "o", "ł", "l", "đ", "d", "ð", "d", "þ", "th", "ı", "i")

// asciiLetters lower-cases s, folds its accents and keeps a–z only.
func asciiLetters(s string) string {
	folded, _, err := transform.String(foldAccents(), unmarked.Replace(strings.ToLower(s)))
	if err != nil {
		folded = s
	}
	var b strings.Builder
	for _, r := range folded {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// NormalizeLogin folds a user ID or email for case-insensitive lookups.
func NormalizeLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NameKey is what the help desk's search by name ranges over: last name,
// a space, first name, in lower case by Unicode's rules ("ÁLVAREZ ÉMILE"
// and "álvarez émile" are one key), as the search folds its query.
func NameKey(lastName, firstName string) string { return strings.ToLower(lastName + " " + firstName) }

// Violations is a list of broken rules; as an error it reads as their messages.
type Violations []Violation

func (vs Violations) Error() string {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Message
	}
	return strings.Join(msgs, " ")
}

// Invalid returns an EINVALID error that carries the violations, so that a
// form can show each one beside its field.
func Invalid(op string, vs []Violation) error {
	return &Error{Op: op, Kind: EINVALID, Msg: Violations(vs).Error(), Err: Violations(vs)}
}

// ViolationsOf returns the violations carried by err, or nil.
func ViolationsOf(err error) []Violation {
	var vs Violations
	if errors.As(err, &vs) {
		return vs
	}
	return nil
}
