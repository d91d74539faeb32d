package web_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/prometheus/client_golang/prometheus"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
	"milogin/internal/clocktest"
	"milogin/internal/mfa"
	"milogin/internal/mfa/mfatest"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
	"milogin/internal/web"
)

// accessEnv is a server with the whole catalog of the tests and every
// second factor turned on (authenticator apps need a sealing key).
type accessEnv struct {
	*env
	acct   *milogin.Account
	access *access.Service
	mfa    *mfa.Service
}

// The test catalog: one application per approval model.
var testApps = []*milogin.Application{
	{ID: "osmis", Name: "One-Stop Management Information System (OSMIS)", Category: "Administration",
		Portals: []milogin.PortalID{milogin.ThirdParty}, LaunchURL: "https://osmis.example/login",
		Approval: milogin.ApprovalProvisioned, MFA: milogin.MFADaily, TermsVersion: 1,
		TermsText: "Michigan Works Association staff (non-SOM staff), Workforce development Agency (SOM staff) - requires subscription approval model",
		Contact:   "the MWA Administrator"},
	{ID: "grants", Name: "Grant Reporting", Category: "Finance", Portals: []milogin.PortalID{milogin.ThirdParty},
		LaunchURL: "https://grants.example/", Approval: milogin.ApprovalRequired, MFA: milogin.MFAAlways, Contact: "the Grants Office"},
	{ID: "cars", Name: "CARS e-Services", Category: "Business Services", Portals: []milogin.PortalID{milogin.ThirdParty},
		LaunchURL: "https://cars.example/", Approval: milogin.ApprovalOpen, MFA: milogin.MFANone, TermsVersion: 1,
		TermsText: "I Agree to the Access Terms & Conditions"},
	{ID: "forms", Name: "Forms Library", Category: "Business Services", Portals: []milogin.PortalID{milogin.ThirdParty},
		LaunchURL: "https://forms.example/", Approval: milogin.ApprovalOpen, MFA: milogin.MFANone},
	{ID: "payroll", Name: "Payroll", Portals: []milogin.PortalID{milogin.Workforce}, Approval: milogin.ApprovalOpen},
}

func newAccessEnv(t *testing.T) *accessEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/milogin.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	// 10:00 in Detroit, so a day's launches do not cross midnight by accident.
	clk := clocktest.New(time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC))
	auth := authn.NewService(store, authn.NewHasher(fastParams, 0), authn.NewCodeHasher(make([]byte, 32)))
	auth.Now = clk.Now
	acct, err := auth.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: "smithj0001",
		FirstName: "John", LastName: "Smith", Email: "john.smith@example.org", Mobile: "(517) 555-1234", MobileVerified: true, Password: goodPassword}, "test", authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	err = store.Write(ctx, func(tx milogin.Tx) error {
		for _, a := range testApps {
			c := *a
			if err := tx.Apps().Create(ctx, &c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	setHelpDesk(auth)
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	acc := access.New(store)
	acc.Now = clk.Now
	m := mfa.New(store, auth.Codes, auth.Hasher)
	m.Now = clk.Now
	block, _ := aes.NewCipher(make([]byte, 32))
	m.TOTPKey, _ = cipher.NewGCM(block)
	// WebAuthn wants a domain: the same server, named localhost.
	local := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if m.WebAuthn, err = mfa.NewWebAuthn(local); err != nil {
		t.Fatal(err)
	}
	h, err := web.NewServer(web.Config{Auth: auth, Store: store, BaseURL: srv.URL, Registry: prometheus.NewRegistry(),
		Logger: slog.New(slog.DiscardHandler), Access: acc, MFA: m, MailFrom: testMailFrom})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	return &accessEnv{env: &env{srv: srv, auth: auth, store: store, clk: clk}, acct: acct, access: acc, mfa: m}
}

// signedIn returns a client with a fresh session.
func (e *accessEnv) signedIn(t *testing.T) *http.Client {
	t.Helper()
	c := e.client(t)
	r := e.login(t, c, "smithj0001", goodPassword)
	if loc := r.header.Get("Location"); loc == "/thirdparty/login/active-session" {
		do(t, c, "POST", e.srv.URL+loc, url.Values{"choice": {"continue"}})
	} else if loc != "/thirdparty/home" {
		t.Fatalf("sign-in went to %q", loc)
	}
	return c
}

// park creates a parked sign-in for app, as a protocol would.
func (e *accessEnv) park(t *testing.T, appID string, force bool) string {
	t.Helper()
	id := authn.NewID()
	now := e.clk.Now()
	err := e.store.Write(context.Background(), func(tx milogin.Tx) error {
		return tx.LoginRequests().Create(context.Background(), &milogin.LoginRequest{ID: id, Protocol: "oidc",
			Portal: milogin.ThirdParty, AppID: appID, CallbackURL: "/oidc/callback?id=" + id, ForceMFA: force,
			CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *accessEnv) request(t *testing.T, id string) *milogin.LoginRequest {
	t.Helper()
	var r *milogin.LoginRequest
	if err := e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		r, err = tx.LoginRequests().Get(context.Background(), id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *accessEnv) continueURL(id string) string {
	return e.srv.URL + "/thirdparty/continue?login=" + id
}

// wantDone checks that the sign-in went back to the protocol with amr.
func (e *accessEnv) wantDone(t *testing.T, r resp, id string, amr string) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/oidc/callback?id="+id {
		t.Fatalf("not sent back to the protocol: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	req := e.request(t, id)
	if !req.Done() || req.AccountID != e.acct.ID || strings.Join(req.AMR, ",") != amr {
		t.Fatalf("request = %+v, want done with amr %s", req, amr)
	}
}

func (e *accessEnv) grant(t *testing.T, appID string) {
	t.Helper()
	if _, err := e.access.Grant(context.Background(), appID, e.acct.ID, "", access.Actor{ID: "test"}); err != nil {
		t.Fatal(err)
	}
}

func (e *accessEnv) outbox(t *testing.T) []*milogin.Message {
	t.Helper()
	var ms []*milogin.Message
	if err := e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(context.Background(), milogin.MessageFilter{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ms
}

var passcodeRE = regexp.MustCompile(`\b(\d{6})\b`)

// passcodes counts the passcode messages in the outbox.
func passcodes(t *testing.T, e *accessEnv) int {
	n := 0
	for _, m := range e.outbox(t) {
		if strings.Contains(m.Text, "passcode") {
			n++
		}
	}
	return n
}

func wantContains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	text := html.UnescapeString(body)
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// formValue finds a hidden input's value in a page.
func formValue(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s field in\n%s", name, body)
	}
	return html.UnescapeString(m[1])
}

func TestHomeListsApplicationsByCategory(t *testing.T) {
	e := newAccessEnv(t)
	c := e.signedIn(t)
	home := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	wantContains(t, "empty home", home.body, "You do not have access to any applications yet.", ">REQUEST ACCESS<")
	e.grant(t, "osmis")
	e.grant(t, "forms")
	e.grant(t, "cars")
	home = do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	wantContains(t, "home", home.body, "Access your applications by clicking on the application links below",
		`<h2 id="app-group-0">Administration</h2>`, `<a href="https://osmis.example/login">One-Stop Management Information System (OSMIS)</a>`,
		`<h2 id="app-group-1">Business Services</h2>`)
	// Within a category, by name.
	if i, j := strings.Index(home.body, "CARS e-Services"), strings.Index(home.body, "Forms Library"); i < 0 || j < i {
		t.Error("applications not sorted by name")
	}
	if strings.Contains(home.body, "Grant Reporting") || strings.Contains(home.body, "Payroll") {
		t.Error("home lists applications without a grant")
	}
}

func TestGateTermsThenEnter(t *testing.T) {
	e := newAccessEnv(t)
	e.grant(t, "grants")
	// Grant Reporting asks for MFA always; make it none here to test terms alone.
	e.store.Write(context.Background(), func(tx milogin.Tx) error {
		_, err := tx.Apps().Update(context.Background(), "grants", func(a *milogin.Application) error {
			a.MFA, a.TermsVersion, a.TermsText = milogin.MFANone, 1, "Use for grant reporting only."
			return nil
		})
		return err
	})
	c := e.signedIn(t)
	id := e.park(t, "grants", false)
	r := do(t, c, "GET", e.continueURL(id), nil)
	if r.status != http.StatusOK {
		t.Fatalf("terms: %d", r.status)
	}
	wantContains(t, "terms dialog", r.body, "Terms & Conditions", "Grant Reporting", "Use for grant reporting only.", ">CANCEL<", ">Acknowledge/Agree<")
	if e.request(t, id).Done() {
		t.Fatal("done before the terms")
	}
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/continue/terms", url.Values{"login": {id}, "version": {"1"}, "choice": {"agree"}})
	if r.header.Get("Location") != "/thirdparty/continue?login="+id {
		t.Fatalf("agree went to %q", r.header.Get("Location"))
	}
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd")

	// Once accepted, no dialog; a new version asks again.
	id = e.park(t, "grants", false)
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd")
	e.store.Write(context.Background(), func(tx milogin.Tx) error {
		_, err := tx.Apps().Update(context.Background(), "grants", func(a *milogin.Application) error {
			a.TermsVersion, a.TermsText = 2, "Version two."
			return nil
		})
		return err
	})
	id = e.park(t, "grants", false)
	r = do(t, c, "GET", e.continueURL(id), nil)
	wantContains(t, "new terms", r.body, "Version two.")
	// Agreeing to the old version (a page left open) shows the new one.
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/continue/terms", url.Values{"login": {id}, "version": {"1"}, "choice": {"agree"}})
	if r.status != http.StatusConflict {
		t.Fatalf("stale agreement: %d", r.status)
	}
	wantContains(t, "stale agreement", r.body, "have changed", "Version two.")
	do(t, c, "POST", e.srv.URL+"/thirdparty/continue/terms", url.Values{"login": {id}, "version": {"2"}, "choice": {"agree"}})
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd")
	var evs []*milogin.AuditEvent
	e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		evs, err = tx.Audit().List(context.Background(), milogin.AuditFilter{Type: milogin.EventTermsAccepted})
		return err
	})
	if len(evs) != 2 {
		t.Errorf("terms acceptances audited: %d, want 2", len(evs))
	}
}

func TestGateTermsCancel(t *testing.T) {
	e := newAccessEnv(t)
	c := e.signedIn(t)
	id := e.park(t, "cars", false)
	r := do(t, c, "GET", e.continueURL(id), nil)
	wantContains(t, "open application's terms", r.body, "CARS e-Services", "Selecting Acknowledge/Agree gives you access to CARS e-Services.")
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/continue/terms", url.Values{"login": {id}, "version": {"1"}, "choice": {"cancel"}})
	if r.status != http.StatusOK {
		t.Fatalf("cancel: %d", r.status)
	}
	wantContains(t, "declined page", r.body, "You did not agree to the Terms & Conditions of CARS e-Services", `href="/thirdparty/home"`)
	req := e.request(t, id)
	if req.Done() {
		t.Error("cancelled sign-in completed")
	}
	if req.Refusal != "access_denied" {
		t.Errorf("refusal = %q, want access_denied for the application", req.Refusal)
	}
	wantContains(t, "declined page", r.body, `href="`+req.CallbackURL+`"`, "Return to the application")
	// The refused sign-in cannot be resumed: /continue hands it to the protocol.
	if r := do(t, c, "GET", e.continueURL(id), nil); r.header.Get("Location") != req.CallbackURL {
		t.Errorf("continue after cancel went to %q", r.header.Get("Location"))
	}
	if g, _, _ := e.access.App(context.Background(), e.acct, "cars"); g == nil {
		t.Fatal("no app")
	}
	if li, _ := e.access.Launch(context.Background(), "cars", e.acct.ID); li.Grant != nil {
		t.Error("cancel enrolled the person")
	}
}

func TestGateEnrolsInOpenApplication(t *testing.T) {
	e := newAccessEnv(t)
	c := e.signedIn(t)
	// With terms: agree, then in.
	id := e.park(t, "cars", false)
	do(t, c, "GET", e.continueURL(id), nil)
	do(t, c, "POST", e.srv.URL+"/thirdparty/continue/terms", url.Values{"login": {id}, "version": {"1"}, "choice": {"agree"}})
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd")
	// Without terms, where the application asks for a second factor: the
	// first launch enrols the person and then asks for it.
	id = e.park(t, "forms", true)
	r := do(t, c, "GET", e.continueURL(id), nil)
	wantContains(t, "enrolled, then the second factor", r.body, "MILogin Multifactor Authentication (MFA)")
	if e.request(t, id).Done() {
		t.Fatal("the sign-in was completed without its second factor")
	}
	// Without terms: in at once.
	id = e.park(t, "forms", false)
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd")
	home := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	wantContains(t, "home after enrolment", home.body, "CARS e-Services", "Forms Library")
}

func TestGateAccessDenied(t *testing.T) {
	e := newAccessEnv(t)
	c := e.signedIn(t)
	for _, tt := range []struct{ app, contact string }{
		{"osmis", "Contact the MWA Administrator for access denied errors."},
		{"grants", "Contact the Grants Office for access denied errors."},
	} {
		id := e.park(t, tt.app, false)
		r := do(t, c, "GET", e.continueURL(id), nil)
		if r.status != http.StatusForbidden {
			t.Fatalf("%s: %d", tt.app, r.status)
		}
		wantContains(t, "access denied", r.body, "<h1>Access Denied</h1>", tt.contact)
		if e.request(t, id).Done() {
			t.Error("denied sign-in completed")
		}
	}
	// A pending request says so; the page offers REQUEST ACCESS only when
	// a request can be made.
	if _, err := e.access.Request(context.Background(), e.acct, "grants", access.Actor{ID: e.acct.ID}); err != nil {
		t.Fatal(err)
	}
	r := do(t, c, "GET", e.continueURL(e.park(t, "grants", false)), nil)
	wantContains(t, "pending", r.body, "Your request for access to Grant Reporting is waiting for approval.")
	if strings.Contains(r.body, "REQUEST ACCESS</a> page") {
		t.Error("a pending request is offered another request")
	}
	// A revoked open application is denied too, and the application of
	// another portal gets the error page.
	e.grant(t, "forms")
	if _, err := e.access.Revoke(context.Background(), "forms", e.acct.ID, "", access.Actor{ID: "test"}); err != nil {
		t.Fatal(err)
	}
	if r := do(t, c, "GET", e.continueURL(e.park(t, "forms", false)), nil); r.status != http.StatusForbidden || !strings.Contains(r.body, "Access Denied") {
		t.Errorf("revoked open application: %d", r.status)
	}
	if r := do(t, c, "GET", e.continueURL(e.park(t, "payroll", false)), nil); r.status != http.StatusForbidden || !strings.Contains(r.body, "not offered in MILogin for Third Party") {
		t.Errorf("other portal's application: %d", r.status)
	}
	var evs []*milogin.AuditEvent
	e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		evs, err = tx.Audit().List(context.Background(), milogin.AuditFilter{Type: milogin.EventLaunchDenied})
		return err
	})
	if len(evs) != 5 {
		t.Errorf("launch denials audited: %d, want 5", len(evs))
	}
}

// mfaPage follows a parked sign-in of osmis (granted, terms accepted) to
// the MFA page.
func (e *accessEnv) toMFA(t *testing.T, c *http.Client, appID string, force bool) (string, resp) {
	t.Helper()
	id := e.park(t, appID, force)
	r := do(t, c, "GET", e.continueURL(id), nil)
	if strings.Contains(r.body, "Acknowledge/Agree") {
		do(t, c, "POST", e.srv.URL+"/thirdparty/continue/terms", url.Values{"login": {id}, "version": {formValue(t, r.body, "version")}, "choice": {"agree"}})
		r = do(t, c, "GET", e.continueURL(id), nil)
	}
	return id, r
}

// passcodeByEmail picks Email on the MFA page and returns the passcode
// page's URL and the code from the outbox.
func (e *accessEnv) passcodeBy(t *testing.T, c *http.Client, id, method string) (resp, string) {
	t.Helper()
	r := do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa", url.Values{"login": {id}, "method": {method}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("choose %s: %d\n%s", method, r.status, r.body)
	}
	page := do(t, c, "GET", e.srv.URL+r.header.Get("Location"), nil)
	ms := e.outbox(t)
	if len(ms) == 0 {
		t.Fatal("no passcode sent")
	}
	return page, passcodeRE.FindString(ms[0].Text)
}

func TestDailyMFAByEmailAsksOncePerDay(t *testing.T) {
	e := newAccessEnv(t)
	e.grant(t, "osmis")
	c := e.signedIn(t)
	id, r := e.toMFA(t, c, "osmis", false)
	wantContains(t, "MFA page", r.body, "MILogin Multifactor Authentication (MFA)", "Hello John Smith",
		"Please select one of the following options to proceed with additional required authentication",
		">Email<", "You will receive a passcode in your email j********h@example.org", ">Text<", "***-***-1234")
	if strings.Contains(r.body, `value="totp"`) || strings.Contains(r.body, ">Passkey<") {
		t.Error("authenticator app or passkey offered before one is set up")
	}
	page, code := e.passcodeBy(t, c, id, "email")
	wantContains(t, "passcode page", page.body, "MILogin Multifactor Authentication (MFA)", `<label for="passcode">`, "Passcode", ">Submit<")
	msg := e.outbox(t)[0]
	if msg.To != "john.smith@example.org" || !strings.Contains(msg.Text, "Your MILogin passcode to access One-Stop Management Information System (OSMIS) is") {
		t.Fatalf("passcode email: %+v", msg)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	form := url.Values{"login": {id}, "method": {"email"}, "code": {formValue(t, page.body, "code")}, "passcode": {wrong}}
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa/passcode", form)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, mfa.MsgWrongCode+" You have 4 more tries.") {
		t.Fatalf("wrong passcode: %d (the tries left must be shown)", r.status)
	}
	form.Set("passcode", code)
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa/passcode", form)
	if r.header.Get("Location") != "/thirdparty/continue?login="+id {
		t.Fatalf("passcode went to %q (%d)", r.header.Get("Location"), r.status)
	}
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd,mfa,otp")

	// Later, in this session: no MFA, and the MFA done in this session is
	// reported.
	e.clk.Add(20 * time.Minute)
	id = e.park(t, "osmis", false)
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd,mfa,otp")
	// In a new session the same day: still no MFA, but the sign-in says so.
	c2 := e.signedIn(t)
	id = e.park(t, "osmis", false)
	e.wantDone(t, do(t, c2, "GET", e.continueURL(id), nil), id, "pwd")
	// After midnight in Detroit (04:00 UTC in June): asked again.
	e.clk.Add(14*time.Hour + 40*time.Minute) // 14:20 UTC → 05:00 UTC = 01:00 EDT
	c3 := e.signedIn(t)
	_, r = e.toMFA(t, c3, "osmis", false)
	wantContains(t, "next day", r.body, "MILogin Multifactor Authentication (MFA)")
}

func TestMFAByTextAndAlwaysPolicy(t *testing.T) {
	e := newAccessEnv(t)
	e.grant(t, "grants") // MFA always
	c := e.signedIn(t)
	for range 2 { // always: every launch asks
		id, r := e.toMFA(t, c, "grants", false)
		if !strings.Contains(r.body, "MILogin Multifactor Authentication (MFA)") {
			t.Fatalf("no MFA page:\n%s", r.body)
		}
		page, code := e.passcodeBy(t, c, id, "sms")
		if m := e.outbox(t)[0]; m.Channel != milogin.ChannelSMS || m.To != "(517) 555-1234" {
			t.Fatalf("text: %+v", m)
		}
		wantContains(t, "passcode page", page.body, "A passcode was sent by text message to ***-***-1234")
		do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa/passcode", url.Values{"login": {id}, "method": {"sms"}, "code": {formValue(t, page.body, "code")}, "passcode": {code}})
		e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd,mfa,otp")
	}
	// A code sent for one sign-in cannot finish another.
	id1, _ := e.toMFA(t, c, "grants", false)
	page, code := e.passcodeBy(t, c, id1, "email")
	id2, _ := e.toMFA(t, c, "grants", false)
	r := do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa/passcode", url.Values{"login": {id2}, "method": {"email"}, "code": {formValue(t, page.body, "code")}, "passcode": {code}})
	if r.status == http.StatusSeeOther || e.request(t, id2).Done() {
		t.Fatalf("a passcode finished another sign-in: %d", r.status)
	}
}

func TestForceMFAOnNonePolicy(t *testing.T) {
	e := newAccessEnv(t)
	c := e.signedIn(t)
	id := e.park(t, "forms", true)
	r := do(t, c, "GET", e.continueURL(id), nil)
	wantContains(t, "forced MFA", r.body, "MILogin Multifactor Authentication (MFA)")
	if r := do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa", url.Values{"login": {id}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Please select one of the options.") {
		t.Errorf("no option chosen: %d", r.status)
	}
}

func totpNow(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestAuthenticatorAppEnrolAndMFA(t *testing.T) {
	e := newAccessEnv(t)
	e.grant(t, "osmis")
	c := e.signedIn(t)
	base := e.srv.URL + "/thirdparty/security-options/authenticator"
	r := do(t, c, "GET", base, nil)
	wantContains(t, "authenticator page", r.body, "SET UP AUTHENTICATOR APP")
	do(t, c, "POST", base, url.Values{"action": {"start"}})
	r = do(t, c, "GET", base, nil)
	wantContains(t, "set-up page", r.body, `src="data:image/png;base64,`, "Or type this key:")
	secret := strings.ReplaceAll(regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(r.body)[1], " ", "")
	r = do(t, c, "POST", base, url.Values{"action": {"confirm"}, "current_password": {"wrong"}, "code": {totpNow(t, secret, e.clk.Now())}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, mfa.MsgWrongPassword) {
		t.Fatalf("wrong password: %d", r.status)
	}
	r = do(t, c, "POST", base, url.Values{"action": {"confirm"}, "current_password": {goodPassword}, "code": {totpNow(t, secret, e.clk.Now())}})
	if r.header.Get("Location") != "/thirdparty/security-options/authenticator?m=totp-added" {
		t.Fatalf("confirm: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}

	e.clk.Add(time.Minute)
	id, r := e.toMFA(t, c, "osmis", false)
	wantContains(t, "MFA page", r.body, `value="totp"`, ">Authenticator app<")
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa", url.Values{"login": {id}, "method": {"totp"}})
	page := do(t, c, "GET", e.srv.URL+r.header.Get("Location"), nil)
	wantContains(t, "TOTP page", page.body, "Enter the 6-digit code shown in your authenticator app")
	code := totpNow(t, secret, e.clk.Now())
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa/passcode", url.Values{"login": {id}, "method": {"totp"}, "passcode": {code}})
	if r.header.Get("Location") != "/thirdparty/continue?login="+id {
		t.Fatalf("TOTP: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd,mfa,otp")

	// The same code is not accepted twice (a forced MFA sign-in right after).
	id, _ = e.toMFA(t, c, "osmis", true)
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa/passcode", url.Values{"login": {id}, "method": {"totp"}, "passcode": {code}})
	if r.status != http.StatusUnauthorized {
		t.Errorf("replayed TOTP code: %d", r.status)
	}
	if n := passcodes(t, e); n != 0 {
		t.Errorf("the authenticator option sent %d passcodes", n)
	}
}

func postJSON(t *testing.T, c *http.Client, u string, body []byte, contentType string) (int, map[string]json.RawMessage) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: not JSON (%d): %s", u, res.StatusCode, b)
	}
	return res.StatusCode, out
}

func TestPasskeyEnrolAndMFA(t *testing.T) {
	e := newAccessEnv(t)
	e.grant(t, "osmis")
	c := e.signedIn(t)
	pk := mfatest.New(strings.Replace(e.srv.URL, "127.0.0.1", "localhost", 1))
	r := do(t, c, "GET", e.srv.URL+"/thirdparty/security-options/passkeys", nil)
	wantContains(t, "passkeys page", r.body, "You have no passkeys yet.", "ADD PASSKEY", `src="/static/passkey.js"`)
	status, out := postJSON(t, c, e.srv.URL+"/thirdparty/security-options/passkeys/begin",
		[]byte(url.Values{"current_password": {goodPassword}}.Encode()), "application/x-www-form-urlencoded")
	if status != http.StatusOK {
		t.Fatalf("begin registration: %d %s", status, out["message"])
	}
	var challenge string
	json.Unmarshal(out["challenge"], &challenge)
	resp, err := pk.Create(out["options"])
	if err != nil {
		t.Fatal(err)
	}
	status, out = postJSON(t, c, e.srv.URL+"/thirdparty/security-options/passkeys/finish?name=Laptop&challenge="+challenge, resp, "application/json")
	if status != http.StatusOK {
		t.Fatalf("finish registration: %d %s", status, out["message"])
	}
	r = do(t, c, "GET", e.srv.URL+"/thirdparty/security-options/passkeys?m=passkey-added", nil)
	wantContains(t, "passkeys page", r.body, "Your passkey was added.", "<strong>Laptop</strong>")

	id, r := e.toMFA(t, c, "osmis", false)
	wantContains(t, "MFA page", r.body, `id="passkey-option" hidden`, ">Passkey<")
	status, out = postJSON(t, c, e.srv.URL+"/thirdparty/continue/mfa/passkey/begin?login="+id, nil, "application/x-www-form-urlencoded")
	if status != http.StatusOK {
		t.Fatalf("begin login: %d %s", status, out["message"])
	}
	json.Unmarshal(out["challenge"], &challenge)
	assertion, err := pk.Get(out["options"])
	if err != nil {
		t.Fatal(err)
	}
	status, out = postJSON(t, c, e.srv.URL+"/thirdparty/continue/mfa/passkey/finish?login="+id+"&challenge="+challenge, assertion, "application/json")
	var redirect string
	json.Unmarshal(out["redirect"], &redirect)
	if status != http.StatusOK || redirect != "/thirdparty/continue?login="+id {
		t.Fatalf("finish login: %d %s", status, out["message"])
	}
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd,mfa,hwk")

	// Bad JSON is a 4xx JSON error, not a crash.
	id, _ = e.toMFA(t, c, "osmis", true)
	status, out = postJSON(t, c, e.srv.URL+"/thirdparty/continue/mfa/passkey/finish?login="+id+"&challenge=x", []byte("{"), "application/json")
	if status < 400 || status >= 500 || len(out["message"]) == 0 {
		t.Errorf("bad finish: %d %s", status, out["message"])
	}
}

func TestRequestAccessApprovalFlow(t *testing.T) {
	e := newAccessEnv(t)
	c := e.signedIn(t)
	home := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	wantContains(t, "menu", home.body, `href="/thirdparty/request-access">REQUEST ACCESS<`)
	r := do(t, c, "GET", e.srv.URL+"/thirdparty/request-access", nil)
	wantContains(t, "request access page", r.body, "<h1>Request Access</h1>", "Grant Reporting", "Not requested",
		"CARS e-Services", "One-Stop Management Information System (OSMIS)", "Access is given by the application's administrators. Contact the MWA Administrator.")
	if strings.Contains(r.body, "Payroll") {
		t.Error("another portal's application is listed")
	}
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/request-access", url.Values{"app": {"grants"}})
	if r.header.Get("Location") != "/thirdparty/request-access?m=requested" {
		t.Fatalf("request: %d %s", r.status, r.header.Get("Location"))
	}
	r = do(t, c, "GET", e.srv.URL+"/thirdparty/request-access?m=requested", nil)
	wantContains(t, "after request", r.body, "Your request has been submitted.", "Pending approval")
	if m := e.outbox(t)[0]; !strings.Contains(m.Text, "Your request for access to Grant Reporting has been received") {
		t.Errorf("request email: %s", m.Text)
	}
	// A provisioned application cannot be requested.
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/request-access", url.Values{"app": {"osmis"}})
	if r.status != http.StatusForbidden {
		t.Errorf("requesting a provisioned app: %d", r.status)
	}
	if r := do(t, c, "POST", e.srv.URL+"/thirdparty/request-access", url.Values{"app": {"payroll"}}); r.status != http.StatusNotFound {
		t.Errorf("requesting another portal's app: %d", r.status)
	}

	if _, err := e.access.Approve(context.Background(), "grants", e.acct.ID, "", access.Actor{ID: "cli"}); err != nil {
		t.Fatal(err)
	}
	wantContains(t, "granted email", e.outbox(t)[0].Text,
		"Your request for access to Grant Reporting has been approved and the Grant Reporting link will be available on the home page the next time you log in")
	home = do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	wantContains(t, "home after approval", home.body, `<a href="https://grants.example/">Grant Reporting</a>`)
	r = do(t, c, "GET", e.srv.URL+"/thirdparty/request-access", nil)
	if strings.Contains(r.body, "Grant Reporting") {
		t.Error("granted application still listed on Request Access")
	}
}

func TestRequestAccessOpenApplication(t *testing.T) {
	e := newAccessEnv(t)
	c := e.signedIn(t)
	r := do(t, c, "POST", e.srv.URL+"/thirdparty/request-access", url.Values{"app": {"cars"}})
	if r.header.Get("Location") != "/thirdparty/request-access/terms?app=cars" {
		t.Fatalf("open request went to %q", r.header.Get("Location"))
	}
	r = do(t, c, "GET", e.srv.URL+r.header.Get("Location"), nil)
	wantContains(t, "terms", r.body, "I Agree to the Access Terms & Conditions", ">Acknowledge/Agree<")
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/request-access/terms", url.Values{"app": {"cars"}, "version": {"1"}, "choice": {"cancel"}})
	if r.header.Get("Location") != "/thirdparty/request-access?m=declined" {
		t.Fatalf("cancel: %s", r.header.Get("Location"))
	}
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/request-access/terms", url.Values{"app": {"cars"}, "version": {"1"}, "choice": {"agree"}})
	if r.header.Get("Location") != "/thirdparty/request-access?m=enrolled" {
		t.Fatalf("agree: %s", r.header.Get("Location"))
	}
	home := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	wantContains(t, "home", home.body, `<a href="https://cars.example/">CARS e-Services</a>`)
	// The terms are recorded: a launch goes straight in.
	id := e.park(t, "cars", false)
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd")
}

func TestGateStepsNeedTheSignedInPerson(t *testing.T) {
	e := newAccessEnv(t)
	e.grant(t, "osmis")
	c := e.signedIn(t)
	id, _ := e.toMFA(t, c, "osmis", false)
	anon := e.client(t)
	r := do(t, anon, "POST", e.srv.URL+"/thirdparty/continue/mfa", url.Values{"login": {id}, "method": {"email"}})
	if r.header.Get("Location") != "/thirdparty/continue?login="+id {
		t.Errorf("anonymous MFA choice went to %q", r.header.Get("Location"))
	}
	if passcodes(t, e) != 0 {
		t.Error("a passcode was sent without a session")
	}
	status, _ := postJSON(t, anon, e.srv.URL+"/thirdparty/continue/mfa/passkey/begin?login="+id, nil, "application/x-www-form-urlencoded")
	if status != http.StatusUnauthorized {
		t.Errorf("anonymous passkey begin: %d", status)
	}
	// A finished or unknown request cannot be continued.
	if r := do(t, c, "POST", e.srv.URL+"/thirdparty/continue/terms", url.Values{"login": {"nope"}, "choice": {"agree"}}); r.status != http.StatusNotFound {
		t.Errorf("unknown request: %d", r.status)
	}
}

// SECURITY-TESTS.md: a new session token at step-up. A token copied before the
// second factor opens nothing afterwards.
func TestStepUpGivesANewSessionToken(t *testing.T) {
	e := newAccessEnv(t)
	e.grant(t, "osmis")
	c := e.signedIn(t)
	base, _ := url.Parse(e.srv.URL)
	tokenOf := func() string {
		for _, ck := range c.Jar.Cookies(base) {
			if ck.Name == "milogin-thirdparty" {
				return ck.Value
			}
		}
		t.Fatal("no session cookie")
		return ""
	}
	before := tokenOf()
	id, _ := e.toMFA(t, c, "osmis", false)
	page, code := e.passcodeBy(t, c, id, "email")
	r := do(t, c, "POST", e.srv.URL+"/thirdparty/continue/mfa/passcode",
		url.Values{"login": {id}, "method": {"email"}, "code": {formValue(t, page.body, "code")}, "passcode": {code}})
	if r.header.Get("Location") != "/thirdparty/continue?login="+id {
		t.Fatalf("passcode went to %q (%d)", r.header.Get("Location"), r.status)
	}
	after := tokenOf()
	if after == before {
		t.Fatal("the session token was not replaced after the second factor")
	}
	stolen, _ := cookiejar.New(nil)
	stolen.SetCookies(base, []*http.Cookie{{Name: "milogin-thirdparty", Value: before, Path: "/"}})
	old := &http.Client{Jar: stolen, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if r := do(t, old, "GET", e.srv.URL+"/thirdparty/home", nil); r.status != http.StatusSeeOther {
		t.Errorf("the pre-MFA token still opens the home page: %d", r.status)
	}
	// The second factor still counts for this sign-in under the new token.
	e.wantDone(t, do(t, c, "GET", e.continueURL(id), nil), id, "pwd,mfa,otp")
	if got := e.request(t, id).SessionID; got != authn.TokenID(after) {
		t.Errorf("sign-in completed for session %q, want the rotated one", got)
	}
}
