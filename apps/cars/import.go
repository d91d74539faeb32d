package cars

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// importColumns are the CSV header names (any order, any case; identifier
// and balance may be left out: an account-number type's identifier is its
// number, a missing balance is $0.00).
var importColumns = []string{"type", "account_number", "name", "street", "city", "state", "zip", "email", "identifier", "balance"}

// Rejected is a CSV row that was not loaded, with why.
type Rejected struct {
	Line   int
	Reason string
}

// ImportSummary counts what an import did.
type ImportSummary struct {
	Loaded, Updated, Unchanged int
	Rejected                   []Rejected
}

// ImportAccounts reads business accounts from CSV, one row at a time (a
// file of any size), and saves each valid row in its own transaction: a
// rejected row leaves the others loaded, and running the same file again
// changes nothing.
func ImportAccounts(ctx context.Context, db *DB, r io.Reader, now time.Time) (ImportSummary, error) {
	var sum ImportSummary
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return sum, fmt.Errorf("reading the header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		col[strings.ReplaceAll(h, " ", "_")] = i
	}
	for _, need := range importColumns[:8] {
		if _, ok := col[need]; !ok {
			return sum, fmt.Errorf("the header row has no %q column (want %s)", need, strings.Join(importColumns, ","))
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return sum, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				sum.Rejected = append(sum.Rejected, Rejected{Line: pe.StartLine, Reason: pe.Err.Error()})
				continue
			}
			return sum, err
		}
		line, _ := cr.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		reject := func(format string, args ...any) {
			sum.Rejected = append(sum.Rejected, Rejected{Line: line, Reason: fmt.Sprintf(format, args...)})
		}
		t, ok := LookupType(get("type"))
		if !ok {
			reject("unknown account type %q", get("type"))
			continue
		}
		a := Account{Number: get("account_number"), Type: t, Ident: get("identifier"), Name: get("name"), Street: get("street"),
			City: get("city"), State: get("state"), ZIP: get("zip"), Email: get("email")}
		if b := strings.TrimSpace(get("balance")); b != "" {
			if a.BalanceCents, err = ParseCents(b); err != nil {
				reject("%v", err)
				continue
			}
		}
		if err := a.Validate(); err != nil {
			reject("%v", err)
			continue
		}
		res, err := db.SaveAccount(ctx, a, now)
		if errors.Is(err, errIdentTaken) {
			reject("%v", err)
			continue
		}
		if err != nil {
			return sum, fmt.Errorf("line %d: %w", line, err)
		}
		switch res {
		case Loaded:
			sum.Loaded++
		case Updated:
			sum.Updated++
		default:
			sum.Unchanged++
		}
	}
}

// DemoAccounts are one account of every type, among them the two of the
// guides: the mechanic school and the mechanic.
func DemoAccounts() []Account {
	typ := func(slug string) AccountType { t, _ := LookupType(slug); return t }
	lansing := func(a Account) Account {
		if a.Street == "" {
			a.Street, a.City, a.State, a.ZIP = "7064 Crowner Dr", "Lansing", "MI", "48918"
		}
		if a.Ident == "" {
			a.Ident = a.Number
		}
		return a
	}
	accts := []Account{
		{Number: "00-00123456", Type: typ("mechanic-school"), Ident: "123", Name: "MECHANIC SCHOOL", Email: "email@email.com"},
		{Number: "00-00234567", Type: typ("mechanic"), Ident: "M1234567", Name: "RIVERSIDE AUTO REPAIR",
			Street: "1200 E Michigan Ave", City: "Lansing", State: "MI", ZIP: "48933", Email: "riverside.auto@example.org"},
		{Number: "00-00300001", Type: typ("baiid-manufacturer"), Name: "GREAT LAKES INTERLOCK INC", Email: "info@greatlakesinterlock.example.org"},
		{Number: "00-00300002", Type: typ("custodian"), Name: "CAPITAL RECORDS CUSTODIAN LLC", Email: "records@capitalcustodian.example.org"},
		{Number: "00-00300003", Type: typ("driver-education-instructor"), Name: "PAT INSTRUCTOR", Email: "pat.instructor@example.org"},
		{Number: "00-00300004", Type: typ("driver-education-provider"), Name: "SAFE ROADS DRIVING SCHOOL", Email: "office@saferoads.example.org", BalanceCents: 12500},
		{Number: "00-00300005", Type: typ("dealer"), Ident: "D12345", Name: "MITTEN MOTORS", Email: "sales@mittenmotors.example.org", BalanceCents: 4200},
		{Number: "00-00300006", Type: typ("permanent-fleet"), Name: "STATEWIDE DELIVERY CO", Email: "fleet@statewide.example.org"},
		{Number: "00-00300007", Type: typ("irp-fleet"), Name: "PENINSULA TRUCKING", Email: "irp@peninsulatrucking.example.org"},
		{Number: "00-00300008", Type: typ("mobile-home-dealer"), Name: "NORTHWOODS HOMES", Email: "homes@northwoods.example.org"},
		{Number: "00-00300009", Type: typ("miscellaneous"), Name: "MISC SERVICES LLC", Email: "misc@example.org"},
		{Number: "00-00300010", Type: typ("record-sales"), Name: "DATA LOOKUP CORP", Email: "orders@datalookup.example.org"},
		{Number: "00-00300011", Type: typ("repair-facility"), Name: "EASTSIDE COLLISION", Email: "shop@eastside.example.org"},
		{Number: "00-00300012", Type: typ("salvage-vehicle-inspector"), Name: "SAM INSPECTOR", Email: "sam.inspector@example.org"},
		{Number: "00-00300013", Type: typ("third-party-trip-permit"), Name: "BORDER PERMITS INC", Email: "permits@borderpermits.example.org"},
	}
	for i := range accts {
		accts[i] = lansing(accts[i])
	}
	return accts
}

// SeedDemo saves the demo accounts (again: it is idempotent).
func SeedDemo(ctx context.Context, db *DB, now time.Time) error {
	for _, a := range DemoAccounts() {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("demo account %s: %w", a.Number, err)
		}
		if _, err := db.SaveAccount(ctx, a, now); err != nil {
			return fmt.Errorf("demo account %s: %w", a.Number, err)
		}
	}
	return nil
}
