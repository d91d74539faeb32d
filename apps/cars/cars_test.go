package cars

import (
	"bytes"
	"context"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCodeFormatAndParse(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c := NewCode()
		if len(c) != 16 || strings.Trim(c, codeAlphabet) != "" {
			t.Fatalf("NewCode() = %q: want 16 characters of %s", c, codeAlphabet)
		}
		if seen[c] {
			t.Fatalf("NewCode repeated %q", c)
		}
		seen[c] = true
		f := FormatCode(c)
		if len(f) != 19 || f[4] != '-' || f[9] != '-' || f[14] != '-' {
			t.Fatalf("FormatCode(%q) = %q", c, f)
		}
		if back, err := ParseCode(strings.ToLower(f)); err != nil || back != c {
			t.Fatalf("ParseCode(%q) = %q, %v", strings.ToLower(f), back, err)
		}
	}
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"7KQ4-M2XD-9PRT-W3HC", "7KQ4M2XD9PRTW3HC", true},
		{" 7kq4 m2xd 9prt w3hc ", "7KQ4M2XD9PRTW3HC", true},
		{"7KQ4M2XD9PRTW3HC", "7KQ4M2XD9PRTW3HC", true},
		{"7KQ4–M2XD–9PRT–W3HC", "7KQ4M2XD9PRTW3HC", true}, // en dashes from a word processor
		{"7KQ4-M2XD-9PRT-W3H", "", false},                 // too short
		{"7KQ4-M2XD-9PRT-W3HCX", "", false},               // too long
		{"OKQ4-M2XD-9PRT-W3HC", "", false},                // O is not in the alphabet
		{"1KQ4-M2XD-9PRT-W3HC", "", false},                // nor 1
		{"", "", false},
	} {
		got, err := ParseCode(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseCode(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if c := NewConfirmation(); len(c) != 13 || c[1] != '-' || c[5] != '-' || c[9] != '-' {
		t.Errorf("NewConfirmation() = %q, want the form 0-000-041-436", c)
	}
}

func TestIdentifiers(t *testing.T) {
	mech, _ := LookupType("Mechanic")
	school, _ := LookupType("mechanic-school")
	dealer, _ := LookupType("DEALER")
	if !mech.ZIP || school.ZIP || dealer.Ident != "Dealer Number" || len(AccountTypes) != 15 {
		t.Fatalf("types: %+v %+v %+v (%d)", mech, school, dealer, len(AccountTypes))
	}
	m := Account{Type: mech, Ident: "M1234567", ZIP: "48933"}
	s := Account{Type: school, Ident: "123", ZIP: "48918"}
	for _, tc := range []struct {
		a          Account
		ident, zip string
		want       bool
	}{
		{m, "M1234567", "48933", true},
		{m, "m-123 4567", "48933-0001", true},
		{m, "M1234567", " 48933 ", true},
		{m, "M1234567", "48934", false},
		{m, "M1234567", "", false},
		{m, "M123456", "48933", false},
		{s, "123", "", true},
		{s, " 1-2-3 ", "99999", true}, // a school is identified by its ID alone
		{s, "124", "", false},
	} {
		if got := tc.a.Matches(tc.ident, tc.zip); got != tc.want {
			t.Errorf("%s %q/%q Matches(%q, %q) = %v", tc.a.Type.Name, tc.a.Ident, tc.a.ZIP, tc.ident, tc.zip, got)
		}
	}
	for in, want := range map[string]string{
		"email@email.com":            "E*****L@EMAIL.COM",
		"riverside.auto@example.org": "R*****O@EXAMPLE.ORG",
		"a@b.c":                      "A*****A@B.C",
		"nonsense":                   "*****",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]int64{"0.00": 0, "$1,234.56": 123456, "-12": -1200, "12.5": -1} {
		got, err := ParseCents(in)
		if want == -1 {
			if err == nil {
				t.Errorf("ParseCents(%q) = %d, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseCents(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for c, want := range map[int64]string{0: "$0.00", 123456: "$1,234.56", -1250: "-$12.50", 100000000: "$1,000,000.00"} {
		if got := FormatCents(c); got != want {
			t.Errorf("FormatCents(%d) = %q, want %q", c, got, want)
		}
	}
}

const importCSV = `Type,Account Number,Name,Street,City,State,ZIP,Email,Identifier,Balance
Mechanic School,00-00123456,MECHANIC SCHOOL,7064 Crowner Dr,Lansing,MI,48918,email@email.com,123,0.00
Mechanic,00-00234567,RIVERSIDE AUTO REPAIR,1200 E Michigan Ave,Lansing,MI,48933,riverside.auto@example.org,M1234567,$12.50
Hovercraft,00-00300001,NO SUCH TYPE,1 Main St,Lansing,MI,48933,x@example.org,,0
Dealer,00-0030000,SHORT NUMBER,1 Main St,Lansing,MI,48933,x@example.org,D1,0
Dealer,00-00300002,BAD ZIP,1 Main St,Lansing,MI,4893,x@example.org,D2,0
Dealer,00-00300003,BAD EMAIL,1 Main St,Lansing,MI,48933,not-an-email,D3,0
Mechanic,00-00300004,SAME MECHANIC NUMBER,1 Main St,Lansing,MI,48933,y@example.org,m-1234567,0
Custodian,00-00300005,OTHER NUMBER,1 Main St,Lansing,MI,48933,z@example.org,00-00999999,0
Record Sales,00-00300006,BAD BALANCE,1 Main St,Lansing,MI,48933,z@example.org,,12.345
"Unclosed,quote
`

// TestImportAccounts: a summary with line numbers and reasons; valid rows
// load even when others are rejected; the same file again changes nothing;
// a changed row is updated. On both engines.
func TestImportAccounts(t *testing.T) {
	engines(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		sum, err := ImportAccounts(ctx, db, strings.NewReader(importCSV), t0)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Loaded != 2 || sum.Updated != 0 || sum.Unchanged != 0 {
			t.Errorf("summary %+v, want 2 loaded", sum)
		}
		want := map[int]string{
			4:  `unknown account type "Hovercraft"`,
			5:  `account number "00-0030000" is not in the form 00-00123456`,
			6:  `ZIP code "4893" is not 5 digits`,
			7:  `email "not-an-email" is not an email address`,
			8:  `Mechanic Number m-1234567 is account 00-00234567's`,
			9:  `identifier "00-00999999" of a Custodian account must be its account number`,
			10: `balance "12.345" is not an amount`,
			11: `extraneous or missing " in quoted-field`,
		}
		if len(sum.Rejected) != len(want) {
			t.Errorf("rejected %+v, want %d rows", sum.Rejected, len(want))
		}
		for _, r := range sum.Rejected {
			if w, ok := want[r.Line]; !ok || !strings.Contains(r.Reason, w) {
				t.Errorf("line %d rejected for %q, want %q", r.Line, r.Reason, w)
			}
		}
		a, err := db.Account(ctx, "00-00234567")
		if err != nil || a.BalanceCents != 1250 || a.Type.Slug != "mechanic" || a.Ident != "M1234567" {
			t.Errorf("loaded %+v, %v", a, err)
		}
		if _, err := db.FindAccount(ctx, a.Type, "m 1234567", "48933-1234"); err != nil {
			t.Errorf("FindAccount with normalised identifiers: %v", err)
		}

		again, err := ImportAccounts(ctx, db, strings.NewReader(importCSV), t0.Add(time.Hour))
		if err != nil || again.Loaded != 0 || again.Updated != 0 || again.Unchanged != 2 || len(again.Rejected) != len(want) {
			t.Errorf("second import %+v, %v: want 2 unchanged", again, err)
		}
		changed := strings.Replace(importCSV, "RIVERSIDE AUTO REPAIR", "RIVERSIDE AUTO & TIRE", 1)
		third, err := ImportAccounts(ctx, db, strings.NewReader(changed), t0.Add(2*time.Hour))
		if err != nil || third.Updated != 1 || third.Unchanged != 1 {
			t.Errorf("import of a changed row %+v, %v: want 1 updated", third, err)
		}
		if _, err := ImportAccounts(ctx, db, strings.NewReader("type,name\nMechanic,X\n"), t0); err == nil {
			t.Error("a header without the required columns was accepted")
		}
	})
}

// TestThrottle: five tries per user per hour, counted atomically: twenty
// racing tries get exactly five through; a correct answer gives its try
// back; the next hour starts afresh.
func TestThrottle(t *testing.T) {
	engines(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, throttled := 0, 0
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.reserveTry(ctx, "racer", t0)
				var th *ThrottledError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.As(err, &th):
					throttled++
					if !th.Until.Equal(t0.Add(TryWindow)) {
						t.Errorf("wait until %v, want %v", th.Until, t0.Add(TryWindow))
					}
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok != MaxTries || throttled != 20-MaxTries {
			t.Errorf("%d tries passed and %d were throttled, want %d and %d", ok, throttled, MaxTries, 20-MaxTries)
		}
		if _, err := db.reserveTry(ctx, "other", t0); err != nil {
			t.Errorf("another user is throttled too: %v", err)
		}
		if _, err := db.reserveTry(ctx, "racer", t0.Add(TryWindow)); err != nil {
			t.Errorf("still throttled after the window: %v", err)
		}

		for i := 1; i <= 3; i++ {
			if n, err := db.reserveTry(ctx, "honest", t0); err != nil || n != 1 {
				t.Fatalf("try %d: %d, %v (a released try must not count)", i, n, err)
			}
			if err := db.releaseTry(ctx, "honest"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func newCodes(t *testing.T, db *DB) *Codes {
	return &Codes{DB: db, keys: testKeys(t), TTL: 30 * 24 * time.Hour, BaseURL: "https://cars.example.gov"}
}

// TestCodeLifecycle: request by mail and by email, redeem once, and each
// way a code is refused, on both engines. No table holds the code itself.
func TestCodeLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if err := SeedDemo(ctx, db, t0); err != nil {
			t.Fatal(err)
		}
		if err := SeedDemo(ctx, db, t0); err != nil {
			t.Fatalf("seeding twice: %v", err)
		}
		c := newCodes(t, db)
		school, _ := db.Account(ctx, "00-00123456")
		owner := User{Sub: "sub-owner", Username: "leem0000"}
		conf, err := c.RequestCode(ctx, Request{User: owner, Account: school, Delivery: ByMail}, t0)
		if err != nil {
			t.Fatal(err)
		}
		letters, err := db.Letters(ctx, true)
		if err != nil || len(letters) != 1 || letters[0].Confirmation != conf {
			t.Fatalf("letter queue %+v, %v", letters, err)
		}
		if mine, err := db.LettersOf(ctx, owner.Sub); err != nil || len(mine) != 1 {
			t.Errorf("LettersOf(owner) = %+v, %v", mine, err)
		}
		if theirs, err := db.LettersOf(ctx, "sub-stranger"); err != nil || len(theirs) != 0 {
			t.Errorf("LettersOf(stranger) = %+v, %v", theirs, err)
		}
		if _, err := db.Submission(ctx, "sub-stranger", conf); !errors.Is(err, errNotFound) {
			t.Errorf("a stranger sees the submission: %v", err)
		}
		code, err := c.keys.openString(sealLetter, letters[0].codeSealed)
		if err != nil {
			t.Fatal(err)
		}
		assertNowhere(t, db, code)

		// Wrong, another user's, right, used, expired.
		if _, err := c.CheckCode(ctx, owner.Sub, "2345-6789-ABCD-EFGH", t0); !errors.Is(err, errCodeUnknown) {
			t.Errorf("a wrong code: %v", err)
		}
		if _, err := c.CheckCode(ctx, "sub-stranger", code, t0); !errors.Is(err, errCodeOther) {
			t.Errorf("another user's code: %v", err)
		}
		if _, err := c.CheckAccount(ctx, owner.Sub, code, "124", "", t0); !errors.Is(err, errIdentWrong) {
			t.Errorf("wrong identifiers: %v", err)
		}
		if _, err := c.CheckCode(ctx, owner.Sub, code, t0.Add(c.TTL)); !errors.Is(err, errCodeExpired) {
			t.Errorf("an expired code: %v", err)
		}
		// Two submits at once: one wins.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = c.AddAccess(ctx, Grant{User: owner, Code: FormatCode(code), Ident: "123", Notify: true, NotifyEmail: "testemail@testemail.com"}, t0.Add(time.Minute))
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || (!errors.Is(errs[0], errCodeUsed) && !errors.Is(errs[1], errCodeUsed)) {
			t.Errorf("racing submits: %v, %v; want one success and one used", errs[0], errs[1])
		}
		if _, err := c.CheckCode(ctx, owner.Sub, code, t0.Add(2*time.Minute)); !errors.Is(err, errCodeUsed) {
			t.Errorf("a used code: %v", err)
		}
		accts, err := db.Accounts(ctx, owner.Sub)
		if err != nil || len(accts) != 1 || accts[0].Number != "00-00123456" || !accts[0].Notify {
			t.Errorf("access %+v, %v", accts, err)
		}
		msgs, _ := db.Messages(ctx, owner.Sub)
		if len(msgs) != 2 {
			t.Errorf("%d messages, want 2 (requested, added)", len(msgs))
		}

		// By email: the sealed outbox body holds the code until it is sent.
		mech, _ := db.Account(ctx, "00-00234567")
		if _, err := c.RequestCode(ctx, Request{User: owner, Account: mech, Delivery: ByEmail}, t0); err != nil {
			t.Fatal(err)
		}
		var sealed string
		if err := db.sql.QueryRowContext(ctx, `SELECT body_sealed FROM cars_outbox WHERE to_addr = $1`, mech.Email).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		body, err := c.keys.openString(sealMail, sealed)
		if err != nil {
			t.Fatal(err)
		}
		if m := codeInText(body); m == "" || !strings.Contains(body, "00-00234567") {
			t.Errorf("code email:\n%s", body)
		} else {
			assertNowhere(t, db, strings.ReplaceAll(m, "-", ""))
		}

		// The audit names each refusal and never a code.
		ev, err := db.AuditEvents(ctx, owner.Sub)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ev {
			names = append(names, e.Event)
		}
		for _, want := range []string{"code.requested", "code.wrong", "code.wrong_identifiers", "code.expired", "access.added", "code.used"} {
			if !strings.Contains(strings.Join(names, " "), want) {
				t.Errorf("audit %v lacks %s", names, want)
			}
		}
		ev2, _ := db.AuditEvents(ctx, "sub-stranger")
		if len(ev2) != 1 || ev2[0].Event != "code.other_user" {
			t.Errorf("stranger's audit %+v", ev2)
		}
	})
}

func codeInText(s string) string {
	for _, f := range strings.Fields(s) {
		if c, err := ParseCode(f); err == nil && strings.Count(f, "-") == 3 {
			return FormatCode(c)
		}
	}
	return ""
}

// assertNowhere fails if any text column of any CARS table holds code.
func assertNowhere(t *testing.T, db *DB, code string) {
	t.Helper()
	for _, table := range []string{"cars_codes", "cars_letters", "cars_outbox", "cars_requests", "cars_messages", "cars_audit", "cars_sessions"} {
		rows, err := db.sql.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var s string
				switch x := v.(type) {
				case string:
					s = x
				case []byte:
					s = string(x)
				}
				if strings.Contains(strings.ReplaceAll(s, "-", ""), code) {
					t.Errorf("%s.%s holds the code in the clear", table, cols[i])
				}
			}
		}
		rows.Close()
	}
}

// TestRequestLimit: at most MaxRequestsPerDay codes per account in 24
// hours, whoever asks; the next day the count starts again.
func TestRequestLimit(t *testing.T) {
	engines(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if err := SeedDemo(ctx, db, t0); err != nil {
			t.Fatal(err)
		}
		c := newCodes(t, db)
		school, _ := db.Account(ctx, "00-00123456")
		for i := range MaxRequestsPerDay {
			u := User{Sub: "sub-" + strconv.Itoa(i%2)}
			if _, err := c.RequestCode(ctx, Request{User: u, Account: school, Delivery: ByEmail}, t0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		if _, err := c.RequestCode(ctx, Request{User: User{Sub: "sub-9"}, Account: school, Delivery: ByMail}, t0.Add(time.Hour)); !errors.Is(err, ErrTooManyRequests) {
			t.Errorf("request %d: %v, want ErrTooManyRequests", MaxRequestsPerDay+1, err)
		}
		if _, err := c.RequestCode(ctx, Request{User: User{Sub: "sub-9"}, Account: school, Delivery: ByMail}, t0.Add(25*time.Hour)); err != nil {
			t.Errorf("the next day: %v", err)
		}
	})
}

// TestLettersPrint: one HTML and one PDF per letter with the address and
// the code; the letter is marked mailed and its sealed code erased.
func TestLettersPrint(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDB(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := SeedDemo(ctx, db, t0); err != nil {
		t.Fatal(err)
	}
	c := newCodes(t, db)
	mech, _ := db.Account(ctx, "00-00234567")
	conf, err := c.RequestCode(ctx, Request{User: User{Sub: "s", Username: "smithj0001"}, Account: mech, Delivery: ByMail}, t0)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := PrintLetters(ctx, db, c.keys, out, "https://cars.example.gov", t0.Add(time.Hour))
	if err != nil || len(res) != 1 {
		t.Fatalf("PrintLetters: %+v, %v", res, err)
	}
	html, _ := os.ReadFile(filepath.Join(out, "letter-"+conf+".html"))
	pdf, _ := os.ReadFile(filepath.Join(out, "letter-"+conf+".pdf"))
	code := codeInText(strings.NewReplacer("<", " ", ">", " ").Replace(string(html)))
	if code == "" || !bytes.Contains(html, []byte("1200 E Michigan Ave")) || !bytes.Contains(html, []byte("Lansing, MI 48933")) {
		t.Errorf("letter HTML:\n%s", html)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.4")) || !bytes.Contains(pdf, []byte("("+code+") Tj")) || !bytes.Contains(pdf, []byte("(RIVERSIDE AUTO REPAIR) Tj")) {
		t.Errorf("letter PDF lacks the code or name")
	}
	all, _ := db.Letters(ctx, false)
	if len(all) != 1 || all[0].Mailed.IsZero() || all[0].codeSealed != "" {
		t.Errorf("after printing: %+v", all)
	}
	if res, err := PrintLetters(ctx, db, c.keys, out, "", t0); err != nil || len(res) != 0 {
		t.Errorf("second print: %+v, %v", res, err)
	}
}

// TestRunCommands runs the subcommands through Run as cmd/cars does.
func TestRunCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	csv := filepath.Join(t.TempDir(), "a.csv")
	os.WriteFile(csv, []byte(importCSV), 0o600)
	env := func(k string) string {
		if k == "CARS_DATA" {
			return data
		}
		return ""
	}
	var out, errb bytes.Buffer
	if err := Run(ctx, []string{"accounts", "import", csv}, env, &out, &errb); err != nil {
		t.Fatalf("accounts import: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "2 loaded, 0 updated, 0 unchanged, 8 rejected") || !strings.Contains(out.String(), "line 4: unknown account type") {
		t.Errorf("accounts import printed:\n%s", out.String())
	}
	var u UsageError
	if err := Run(ctx, []string{"letters", "print"}, env, &out, &errb); !errors.As(err, &u) {
		t.Errorf("letters print without --out: %v", err)
	}
	if err := Run(ctx, []string{"frobnicate"}, env, &out, &errb); !errors.As(err, &u) {
		t.Errorf("unknown command: %v", err)
	}
	out.Reset()
	if err := Run(ctx, []string{"letters", "list", "--data", data}, func(string) string { return "" }, &out, &errb); err != nil ||
		!strings.Contains(out.String(), "CONFIRMATION") {
		t.Errorf("letters list: %v\n%s", err, out.String())
	}
}

// TestNoMILoginImports: CARS is a separate program that reaches MILogin
// over HTTP only; neither it nor its tests import the milogin module's
// own packages (the applications' code under apps/ excepted, which
// apps/boundary_test.go holds to the same rule).
func TestNoMILoginImports(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if (p == "milogin" || strings.HasPrefix(p, "milogin/")) && !strings.HasPrefix(p, "milogin/apps/") {
				t.Errorf("%s imports %s: apps talk to MILogin over HTTP only", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// syncBuf is a bytes.Buffer safe for the server goroutine and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeRunsAndStops runs serve as milogin demo would (in a goroutine,
// the secret in a file, --demo seeding) and stops it with the context; and
// refuses --clock-offset without --demo.
func TestServeRunsAndStops(t *testing.T) {
	data := t.TempDir()
	secret := filepath.Join(data, "client-secret")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	var errb bytes.Buffer
	var u UsageError
	if err := Run(context.Background(), []string{"serve", "--data", data, "--clock-offset", "24h"}, func(string) string { return "" }, io.Discard, &errb); !errors.As(err, &u) {
		t.Errorf("--clock-offset without --demo: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuf{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"--addr", "127.0.0.1:0", "--data", data, "--client-secret-file", secret, "--demo", "--log-level", "warn"},
			func(string) string { return "" }, out, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "running at http://127.0.0.1:") {
		if time.Now().After(deadline) {
			t.Fatalf("no running line: %q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := strings.TrimSpace(strings.TrimPrefix(out.String(), "CARS e-Services running at "))
	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	db, err := OpenDB(context.Background(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Account(context.Background(), "00-00123456"); err != nil {
		t.Errorf("--demo did not seed the mechanic school: %v", err)
	}
}
