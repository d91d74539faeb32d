package cars

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testServer is CARS over httptest with a signed-in user (the session is
// written directly: the sign-in itself is the e2e tests' business).
type testServer struct {
	*httptest.Server
	db     *DB
	codes  *Codes
	client *http.Client
	cookie *http.Cookie
}

func newTestServer(t *testing.T, opts ...func(*Config)) *testServer {
	t.Helper()
	ctx := context.Background()
	db, err := OpenDB(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := SeedDemo(ctx, db, time.Now()); err != nil {
		t.Fatal(err)
	}
	k := testKeys(t)
	codes := &Codes{DB: db, keys: k, TTL: time.Hour}
	cfg := Config{BaseURL: "http://cars.test", Issuer: "http://127.0.0.1:1/thirdparty", ClientID: "cars"}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := NewServer(db, k, codes, cfg,
		slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	now := time.Now()
	if err := db.SaveLogin(ctx, User{Sub: "sub-1", Username: "leem0000", Name: "Morgan Lee", Email: "morgan.lee@example.org"}, now); err != nil {
		t.Fatal(err)
	}
	token := randomToken()
	if err := db.CreateSession(ctx, Session{ID: tokenHash(token), Sub: "sub-1", Kind: "school", ExpiresAt: now.Add(time.Hour)}, now); err != nil {
		t.Fatal(err)
	}
	return &testServer{Server: ts, db: db, codes: codes, cookie: &http.Cookie{Name: sessionCookie, Value: token},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (ts *testServer) do(t *testing.T, method, path string, form url.Values) (int, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, ts.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(ts.cookie)
	res, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

// TestRequestWizardValidation: each step refuses what is wrong with a
// message beside the field, keeps what was typed, and later steps cannot be
// reached before earlier ones are done.
func TestRequestWizardValidation(t *testing.T) {
	ts := newTestServer(t)
	steps := []struct {
		name, path string
		form       url.Values
		status     int
		location   string
		want       []string
	}{
		{"summary before anything", "/request-code/summary", nil, 303, "/request-code/type", nil},
		{"no type", "/request-code/type", url.Values{"action": {"next"}}, 400, "",
			[]string{"Select the type of account you are requesting access for.", `id="error-summary"`, `class="field-error"`}},
		{"an unknown type", "/request-code/type", url.Values{"action": {"next"}, "type": {"spaceship"}}, 400, "",
			[]string{"Select the type of account you are requesting access for."}},
		{"mechanic", "/request-code/type", url.Values{"action": {"next"}, "type": {"mechanic"}}, 303, "/request-code/details", nil},
		{"email step too early", "/request-code/email", nil, 303, "/request-code/details", nil},
		{"nothing typed", "/request-code/details", url.Values{"action": {"next"}}, 400, "",
			[]string{"Enter your Mechanic Number.", "Enter your ZIP Code.", `aria-invalid="true"`}},
		{"a bad ZIP", "/request-code/details", url.Values{"action": {"next"}, "ident": {"M1234567"}, "zip": {"4893"}}, 400, "",
			[]string{"ZIP Code must be 5 digits (for example 48933).", `value="M1234567"`, `value="4893"`}},
		{"no such mechanic", "/request-code/details", url.Values{"action": {"next"}, "ident": {"M7777777"}, "zip": {"48933"}}, 400, "",
			[]string{"No Mechanic account matches the Mechanic Number and ZIP Code you entered."}},
		{"cancel keeps input", "/request-code/details", url.Values{"action": {"cancel"}, "ident": {"m-1234567"}, "zip": {"48933"}}, 303, "/account-access?canceled=1", nil},
		{"back to details", "/request-code/details", nil, 200, "", []string{`value="m-1234567"`, `value="48933"`}},
		{"previous keeps the type", "/request-code/details", url.Values{"action": {"previous"}, "ident": {"m-1234567"}, "zip": {"48933"}}, 303, "/request-code/type", nil},
		{"type still chosen", "/request-code/type", nil, 200, "", []string{`value="mechanic" id="type-mechanic" checked`}},
		{"found", "/request-code/details", url.Values{"action": {"next"}, "ident": {"m-1234567"}, "zip": {"48933"}}, 303, "/request-code/email", nil},
		{"masked email", "/request-code/email", nil, 200, "", []string{"The email address on record is <strong>R*****O@EXAMPLE.ORG</strong>",
			"Would you like to receive your authorization code by email?", "The token will be mailed to the address on record"}},
		{"no choice", "/request-code/email", url.Values{"action": {"next"}}, 400, "",
			[]string{"Choose Yes or No: would you like to receive your authorization code by email?"}},
		{"by mail", "/request-code/email", url.Values{"action": {"next"}, "delivery": {"mail"}}, 303, "/request-code/summary", nil},
		{"summary", "/request-code/summary", nil, 200, "", []string{"Requesting an Account Authorization Code", "m-1234567",
			"The account authorization code necessary for granting you online access will be mailed to your address on file."}},
	}
	for _, s := range steps {
		method := http.MethodGet
		if s.form != nil {
			method = http.MethodPost
		}
		status, loc, body := ts.do(t, method, s.path, s.form)
		if status != s.status || loc != s.location {
			t.Fatalf("%s: %s %s = %d %q, want %d %q\n%s", s.name, method, s.path, status, loc, s.status, s.location, body)
		}
		for _, w := range s.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the page lacks %q", s.name, w)
			}
		}
	}
	status, loc, _ := ts.do(t, http.MethodPost, "/request-code/summary", url.Values{"action": {"next"}})
	if status != 303 || !strings.HasPrefix(loc, "/request-code/confirmation/") {
		t.Fatalf("submit: %d %q", status, loc)
	}
	if _, _, body := ts.do(t, http.MethodGet, loc, nil); !strings.Contains(body, "Your submission has been submitted and your confirmation number is") {
		t.Errorf("confirmation page:\n%s", body)
	}
	// Submitted: the wizard starts afresh.
	if _, _, body := ts.do(t, http.MethodGet, "/request-code/type", nil); strings.Contains(body, " checked") {
		t.Error("the wizard kept the submitted request")
	}
}

// TestAccessWizardValidation: the code step and the email step's rules.
func TestAccessWizardValidation(t *testing.T) {
	ts := newTestServer(t)
	for _, s := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"action": {"next"}}, "Enter your authorization code."},
		{url.Values{"action": {"next"}, "code": {"ABC"}}, "An account authorization code has 16 letters and digits"},
		{url.Values{"action": {"next"}, "code": {"2345-6789-ABCD-EFGH"}}, "You have 4 more tries this hour."},
	} {
		status, _, body := ts.do(t, http.MethodPost, "/add-access/code", s.form)
		if status != 400 || !strings.Contains(body, s.want) {
			t.Errorf("code %q: %d, want 400 with %q", s.form.Get("code"), status, s.want)
		}
	}
	if status, loc, _ := ts.do(t, http.MethodGet, "/add-access/email", nil); status != 303 || loc != "/add-access/code" {
		t.Errorf("email step before the code: %d %q", status, loc)
	}
	// A real code, then each step's rules.
	ctx := context.Background()
	school, _ := ts.db.Account(ctx, "00-00123456")
	if _, err := ts.codes.RequestCode(ctx, Request{User: User{Sub: "sub-1", Username: "leem0000"}, Account: school, Delivery: ByMail}, time.Now()); err != nil {
		t.Fatal(err)
	}
	letters, _ := ts.db.Letters(ctx, true)
	code, err := ts.codes.keys.openString(sealLetter, letters[0].codeSealed)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		path     string
		form     url.Values
		status   int
		location string
		want     []string
	}{
		{"/add-access/code", url.Values{"action": {"next"}, "code": {strings.ToLower(code)}}, 303, "/add-access/info", nil},
		{"/add-access/info", nil, 200, "", []string{"Enter your Mechanic School ID", `for="ident"`}},
		{"/add-access/info", url.Values{"action": {"next"}, "ident": {"124"}}, 400, "",
			[]string{"The account information you entered does not match the account of this authorization code.", "You have 3 more tries this hour."}},
		{"/add-access/info", url.Values{"action": {"next"}, "ident": {"123"}}, 303, "/add-access/email", nil},
		{"/add-access/email", url.Values{"action": {"next"}, "notify": {"on"}, "email": {"not an email"}}, 400, "",
			[]string{"Enter a valid Email Address, for example name@example.com.", "Confirm Email Address must match the Email Address.",
				"You must agree to the Access Terms &amp; Conditions to continue.", `value="not an email"`, `id="notify" name="notify" value="on" aria-describedby="notify-hint" checked`}},
		{"/add-access/email", url.Values{"action": {"next"}, "notify": {"on"}, "agree": {"on"}}, 400, "", []string{"Enter the Email Address for notifications."}},
		{"/add-access/summary", nil, 303, "/add-access/email", nil},
		{"/add-access/email", url.Values{"action": {"next"}, "notify": {"on"}, "email": {"a@example.org"}, "confirm_email": {"A@example.org"}, "agree": {"on"}}, 303, "/add-access/summary", nil},
		{"/add-access/summary", nil, 200, "", []string{"Adding Account Access", "Mechanic School", "a@example.org"}},
		{"/add-access/summary", url.Values{"action": {"next"}}, 303, "/springboard?added=1", nil},
		{"/springboard?added=1", nil, 200, "", []string{"00-00123456", "MECHANIC SCHOOL", "$0.00", "2 unread messages", "Account access was added."}},
	} {
		method := http.MethodGet
		if s.form != nil {
			method = http.MethodPost
		}
		status, loc, body := ts.do(t, method, s.path, s.form)
		if status != s.status || loc != s.location {
			t.Fatalf("%s %s %v = %d %q, want %d %q\n%s", method, s.path, s.form, status, loc, s.status, s.location, body)
		}
		for _, w := range s.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s: the page lacks %q", method, s.path, w)
			}
		}
	}
}

// TestSecurityBasics: a cross-origin form post is refused; signed-out
// pages lead to the logins; a callback without its state cookie fails
// cleanly; the public pages render and unknown services are 404.
func TestSecurityBasics(t *testing.T) {
	ts := newTestServer(t)
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/request-code/type", strings.NewReader("action=next&type=mechanic"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(ts.cookie)
	res, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST answered %d, want 403", res.StatusCode)
	}
	res, err = ts.client.Get(ts.URL + "/springboard")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/mechanic-services?signed_out=1" {
		t.Errorf("signed out /springboard: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = ts.client.Get(ts.URL + "/callback?state=forged&code=x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(b), "This sign-in was not started in this browser") {
		t.Errorf("forged callback: %d\n%s", res.StatusCode, b)
	}
	for path, want := range map[string]int{"/": 200, "/mechanic-services": 200, "/service/fleet-services": 200, "/service/no-such": 404, "/healthz": 200} {
		res, err := ts.client.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, res.StatusCode, want)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
}

// TestDevMailbox: only in demo mode, CARS shows its queued emails (with the
// code) at /dev/mailbox.
func TestDevMailbox(t *testing.T) {
	if status, _, _ := newTestServer(t).do(t, http.MethodGet, "/dev/mailbox", nil); status != http.StatusNotFound {
		t.Errorf("/dev/mailbox without --demo: %d, want 404", status)
	}
	ts := newTestServer(t, func(c *Config) { c.Demo = true })
	ctx := context.Background()
	school, _ := ts.db.Account(ctx, "00-00123456")
	if _, err := ts.codes.RequestCode(ctx, Request{User: User{Sub: "sub-1", Username: "leem0000"}, Account: school, Delivery: ByEmail}, time.Now()); err != nil {
		t.Fatal(err)
	}
	status, _, body := ts.do(t, http.MethodGet, "/dev/mailbox", nil)
	if status != 200 || !strings.Contains(body, "Your CARS e-Services Account Authorization Code") || !strings.Contains(body, "email@email.com") ||
		codeInText(body) == "" {
		t.Errorf("/dev/mailbox: %d\n%s", status, body)
	}
}
