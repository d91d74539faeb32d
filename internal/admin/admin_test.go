package admin_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"io"
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

	"milogin"
	"milogin/internal/access"
	"milogin/internal/admin"
	"milogin/internal/authn"
	"milogin/internal/clocktest"
	"milogin/internal/mfa"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

var fastParams = authn.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

const staffPassword = "correct horse battery staple"

type env struct {
	t     *testing.T
	store milogin.Store
	clock *clocktest.Clock
	svc   *admin.Service
	srv   *httptest.Server
	// secrets holds each enrolled staff member's authenticator key.
	secrets map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/a.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := clocktest.New(time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC))
	auth := authn.NewService(store, authn.NewHasher(fastParams, 0), authn.NewCodeHasher(make([]byte, 32)))
	auth.Now = clock.Now
	m := mfa.New(store, auth.Codes, auth.Hasher)
	block, _ := aes.NewCipher(make([]byte, 32))
	m.TOTPKey, _ = cipher.NewGCM(block)
	m.Now = clock.Now
	acc := access.New(store)
	acc.Now = clock.Now
	e := &env{t: t, store: store, clock: clock, secrets: map[string]string{}}
	e.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + e.srv.Listener.Addr().String()
	e.svc = admin.NewService(store, auth, m, acc, base)
	h, err := admin.NewServer(admin.Config{Service: e.svc, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = h
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) write(fn func(tx milogin.Tx) error) {
	e.t.Helper()
	if err := e.store.Write(e.t.Context(), fn); err != nil {
		e.t.Fatal(err)
	}
}

// resident creates an account in portal with an email and a session.
func (e *env) resident(userID string, portal milogin.PortalID) *milogin.Account {
	e.t.Helper()
	now := e.clock.Now()
	a := &milogin.Account{ID: authn.NewID(), Portal: portal, UserID: userID, FirstName: "John", LastName: "Smith",
		Email: userID + "@example.org", Mobile: "517-555-0101", RecoverByEmail: true, Status: milogin.StatusActive,
		PasswordChangedAt: now.Add(-40 * 24 * time.Hour), CreatedAt: now.Add(-100 * 24 * time.Hour), LastLoginAt: now.Add(-24 * time.Hour)}
	e.write(func(tx milogin.Tx) error {
		if err := tx.Accounts().Create(e.t.Context(), a); err != nil {
			return err
		}
		_, id := authn.NewToken()
		return tx.Sessions().Create(e.t.Context(), &milogin.Session{ID: id, AccountID: a.ID, Portal: portal, Stage: milogin.StageActive,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.7", UserAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0 Safari/537.36"})
	})
	return a
}

var secretRE = regexp.MustCompile(`id="secret">([A-Z2-7 ]+)<`)

func (e *env) code(email string) string {
	e.t.Helper()
	c, err := totp.GenerateCodeCustom(e.secrets[email], e.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// staff adds and enrols a staff member through the enrolment page.
func (e *env) staff(email string, bootstrap bool, grants ...milogin.StaffGrant) {
	e.t.Helper()
	res, err := e.svc.AddStaff(e.t.Context(), admin.NewStaff{Email: email, Name: "Helen Desk", Roles: grants}, bootstrap, admin.Actor{ID: "cli"})
	if err != nil {
		e.t.Fatal(err)
	}
	if res.Link == "" {
		return
	}
	c := e.client()
	body := e.get(c, res.Link, http.StatusOK)
	m := secretRE.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("enrolment page shows no key:\n%s", body)
	}
	if !strings.Contains(body, `src="data:image/png;base64,`) {
		e.t.Fatal("enrolment page shows no QR code")
	}
	e.secrets[email] = strings.ReplaceAll(m[1], " ", "")
	u, _ := url.Parse(res.Link)
	e.post(c, "/admin/enrol", url.Values{"t": {u.Query().Get("t")}, "password": {staffPassword}, "confirm": {staffPassword}, "code": {e.code(email)}}, http.StatusOK)
	e.clock.Add(31 * time.Second) // the next code is a new step
}

func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) do(c *http.Client, method, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.srv.URL + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequestWithContext(e.t.Context(), method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) get(c *http.Client, path string, want int) string {
	e.t.Helper()
	resp, body := e.do(c, http.MethodGet, path, nil)
	if resp.StatusCode != want {
		e.t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, want, body)
	}
	return body
}

func (e *env) post(c *http.Client, path string, form url.Values, want int) string {
	e.t.Helper()
	resp, body := e.do(c, http.MethodPost, path, form)
	if resp.StatusCode != want {
		e.t.Fatalf("POST %s: %d, want %d\n%s", path, resp.StatusCode, want, body)
	}
	return body
}

// signIn signs a staff member in and returns their browser.
func (e *env) signIn(email string) *http.Client {
	e.t.Helper()
	c := e.client()
	e.post(c, "/admin/login", url.Values{"email": {email}, "password": {staffPassword}}, http.StatusSeeOther)
	e.post(c, "/admin/login/code", url.Values{"code": {e.code(email)}}, http.StatusSeeOther)
	e.clock.Add(31 * time.Second)
	return c
}

func (e *env) events(f milogin.AuditFilter) []*milogin.AuditEvent {
	e.t.Helper()
	var es []*milogin.AuditEvent
	if err := e.store.Read(e.t.Context(), func(tx milogin.Tx) (err error) {
		es, err = tx.Audit().List(e.t.Context(), f)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return es
}

func (e *env) mail(to string) []*milogin.Message {
	e.t.Helper()
	var ms []*milogin.Message
	if err := e.store.Read(e.t.Context(), func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(e.t.Context(), milogin.MessageFilter{To: to})
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return ms
}

func TestBootstrapEnrolAndSignIn(t *testing.T) {
	e := newEnv(t)
	const email = "ann.admin@michigan.gov"
	e.staff(email, true, milogin.StaffGrant{Role: milogin.RoleSecurity})

	// Only the first security administrator comes from bootstrap.
	_, err := e.svc.AddStaff(t.Context(), admin.NewStaff{Email: "other@michigan.gov", Name: "Other", Roles: []milogin.StaffGrant{{Role: milogin.RoleSecurity}}}, true, admin.Actor{ID: "cli"})
	if !milogin.IsKind(err, milogin.ECONFLICT) {
		t.Fatalf("second bootstrap: %v, want ECONFLICT", err)
	}

	c := e.client()
	// Wrong password: the same answer as an unknown email.
	body := e.post(c, "/admin/login", url.Values{"email": {email}, "password": {"wrong password entirely"}}, http.StatusUnauthorized)
	body2 := e.post(c, "/admin/login", url.Values{"email": {"nobody@michigan.gov"}, "password": {"wrong password entirely"}}, http.StatusUnauthorized)
	if !strings.Contains(body, authn.MsgBadCredentials) || !strings.Contains(body2, authn.MsgBadCredentials) {
		t.Fatal("a failed sign-in does not say the credentials are incorrect")
	}
	if !strings.Contains(body, `value="ann.admin@michigan.gov"`) || strings.Contains(body, "wrong password entirely") {
		t.Fatal("the form must keep the email and never the password")
	}

	e.post(c, "/admin/login", url.Values{"email": {email}, "password": {staffPassword}}, http.StatusSeeOther)
	// Between the password and the code, the console stays shut, even if
	// the pending token is moved into the session cookie.
	var pending string
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "milogin-admin-mfa" {
			pending = ck.Value
		}
	}
	if pending == "" {
		t.Fatal("no pending cookie after the password")
	}
	forged := e.client()
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: "milogin-admin", Value: pending}})
	if resp, _ := e.do(forged, http.MethodGet, "/admin/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pending token as a session: %d, want the sign-in redirect", resp.StatusCode)
	}

	e.post(c, "/admin/login/code", url.Values{"code": {"000000"}}, http.StatusUnauthorized)
	code := e.code(email)
	e.post(c, "/admin/login/code", url.Values{"code": {code}}, http.StatusSeeOther)
	home := e.get(c, "/admin/", http.StatusOK)
	if !strings.Contains(home, "Signed in as Helen Desk") || !strings.Contains(home, `href="/admin/security/staff"`) {
		t.Fatalf("console home:\n%s", home)
	}
	// The same code cannot sign in again (replay).
	c2 := e.client()
	e.post(c2, "/admin/login", url.Values{"email": {email}, "password": {staffPassword}}, http.StatusSeeOther)
	e.post(c2, "/admin/login/code", url.Values{"code": {code}}, http.StatusUnauthorized)

	// The session ends after 15 idle minutes.
	e.clock.Add(16 * time.Minute)
	if resp, _ := e.do(c, http.MethodGet, "/admin/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after 16 idle minutes: %d, want the sign-in redirect", resp.StatusCode)
	}

	if es := e.events(milogin.AuditFilter{Type: milogin.EventStaffSignIn}); len(es) != 1 || es[0].ActorKind != milogin.ActorStaff {
		t.Fatalf("staff.signin events: %+v", es)
	}
}

func TestEnrolmentLinkIsSingleUseAndChecksInput(t *testing.T) {
	e := newEnv(t)
	res, err := e.svc.AddStaff(t.Context(), admin.NewStaff{Email: "h@michigan.gov", Name: "Helen Desk", Roles: []milogin.StaffGrant{{Role: milogin.RoleHelpDesk}}}, false, admin.Actor{ID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	body := e.get(c, res.Link, http.StatusOK)
	e.secrets["h@michigan.gov"] = strings.ReplaceAll(secretRE.FindStringSubmatch(body)[1], " ", "")
	u, _ := url.Parse(res.Link)
	token := u.Query().Get("t")
	body = e.post(c, "/admin/enrol", url.Values{"t": {token}, "password": {"short"}, "confirm": {"other"}, "code": {""}}, http.StatusUnprocessableEntity)
	for _, want := range []string{"Confirm Password must match", "6-digit code", "at least 15"} {
		if !strings.Contains(body, want) {
			t.Errorf("enrolment errors lack %q", want)
		}
	}
	e.post(c, "/admin/enrol", url.Values{"t": {token}, "password": {staffPassword}, "confirm": {staffPassword}, "code": {e.code("h@michigan.gov")}}, http.StatusOK)
	e.get(c, res.Link, http.StatusGone)
	e.clock.Add(31 * time.Second)
	e.post(c, "/admin/enrol", url.Values{"t": {token}, "password": {staffPassword}, "confirm": {staffPassword}, "code": {e.code("h@michigan.gov")}}, http.StatusGone)

	// An expired link opens nothing.
	res, _ = e.svc.AddStaff(t.Context(), admin.NewStaff{Email: "late@michigan.gov", Name: "Late Comer", Roles: []milogin.StaffGrant{{Role: milogin.RoleHelpDesk}}}, false, admin.Actor{ID: "cli"})
	e.clock.Add(admin.EnrolLife + time.Minute)
	e.get(c, res.Link, http.StatusGone)
}

func TestStaffAccountLocks(t *testing.T) {
	e := newEnv(t)
	e.staff("h@michigan.gov", false, milogin.StaffGrant{Role: milogin.RoleHelpDesk})
	c := e.client()
	for range 5 {
		e.do(c, http.MethodPost, "/admin/login", url.Values{"email": {"h@michigan.gov"}, "password": {"not the password at all"}})
	}
	body := e.post(c, "/admin/login", url.Values{"email": {"h@michigan.gov"}, "password": {staffPassword}}, http.StatusForbidden)
	if !strings.Contains(body, "locked") {
		t.Fatalf("locked staff sign-in:\n%s", body)
	}
}

// Every console route, with every role and with none: the wrong role gets
// 403 (or the sign-in page), never the data.
func TestEveryRouteRefusesTheWrongRole(t *testing.T) {
	e := newEnv(t)
	e.write(func(tx milogin.Tx) error {
		return tx.Apps().Create(t.Context(), &milogin.Application{ID: "grants", Name: "Grants Portal", Portals: []milogin.PortalID{milogin.ThirdParty},
			Approval: milogin.ApprovalRequired, Client: milogin.Client{ID: "grants", SecretHash: "x"}})
	})
	e.write(func(tx milogin.Tx) error {
		return tx.Apps().Create(t.Context(), &milogin.Application{ID: "other", Name: "Other App", Portals: []milogin.PortalID{milogin.ThirdParty},
			Approval: milogin.ApprovalRequired, Client: milogin.Client{ID: "other", SecretHash: "x"}})
	})
	e.write(func(tx milogin.Tx) error {
		return tx.Apps().Create(t.Context(), &milogin.Application{ID: "doomed", Name: "Doomed App", Portals: []milogin.PortalID{milogin.ThirdParty},
			Client: milogin.Client{ID: "doomed", SecretHash: "x"}})
	})
	victim := e.resident("victimuser", milogin.ThirdParty)
	e.write(func(tx milogin.Tx) error {
		return tx.Grants().Put(t.Context(), &milogin.Grant{AppID: "grants", AccountID: victim.ID, Status: milogin.GrantPending, RequestedAt: e.clock.Now()})
	})
	e.staff("sec@michigan.gov", true, milogin.StaffGrant{Role: milogin.RoleSecurity})
	e.staff("help@michigan.gov", false, milogin.StaffGrant{Role: milogin.RoleHelpDesk})
	e.staff("apps@michigan.gov", false, milogin.StaffGrant{Role: milogin.RoleAppAdmin, AppID: "other"})
	clients := map[milogin.StaffRole]*http.Client{}
	for role, email := range map[milogin.StaffRole]string{milogin.RoleSecurity: "sec@michigan.gov", milogin.RoleHelpDesk: "help@michigan.gov", milogin.RoleAppAdmin: "apps@michigan.gov"} {
		clients[role] = e.signIn(email)
	}
	h, _ := admin.NewServer(admin.Config{Service: e.svc, BaseURL: e.srv.URL})
	// Who may use each route, written here independently of routes.go, so
	// that loosening a route there fails this test. A new route must be
	// added here too.
	const hd, aa, sa = milogin.RoleHelpDesk, milogin.RoleAppAdmin, milogin.RoleSecurity
	want := map[string][]milogin.StaffRole{
		"GET /admin/{$}":                                {hd, aa, sa},
		"GET /admin/me/passkeys":                        {hd, aa, sa},
		"POST /admin/me/passkeys/begin":                 {hd, aa, sa},
		"POST /admin/me/passkeys/finish":                {hd, aa, sa},
		"POST /admin/me/passkeys/remove":                {hd, aa, sa},
		"GET /admin/accounts":                           {hd},
		"GET /admin/accounts/{id}":                      {hd},
		"POST /admin/accounts/{id}/{action}":            {hd},
		"GET /admin/audit":                              {hd, sa},
		"GET /admin/access":                             {aa},
		"POST /admin/access/{app}/{id}/{decision}":      {}, // the appadmin administers "other", not "grants"
		"GET /admin/security/apps":                      {sa},
		"GET /admin/security/apps/new":                  {sa},
		"POST /admin/security/apps":                     {sa},
		"GET /admin/security/apps/{app}":                {sa},
		"POST /admin/security/apps/{app}":               {sa},
		"POST /admin/security/apps/{app}/remove":        {sa},
		"POST /admin/security/apps/{app}/rotate-secret": {sa},
		"GET /admin/security/policies":                  {sa},
		"POST /admin/security/policies/{portal}":        {sa},
		"POST /admin/security/keys/rotate":              {sa},
		"GET /admin/security/staff":                     {sa},
		"POST /admin/security/staff":                    {sa},
		"POST /admin/security/staff/{id}/{change}":      {sa},
	}
	// The data no one without the role may see.
	secretsOf := []string{victim.Email, victim.UserID, "Grants Portal"}
	for _, r := range h.Routes() {
		if r.Public {
			continue
		}
		method, path, _ := strings.Cut(r.Pattern, " ")
		path = strings.TrimSuffix(path, "{$}")
		path = strings.NewReplacer("{id}", victim.ID, "{action}", admin.ActUnlock, "{app}", "grants", "{decision}", "approve", "{change}", "remove-role", "{portal}", "citizen").Replace(path)
		if strings.HasSuffix(path, "/remove") {
			path = strings.Replace(path, "/grants/", "/doomed/", 1) // removing must not take the walk's application
		}
		var form url.Values
		if method == http.MethodPost {
			form = url.Values{"reason-unlock": {"test"}, "email": {"x@michigan.gov"}, "name": {"X"}, "role": {"helpdesk"}}
		}
		allowedRoles, ok := want[r.Pattern]
		if !ok {
			t.Errorf("route %s is not in this test's table: add who may use it", r.Pattern)
			continue
		}
		try := map[string]*http.Client{"none": e.client()}
		for role, c := range clients {
			try[string(role)] = c
		}
		for who, c := range try {
			allowed := containsRole(allowedRoles, milogin.StaffRole(who))
			resp, body := e.do(c, method, path, form)
			if allowed {
				if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/admin/login" {
					t.Errorf("%s %s as %s: %d, want it served", method, path, who, resp.StatusCode)
				}
				continue
			}
			if resp.StatusCode != http.StatusForbidden && !(resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/admin/login") {
				t.Errorf("%s %s as %s: %d, want 403 or the sign-in page", method, path, who, resp.StatusCode)
			}
			for _, s := range secretsOf {
				if strings.Contains(body, s) {
					t.Errorf("%s %s as %s: the answer shows %q", method, path, who, s)
				}
			}
		}
	}
	// Nothing the refused requests asked for happened.
	var g *milogin.Grant
	e.store.Read(t.Context(), func(tx milogin.Tx) (err error) {
		g, err = tx.Grants().Get(t.Context(), "grants", victim.ID)
		return err
	})
	if g.Status != milogin.GrantPending {
		t.Errorf("the request was decided by someone who does not administer the application: %s", g.Status)
	}
}

func containsRole(rs []milogin.StaffRole, r milogin.StaffRole) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func TestCrossOriginFormIsRefused(t *testing.T) {
	e := newEnv(t)
	e.staff("help@michigan.gov", true, milogin.StaffGrant{Role: milogin.RoleHelpDesk})
	c := e.signIn("help@michigan.gov")
	a := e.resident("lockeduser", milogin.Citizen)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/admin/accounts/"+a.ID+"/deactivate", strings.NewReader("reason-deactivate=evil"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site form: %d, want 403", resp.StatusCode)
	}
	if es := e.events(milogin.AuditFilter{Type: milogin.EventAccountDeactivated}); len(es) != 0 {
		t.Fatal("a cross-site form deactivated the account")
	}
}

func TestHelpDeskActions(t *testing.T) {
	e := newEnv(t)
	e.staff("help@michigan.gov", true, milogin.StaffGrant{Role: milogin.RoleHelpDesk})
	c := e.signIn("help@michigan.gov")
	a := e.resident("smithj0001", milogin.ThirdParty)
	lockedUntil := e.clock.Now().Add(20 * time.Minute)
	e.write(func(tx milogin.Tx) error {
		_, err := tx.Accounts().Update(t.Context(), a.ID, func(x *milogin.Account) error {
			x.FailedLogins, x.LockedUntil = 5, lockedUntil
			return nil
		})
		return err
	})

	// The search finds the account by any field, case-insensitively.
	for field, q := range map[string]string{"user_id": "SMITHJ", "email": "smithj0001@", "name": "smith, jo", "phone": "(517) 555"} {
		body := e.get(c, "/admin/accounts?"+url.Values{"q": {q}, "field": {field}}.Encode(), http.StatusOK)
		if !strings.Contains(body, "/admin/accounts/"+a.ID) {
			t.Errorf("search %s %q does not find the account", field, q)
		}
	}
	for _, q := range []url.Values{{"q": {"s"}, "field": {"user_id"}}, {"q": {"smith"}, "field": {"bogus"}}, {"q": {"12"}, "field": {"phone"}}, {"q": {strings.Repeat("a", 101)}, "field": {"name"}}, {"q": {"smith"}, "field": {"name"}, "after": {"%%%"}}} {
		e.get(c, "/admin/accounts?"+q.Encode(), http.StatusUnprocessableEntity)
	}

	page := e.get(c, "/admin/accounts/"+a.ID, http.StatusOK)
	for _, want := range []string{"Locked until", "***-***-0101", "s********1@example.org", "40 days", "Chrome on Windows", "192.0.2.7"} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if strings.Contains(page, a.Email) {
		t.Error("the account page shows the email unmasked")
	}

	// No reason: nothing happens, the form says why.
	body := e.post(c, "/admin/accounts/"+a.ID+"/unlock", url.Values{"reason-unlock": {"  "}}, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Reason is required.") {
		t.Fatal("a missing reason is not named")
	}
	e.post(c, "/admin/accounts/"+a.ID+"/unlock", url.Values{"reason-unlock": {"Caller verified by user ID and email"}}, http.StatusSeeOther)
	// Unlocking again: the account is not locked.
	e.post(c, "/admin/accounts/"+a.ID+"/unlock", url.Values{"reason-unlock": {"again"}}, http.StatusConflict)

	es := e.events(milogin.AuditFilter{SubjectID: a.ID, Type: milogin.EventUnlock})
	if len(es) != 1 || es[0].Reason != "Caller verified by user ID and email" || es[0].ActorName != "Helen Desk" || es[0].ActorKind != milogin.ActorStaff || es[0].SubjectUserID != "smithj0001" {
		t.Fatalf("unlock event: %+v", es)
	}

	e.post(c, "/admin/accounts/"+a.ID+"/deactivate", url.Values{"reason-deactivate": {"Owner asked to deactivate"}}, http.StatusSeeOther)
	var got *milogin.Account
	var sessions []*milogin.Session
	e.store.Read(t.Context(), func(tx milogin.Tx) (err error) {
		if got, err = tx.Accounts().Get(t.Context(), a.ID); err != nil {
			return err
		}
		sessions, err = tx.Sessions().ListByAccount(t.Context(), a.ID)
		return err
	})
	if got.Status != milogin.StatusDeactivated || len(sessions) != 0 {
		t.Fatalf("after deactivate: status %s, %d sessions", got.Status, len(sessions))
	}
	e.post(c, "/admin/accounts/"+a.ID+"/send-reset", url.Values{"reason-send-reset": {"asked"}}, http.StatusConflict)
	e.post(c, "/admin/accounts/"+a.ID+"/reactivate", url.Values{"reason-reactivate": {"Owner called back"}}, http.StatusSeeOther)
	e.post(c, "/admin/accounts/"+a.ID+"/resend-user-id", url.Values{"reason-resend-user-id": {"Forgot the user ID"}}, http.StatusSeeOther)
	e.post(c, "/admin/accounts/"+a.ID+"/send-reset", url.Values{"reason-send-reset": {"Forgot the password"}}, http.StatusSeeOther)

	subjects := map[string]bool{}
	for _, m := range e.mail(a.Email) {
		subjects[m.Subject] = true
		if m.Subject == "Reset your MILogin password" && !strings.Contains(m.Text, "/thirdparty/forgot-password/link?t=") {
			t.Errorf("reset email has no link:\n%s", m.Text)
		}
	}
	if len(e.mail(a.Email)) != 5 {
		t.Errorf("%d emails to the owner, want 5 (unlock, deactivate, reactivate, user ID, reset)", len(e.mail(a.Email)))
	}
	for _, typ := range []string{milogin.EventAccountDeactivated, milogin.EventReactivated, milogin.EventUserIDResent, milogin.EventResetSent} {
		if es := e.events(milogin.AuditFilter{SubjectID: a.ID, Type: typ}); len(es) != 1 || es[0].Reason == "" {
			t.Errorf("%s: %d events (want 1 with a reason)", typ, len(es))
		}
	}

	// The audit search finds the staff member's actions by actor and subject.
	body = e.get(c, "/admin/audit?"+url.Values{"actor": {"help@michigan.gov"}, "subject": {"thirdparty:smithj0001"}}.Encode(), http.StatusOK)
	if !strings.Contains(body, "Caller verified by user ID and email") || !strings.Contains(body, "Helen Desk (staff)") {
		t.Fatalf("audit search:\n%s", body)
	}
	e.get(c, "/admin/audit?since=yesterday", http.StatusUnprocessableEntity)
	e.get(c, "/admin/audit?subject=mars:bob", http.StatusUnprocessableEntity)
}

func TestAppAdminDecides(t *testing.T) {
	e := newEnv(t)
	e.write(func(tx milogin.Tx) error {
		return tx.Apps().Create(t.Context(), &milogin.Application{ID: "grants", Name: "Grants Portal", Portals: []milogin.PortalID{milogin.ThirdParty},
			Approval: milogin.ApprovalRequired, TermsText: "Be nice.", TermsVersion: 2, Client: milogin.Client{ID: "grants", SecretHash: "x"}})
	})
	a := e.resident("smithj0001", milogin.ThirdParty)
	b := e.resident("doej0001", milogin.ThirdParty)
	e.write(func(tx milogin.Tx) error {
		for _, x := range []*milogin.Account{a, b} {
			if err := tx.Grants().Put(t.Context(), &milogin.Grant{AppID: "grants", AccountID: x.ID, Status: milogin.GrantPending, RequestedAt: e.clock.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	e.staff("apps@michigan.gov", true, milogin.StaffGrant{Role: milogin.RoleAppAdmin, AppID: "grants"})
	c := e.signIn("apps@michigan.gov")
	page := e.get(c, "/admin/access", http.StatusOK)
	if !strings.Contains(page, "smithj0001") || !strings.Contains(page, "version 2") {
		t.Fatalf("queue:\n%s", page)
	}
	e.post(c, "/admin/access/grants/"+a.ID+"/approve", url.Values{}, http.StatusSeeOther)
	body := e.post(c, "/admin/access/grants/"+b.ID+"/deny", url.Values{}, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Reason is required.") {
		t.Fatal("deny without a reason is not refused")
	}
	e.post(c, "/admin/access/grants/"+b.ID+"/deny", url.Values{"reason-grants-" + b.ID + "-deny": {"Not a grantee"}}, http.StatusSeeOther)
	e.post(c, "/admin/access/grants/"+a.ID+"/revoke", url.Values{"reason-grants-" + a.ID + "-revoke": {"Left the agency"}}, http.StatusSeeOther)
	if len(e.mail(a.Email)) != 2 || len(e.mail(b.Email)) != 1 {
		t.Fatalf("emails: %d to a (approved, revoked), %d to b (denied)", len(e.mail(a.Email)), len(e.mail(b.Email)))
	}
	es := e.events(milogin.AuditFilter{SubjectID: b.ID, Type: milogin.EventAccessDenied})
	if len(es) != 1 || es[0].Reason != "Not a grantee" || es[0].ActorKind != milogin.ActorStaff {
		t.Fatalf("denied event: %+v", es)
	}
}

func TestSecurityAdmin(t *testing.T) {
	e := newEnv(t)
	e.write(func(tx milogin.Tx) error {
		return tx.Apps().Create(t.Context(), &milogin.Application{ID: "grants", Name: "Grants Portal", Portals: []milogin.PortalID{milogin.ThirdParty},
			Client: milogin.Client{ID: "grants", SecretHash: "x"}})
	})
	e.staff("sec@michigan.gov", true, milogin.StaffGrant{Role: milogin.RoleSecurity})
	c := e.signIn("sec@michigan.gov")
	body := e.post(c, "/admin/security/apps/grants/rotate-secret", url.Values{}, http.StatusOK)
	m := regexp.MustCompile(`id="new-secret">([^<]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no secret shown")
	}
	var app *milogin.Application
	e.store.Read(t.Context(), func(tx milogin.Tx) (err error) { app, err = tx.Apps().Get(t.Context(), "grants"); return err })
	if ok, _, _ := e.svc.Staff.Hasher.Verify(t.Context(), app.Client.SecretHash, m[1]); !ok {
		t.Fatal("the shown secret is not the stored one")
	}
	if strings.Contains(e.get(c, "/admin/security/apps", http.StatusOK), m[1]) {
		t.Fatal("the secret is shown again")
	}
	pol := e.get(c, "/admin/security/policies", http.StatusOK)
	for _, want := range []string{"Composition rules", "Password expiry", "Security questions", "profile nist-800-63b-4"} {
		if !strings.Contains(pol, want) {
			t.Errorf("policies page lacks %q", want)
		}
	}
	// Applications: register (secret shown once), change, remove.
	appForm := url.Values{"id": {"permits"}, "name": {"Permits"}, "portal": {"thirdparty"}, "approval": {"approval"}, "mfa": {"daily"},
		"redirect_uris": {"http://permits.example.gov/callback"}, "terms": {"Version one."}}
	body = e.post(c, "/admin/security/apps", appForm, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "https") || !strings.Contains(body, "http://permits.example.gov/callback</textarea>") {
		t.Fatalf("an http redirect URI:\n%s", body)
	}
	appForm.Set("redirect_uris", "https://permits.example.gov/callback")
	body = e.post(c, "/admin/security/apps", appForm, http.StatusOK)
	m = regexp.MustCompile(`id="new-secret">([^<]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret for the new client:\n%s", body)
	}
	e.post(c, "/admin/security/apps", appForm, http.StatusConflict) // the ID is taken
	appForm.Set("name", "Permits Online")
	appForm.Set("terms", "Version two.")
	e.post(c, "/admin/security/apps/permits", appForm, http.StatusOK)
	var permits *milogin.Application
	e.store.Read(t.Context(), func(tx milogin.Tx) (err error) { permits, err = tx.Apps().Get(t.Context(), "permits"); return err })
	if permits.Name != "Permits Online" || permits.TermsVersion != 2 || permits.MFA != milogin.MFADaily {
		t.Fatalf("changed application: %+v", permits)
	}
	if ok, _, _ := e.svc.Staff.Hasher.Verify(t.Context(), permits.Client.SecretHash, m[1]); !ok {
		t.Fatal("the change lost the client secret")
	}
	e.get(c, "/admin/security/apps/permits", http.StatusOK)
	e.get(c, "/admin/security/apps/new", http.StatusOK)
	e.post(c, "/admin/security/apps/permits/remove", url.Values{}, http.StatusOK)
	e.get(c, "/admin/security/apps/permits", http.StatusNotFound)

	// Portal policies: bounds named and input kept; the profile's
	// defaults filled in; a saved policy audited and applied at start.
	form := url.Values{"profile": {"nist-800-63b-4"}, "min_length": {"6"}, "max_length": {"128"}, "classes": {"0"}, "history": {"3"},
		"max_age_days": {"0"}, "lockout_threshold": {"5"}, "lockout_minutes": {"30"}, "max_failures_hour": {"500"},
		"inactivity_months": {"18"}, "idle_minutes": {"30"}, "absolute_hours": {"12"}, "action": {"save"}}
	body = e.post(c, "/admin/security/policies/citizen", form, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "from 8 to 64") || !strings.Contains(body, "from 1 to 100") || !strings.Contains(body, `id="citizen-min_length" name="min_length" value="6"`) {
		t.Fatalf("policy errors:\n%s", body)
	}
	form.Set("action", "defaults")
	if body = e.post(c, "/admin/security/policies/citizen", form, http.StatusOK); !strings.Contains(body, `id="citizen-min_length" name="min_length" value="15"`) {
		t.Fatal("the NIST defaults are not filled in")
	}
	form.Set("action", "save")
	form.Set("min_length", "15")
	form.Set("max_failures_hour", "100")
	if body = e.post(c, "/admin/security/policies/citizen", form, http.StatusOK); !strings.Contains(body, "was saved") {
		t.Fatalf("policy not saved:\n%s", body)
	}
	if es := e.events(milogin.AuditFilter{Type: milogin.EventPolicyChanged}); len(es) != 1 || !strings.Contains(es[0].Detail["changed"], "min_length 8→15") || es[0].ActorKind != milogin.ActorStaff {
		t.Fatalf("policy event: %+v", es)
	}
	// In force on this node at once, and on another node (another
	// authn.Service on the same database) once it loads the policies.
	node2 := authn.NewService(e.store, authn.NewHasher(fastParams, 0), authn.NewCodeHasher(make([]byte, 32)))
	if p, _ := node2.Portal(milogin.Citizen); p.Policy.PasswordMinLength != 8 {
		t.Fatalf("another node before loading: %+v", p.Policy)
	}
	if err := node2.LoadPolicies(t.Context()); err != nil {
		t.Fatal(err)
	}
	for node, auth := range map[string]*authn.Service{"this node": e.svc.Residents, "another node": node2} {
		if p, _ := auth.Portal(milogin.Citizen); p.Policy.PasswordMinLength != 15 || p.Policy.PasswordClasses != 0 || p.Policy.Profile != "nist-800-63b-4" || p.Policy.SecurityQuestions {
			t.Fatalf("%s: citizen policy %+v", node, p.Policy)
		}
		if p, _ := auth.Portal(milogin.ThirdParty); p.Policy.PasswordMinLength != 8 {
			t.Fatalf("%s: another portal's policy changed", node)
		}
	}
	if p, _ := e.svc.Staff.Portal(milogin.Staff); p.Policy != milogin.StaffPortal().Policy {
		t.Fatal("the staff portal's policy changed")
	}
	if body = e.get(c, "/admin/security/policies", http.StatusOK); strings.Contains(body, "not yet in force") || !strings.Contains(body, `id="citizen-min_length" name="min_length" value="15"`) {
		t.Fatalf("the policies page after the change:\n%s", body)
	}

	body = e.post(c, "/admin/security/staff", url.Values{"email": {"bad"}, "name": {""}, "role": {"appadmin"}}, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "valid work email") || !strings.Contains(body, "needs an application") || !strings.Contains(body, `value="bad"`) {
		t.Fatalf("staff form errors:\n%s", body)
	}
	body = e.post(c, "/admin/security/staff", url.Values{"email": {"new@michigan.gov"}, "name": {"New Person"}, "role": {"appadmin"}, "app": {"grants"}}, http.StatusOK)
	if !strings.Contains(body, "/admin/enrol?t=") || !strings.Contains(body, "appadmin (grants)") {
		t.Fatalf("staff added:\n%s", body)
	}

	// Staff changes: not on oneself; deactivate ends the other's console
	// session; a new enrolment link clears the authenticator.
	e.staff("help@michigan.gov", false, milogin.StaffGrant{Role: milogin.RoleHelpDesk})
	helper := e.signIn("help@michigan.gov")
	var me, other string
	e.store.Read(t.Context(), func(tx milogin.Tx) error {
		a, _ := tx.Accounts().GetByUserID(t.Context(), milogin.Staff, "sec@michigan.gov")
		b, err := tx.Accounts().GetByUserID(t.Context(), milogin.Staff, "help@michigan.gov")
		me, other = a.ID, b.ID
		return err
	})
	e.post(c, "/admin/security/staff/"+me+"/deactivate", url.Values{}, http.StatusForbidden)
	e.post(c, "/admin/security/staff/"+other+"/deactivate", url.Values{}, http.StatusOK)
	if resp, _ := e.do(helper, http.MethodGet, "/admin/accounts", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a deactivated staff member's session still works: %d", resp.StatusCode)
	}
	e.post(c, "/admin/security/staff/"+other+"/reactivate", url.Values{}, http.StatusOK)
	e.post(c, "/admin/security/staff/"+other+"/remove-role", url.Values{"role": {"helpdesk"}}, http.StatusOK)
	e.post(c, "/admin/security/staff/"+other+"/remove-role", url.Values{"role": {"helpdesk"}}, http.StatusConflict)
	body = e.post(c, "/admin/security/staff/"+other+"/reenrol", url.Values{}, http.StatusOK)
	if !strings.Contains(body, "/admin/enrol?t=") {
		t.Fatal("no new enrolment link")
	}
	e.post(e.client(), "/admin/login", url.Values{"email": {"help@michigan.gov"}, "password": {staffPassword}}, http.StatusUnauthorized)
}

func TestDeviations(t *testing.T) {
	if d := admin.Deviations(milogin.NISTPolicy()); len(d) != 0 {
		t.Errorf("NIST profile departs from NIST: %+v", d)
	}
	if d := admin.Deviations(milogin.DefaultPolicy()); len(d) != 4 {
		t.Errorf("milogin profile: %d departures, want 4 (length, composition, expiry, questions): %+v", len(d), d)
	}
}

func TestExportAndRetention(t *testing.T) {
	e := newEnv(t)
	a := e.resident("smithj0001", milogin.Citizen)
	old := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	e.write(func(tx milogin.Tx) error {
		for _, ev := range []*milogin.AuditEvent{
			{Time: old, Type: milogin.EventSignIn, Portal: milogin.Citizen, ActorID: a.ID, SubjectID: a.ID},
			{Time: e.clock.Now(), Type: milogin.EventUnlock, Portal: milogin.Citizen, ActorID: "system", SubjectID: a.ID, Reason: "why"},
			{Time: e.clock.Now(), Type: milogin.EventSignIn, Portal: milogin.ThirdParty, ActorID: "x", SubjectID: "y"},
		} {
			if err := tx.Audit().Append(t.Context(), ev); err != nil {
				return err
			}
		}
		return nil
	})
	var buf bytes.Buffer
	n, err := e.svc.ExportAudit(t.Context(), &buf, admin.ExportFilter{Since: old.Add(-time.Hour), Portal: milogin.Citizen}, admin.Actor{ID: "cli"})
	if err != nil || n != 2 {
		t.Fatalf("export: %d, %v", n, err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	for _, k := range []string{"id", "time", "type", "portal", "actor_kind", "actor_id", "actor_name", "subject_id", "subject_user_id", "ip", "user_agent", "reason", "detail"} {
		if _, ok := first[k]; !ok {
			t.Errorf("export line lacks %q: %s", k, lines[0])
		}
	}
	if first["type"] != milogin.EventSignIn || first["actor_kind"] != "person" || second["reason"] != "why" || first["subject_user_id"] != "smithj0001" {
		t.Errorf("export lines:\n%s", buf.String())
	}
	if es := e.events(milogin.AuditFilter{Type: milogin.EventAuditExported}); len(es) != 1 {
		t.Error("the export is not audited")
	}

	if _, err := e.svc.ExpireAudit(t.Context(), 30*24*time.Hour); !milogin.IsKind(err, milogin.EINVALID) {
		t.Fatalf("a 30-day retention: %v, want EINVALID", err)
	}
	// The clock of the test is mid-2026; the database's own clock decides
	// what is a year old, so the 2018 event is the one that goes.
	n, err = e.svc.ExpireAudit(t.Context(), admin.DefaultRetention)
	if err != nil || n != 1 {
		t.Fatalf("retention sweep: %d, %v", n, err)
	}
	es := e.events(milogin.AuditFilter{Type: milogin.EventAuditExpired})
	if len(es) != 1 || es[0].Detail["deleted"] != "1" {
		t.Fatalf("the sweep is not audited: %+v", es)
	}
	if n, _ := e.svc.ExpireAudit(t.Context(), admin.DefaultRetention); n != 0 || len(e.events(milogin.AuditFilter{Type: milogin.EventAuditExpired})) != 1 {
		t.Fatal("a sweep with nothing to delete records a deletion")
	}
}

// The FAQ's "disabled after 18 months": the sign-in disables the account,
// the help desk reactivates it, and the next sign-in works (reactivation
// restarts the inactivity period instead of disabling it again at once).
func TestReactivateAccountDisabledByInactivity(t *testing.T) {
	e := newEnv(t)
	const pw = "Mitten!State26"
	a, err := e.svc.Residents.CreateAccount(t.Context(), authn.NewAccount{Portal: milogin.Citizen, UserID: "oldtimer", FirstName: "Olive", LastName: "Old",
		Email: "olive@example.org", Password: pw}, "test", authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(19 * 30 * 24 * time.Hour)
	if _, err := e.svc.Residents.SignIn(t.Context(), milogin.Citizen, "oldtimer", pw, authn.Meta{}); !milogin.IsKind(err, milogin.ELOCKED) {
		t.Fatalf("sign-in after 19 months: %v, want the disabled refusal", err)
	}
	if err := e.svc.Act(t.Context(), admin.Actor{ID: "cli"}, a.ID, admin.ActReactivate, "Caller verified"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Residents.SignIn(t.Context(), milogin.Citizen, "oldtimer", pw, authn.Meta{}); err != nil {
		t.Fatalf("sign-in after reactivation: %v", err)
	}
	es := e.events(milogin.AuditFilter{SubjectID: a.ID, Type: milogin.EventReactivated})
	if len(es) != 1 || es[0].Detail["was"] != string(milogin.StatusDisabled) || es[0].Reason != "Caller verified" {
		t.Fatalf("reactivation event: %+v", es)
	}
	// Staff accounts are not the help desk's to change.
	e.staff("help@michigan.gov", true, milogin.StaffGrant{Role: milogin.RoleHelpDesk})
	var staffID string
	e.store.Read(t.Context(), func(tx milogin.Tx) error {
		s, err := tx.Accounts().GetByUserID(t.Context(), milogin.Staff, "help@michigan.gov")
		staffID = s.ID
		return err
	})
	if err := e.svc.Act(t.Context(), admin.Actor{ID: "cli"}, staffID, admin.ActDeactivate, "no"); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Fatalf("deactivating a staff account through the help desk: %v, want ENOTFOUND", err)
	}
}
