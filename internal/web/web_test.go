package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/clocktest"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
	"milogin/internal/web"
)

var fastParams = authn.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "Mitten!State26"

type env struct {
	srv   *httptest.Server
	auth  *authn.Service
	store milogin.Store
	clk   *clocktest.Clock
}

func newEnv(t *testing.T, demo bool) *env {
	t.Helper()
	return newEnvWith(t, demo, nil)
}

// newEnvWith is newEnv with a last say on the configuration (may be nil).
func newEnvWith(t *testing.T, demo bool, configure func(*web.Config)) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/milogin.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := clocktest.New(time.Now().UTC())
	auth := authn.NewService(store, authn.NewHasher(fastParams, 0), authn.NewCodeHasher(make([]byte, 32)))
	auth.Now = clk.Now
	_, err = auth.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: "smithj0001",
		FirstName: "John", LastName: "Smith", Email: "john.smith@example.org", Password: goodPassword}, "test", authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	setHelpDesk(auth)
	e := &env{auth: auth, store: store, clk: clk}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	cfg := web.Config{Auth: auth, Store: store, BaseURL: srv.URL, Demo: demo, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)}
	if configure != nil {
		configure(&cfg)
	}
	h, err := web.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	t.Cleanup(srv.Close)
	e.srv = srv
	return e
}

// client returns a browser-like client: a cookie jar, no automatic redirects.
func (e *env) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	status int
	body   string
	header http.Header
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b), res.Header}
}

func (e *env) login(t *testing.T, c *http.Client, userID, pw string) resp {
	t.Helper()
	return do(t, c, "POST", e.srv.URL+"/thirdparty/login", url.Values{"user_id": {userID}, "password": {pw}})
}

func TestLoginPageHasTheGuideWording(t *testing.T) {
	e := newEnv(t, false)
	r := do(t, e.client(t), "GET", e.srv.URL+"/thirdparty/login", nil)
	for _, want := range []string{"MILogin for Third Party", `<label for="user_id">User ID</label>`, `<label for="password">Password</label>`,
		">LOGIN<", "Don't have an account?", ">SIGN UP<", "Forgot your User ID?", "Forgot your password?", "Need Help?"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, false)
	r := do(t, e.client(t), "GET", e.srv.URL+"/thirdparty/login", nil)
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "form-action") {
		t.Errorf("CSP %q must not allow inline code nor restrict form-action", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "same-origin"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

func TestSignInSetsHardenedCookieAndRotatesIt(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	r := e.login(t, c, "smithj0001", goodPassword)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/thirdparty/home" {
		t.Fatalf("login: %d %s", r.status, r.header.Get("Location"))
	}
	set := r.header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("cookie %q lacks %s", set, want)
		}
	}
	home := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	if !strings.Contains(home.body, "Home Page of John Smith") || !strings.Contains(home.body, "Your password will expire in 360 days") {
		t.Errorf("home page:\n%s", home.body)
	}
	for _, want := range []string{">HOME<", ">CHANGE PASSWORD<", ">LOGOUT<", "Access your applications by clicking on the application links below"} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/m.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	auth := authn.NewService(store, authn.NewHasher(fastParams, 0), authn.NewCodeHasher(make([]byte, 32)))
	auth.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: "smithj0001", FirstName: "John", LastName: "Smith", Email: "j@example.org", Password: goodPassword}, "t", authn.Meta{})
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	h, err := web.NewServer(web.Config{Auth: auth, Store: store, BaseURL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r := do(t, c, "POST", srv.URL+"/thirdparty/login", url.Values{"user_id": {"smithj0001"}, "password": {goodPassword}})
	set := r.header.Get("Set-Cookie")
	if !strings.HasPrefix(set, "__Host-milogin-thirdparty=") || !strings.Contains(set, "Secure") {
		t.Errorf("cookie over TLS = %q, want __Host- prefix and Secure", set)
	}
	if r.header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
}

func TestWrongPasswordRedisplaysUserIDNotPassword(t *testing.T) {
	e := newEnv(t, false)
	r := e.login(t, e.client(t), "smithj0001", "Wrong!Secret99")
	if r.status != http.StatusUnauthorized {
		t.Errorf("status = %d", r.status)
	}
	if !strings.Contains(r.body, authn.MsgBadCredentials) || !strings.Contains(r.body, `value="smithj0001"`) {
		t.Errorf("page lacks the message or the typed user ID")
	}
	if strings.Contains(r.body, "Wrong!Secret99") {
		t.Error("password echoed back")
	}
	r = e.login(t, e.client(t), "", "")
	if !strings.Contains(r.body, "User ID is required.") || !strings.Contains(r.body, "Password is required.") || r.status != http.StatusBadRequest {
		t.Errorf("empty form: %d", r.status)
	}
}

func TestLockoutShownOnPage(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	for range 4 {
		e.login(t, c, "smithj0001", "Wrong!Secret99")
	}
	r := e.login(t, c, "smithj0001", "Wrong!Secret99")
	if !strings.Contains(r.body, "Your account is locked") || !strings.Contains(r.body, "30 minutes") {
		t.Errorf("fifth failure page lacks the locked message")
	}
	r = e.login(t, c, "smithj0001", goodPassword)
	if !strings.Contains(r.body, "Your account is locked") {
		t.Error("correct password accepted while locked")
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t, false)
	req, _ := http.NewRequest("POST", e.srv.URL+"/thirdparty/login", strings.NewReader("user_id=smithj0001&password="+url.QueryEscape(goodPassword)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", res.StatusCode)
	}
	if len(res.Cookies()) != 0 {
		t.Error("cross-site POST started a session")
	}
}

func TestOversizedAndMalformedForms(t *testing.T) {
	e := newEnv(t, false)
	big := url.Values{"user_id": {strings.Repeat("a", 70<<10)}, "password": {"x"}}
	if r := do(t, e.client(t), "POST", e.srv.URL+"/thirdparty/login", big); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized form: %d", r.status)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/thirdparty/login", strings.NewReader("user_id=%zz"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed form: %d", res.StatusCode)
	}
	if r := do(t, e.client(t), "GET", e.srv.URL+"/nowhere/login", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown portal: %d", r.status)
	}
}

func TestHomeNeedsSessionAndNextStaysLocal(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	r := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/thirdparty/login?next=") {
		t.Fatalf("anonymous home: %d %s", r.status, r.header.Get("Location"))
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/citizen/home", "/thirdparty/logout"} {
		r := do(t, e.client(t), "POST", e.srv.URL+"/thirdparty/login", url.Values{"user_id": {"smithj0001"}, "password": {goodPassword}, "next": {next}})
		// Each client is new, so a takeover prompt may come first; either way
		// the redirect stays inside the portal.
		if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/thirdparty/") || strings.Contains(loc, "evil") {
			t.Errorf("next=%q redirected to %q", next, loc)
		}
	}
}

func TestTakeoverAndLogout(t *testing.T) {
	e := newEnv(t, false)
	first, second := e.client(t), e.client(t)
	e.login(t, first, "smithj0001", goodPassword)
	r := e.login(t, second, "smithj0001", goodPassword)
	if r.header.Get("Location") != "/thirdparty/login/active-session" {
		t.Fatalf("second sign-in went to %q", r.header.Get("Location"))
	}
	page := do(t, second, "GET", e.srv.URL+"/thirdparty/login/active-session", nil)
	for _, want := range []string{"Your MILogin User ID already has an active session.", "If you choose to continue, the existing MILogin session will be logged out and any unsaved changes will be lost.", "Select from the following options:", "Logout the other session and continue with a new session", ">OK<", ">Cancel<"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("warning page lacks %q", want)
		}
	}
	if r := do(t, second, "POST", e.srv.URL+"/thirdparty/login/active-session", url.Values{}); !strings.Contains(r.body, "Select one of the options") {
		t.Error("no choice accepted")
	}
	r = do(t, second, "POST", e.srv.URL+"/thirdparty/login/active-session", url.Values{"choice": {"continue"}})
	if r.header.Get("Location") != "/thirdparty/home" {
		t.Fatalf("continue went to %q", r.header.Get("Location"))
	}
	if r := do(t, first, "GET", e.srv.URL+"/thirdparty/home", nil); r.status != http.StatusSeeOther {
		t.Error("the other session survived the takeover")
	}
	if r := do(t, second, "GET", e.srv.URL+"/thirdparty/home", nil); r.status != http.StatusOK {
		t.Fatalf("new session home: %d", r.status)
	}
	r = do(t, second, "POST", e.srv.URL+"/thirdparty/logout", url.Values{})
	if r.header.Get("Location") != "/thirdparty/login?m=logged-out" {
		t.Errorf("logout went to %q", r.header.Get("Location"))
	}
	if r := do(t, second, "GET", e.srv.URL+"/thirdparty/login?m=logged-out", nil); !strings.Contains(r.body, "You have been logged out.") {
		t.Error("no logged-out notice")
	}
	if r := do(t, second, "GET", e.srv.URL+"/thirdparty/home", nil); r.status != http.StatusSeeOther {
		t.Error("home reachable after logout")
	}
}

func TestChangePasswordPage(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	e.login(t, c, "smithj0001", goodPassword)
	p := do(t, c, "GET", e.srv.URL+"/thirdparty/change-password", nil)
	for _, want := range []string{"Enter Current Password", "Enter New Password", "Confirm New Password", ">SUBMIT<", ">RESET<", "Password Guidelines:", "Must be at least 8 characters in length", "Should not be based on your User ID"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("change password page lacks %q", want)
		}
	}
	r := do(t, c, "POST", e.srv.URL+"/thirdparty/change-password", url.Values{"current_password": {goodPassword}, "new_password": {"short"}, "confirm_password": {"short"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "at least 8 characters") || !strings.Contains(r.body, "3 of the following categories") {
		t.Errorf("weak password: %d", r.status)
	}
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/change-password", url.Values{"current_password": {goodPassword}, "new_password": {"Lake#Huron1987"}, "confirm_password": {"Lake#Huron1987"}})
	if r.header.Get("Location") != "/thirdparty/change-password/done" {
		t.Fatalf("change went to %q (%d)", r.header.Get("Location"), r.status)
	}
	if r := do(t, c, "GET", e.srv.URL+"/thirdparty/change-password/done", nil); !strings.Contains(r.body, "Your password has been successfully updated.") {
		t.Error("no confirmation")
	}
}

func TestExpiredPasswordForcesChange(t *testing.T) {
	e := newEnv(t, false)
	e.clk.Add(361 * 24 * time.Hour)
	c := e.client(t)
	r := e.login(t, c, "smithj0001", goodPassword)
	if r.header.Get("Location") != "/thirdparty/change-password" {
		t.Fatalf("expired password went to %q", r.header.Get("Location"))
	}
	if r := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil); r.status != http.StatusSeeOther {
		t.Error("home reachable with an expired password")
	}
	p := do(t, c, "GET", e.srv.URL+"/thirdparty/change-password", nil)
	if !strings.Contains(p.body, "Please enter new password to reset your expired password.") {
		t.Error("no expired-password text")
	}
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/change-password", url.Values{"current_password": {goodPassword}, "new_password": {"Lake#Huron1987"}, "confirm_password": {"Lake#Huron1987"}})
	if r.header.Get("Location") != "/thirdparty/change-password/done" {
		t.Fatalf("went to %q", r.header.Get("Location"))
	}
	if r := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil); r.status != http.StatusOK {
		t.Errorf("home after change: %d", r.status)
	}
}

func TestMailboxOnlyInDemo(t *testing.T) {
	off := newEnv(t, false)
	if r := do(t, off.client(t), "GET", off.srv.URL+"/dev/mailbox", nil); r.status != http.StatusNotFound {
		t.Errorf("mailbox outside demo mode: %d", r.status)
	}
	on := newEnv(t, true)
	c := on.client(t)
	for range 5 {
		on.login(t, c, "smithj0001", "Wrong!Secret99")
	}
	r := do(t, c, "GET", on.srv.URL+"/dev/mailbox", nil)
	if !strings.Contains(r.body, "john.smith@example.org") || !strings.Contains(r.body, "Regarding your MILogin user account") {
		t.Errorf("mailbox lacks the lockout email:\n%s", r.body)
	}
}

func TestHealthAndReady(t *testing.T) {
	e := newEnv(t, false)
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := do(t, e.client(t), "GET", e.srv.URL+p, nil); r.status != http.StatusOK {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	e.store.Close()
	if r := do(t, e.client(t), "GET", e.srv.URL+"/readyz", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed: %d", r.status)
	}
}

func TestContinueAsksForFreshSignInWhenForced(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	c := e.client(t)
	e.login(t, c, "smithj0001", goodPassword)
	e.clk.Add(time.Minute)
	now := e.clk.Now()
	err := e.store.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.Apps().Create(ctx, &milogin.Application{ID: "app1", Name: "App One", Portals: []milogin.PortalID{milogin.ThirdParty},
			Approval: milogin.ApprovalOpen, MFA: milogin.MFANone, Client: milogin.Client{ID: "client1"}, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.LoginRequests().Create(ctx, &milogin.LoginRequest{ID: "req1", Protocol: "oidc", Portal: milogin.ThirdParty, AppID: "app1",
			CallbackURL: "/thirdparty/authorize/callback?id=req1", ForceLogin: true, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, c, "GET", e.srv.URL+"/thirdparty/continue?login=req1", nil)
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/thirdparty/login?reauth=1&next=") {
		t.Fatalf("forced continue with an old session went to %d %q", r.status, loc)
	}
	page := do(t, c, "GET", e.srv.URL+loc, nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, "sign in again") {
		t.Fatalf("reauth page: %d", page.status)
	}
	r = do(t, c, "POST", e.srv.URL+"/thirdparty/login", url.Values{"user_id": {"smithj0001"}, "password": {goodPassword}, "next": {"/thirdparty/continue?login=req1"}})
	if loc := r.header.Get("Location"); loc != "/thirdparty/continue?login=req1" {
		t.Fatalf("fresh sign-in went to %q (the browser's own session must not prompt a takeover)", loc)
	}
	e.clk.Add(time.Second)
	r = do(t, c, "GET", e.srv.URL+"/thirdparty/continue?login=req1", nil)
	if r.header.Get("Location") != "/thirdparty/authorize/callback?id=req1" {
		t.Fatalf("continue after the fresh sign-in went to %q", r.header.Get("Location"))
	}
	err = e.store.Read(ctx, func(tx milogin.Tx) error {
		req, err := tx.LoginRequests().Get(ctx, "req1")
		if err != nil {
			return err
		}
		if !req.Done() || req.AuthTime.Before(req.CreatedAt) {
			t.Errorf("request done=%v auth_time=%v created=%v", req.Done(), req.AuthTime, req.CreatedAt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOverloadedSignInGets503: with every hash slot taken and no room in the
// queue, a new sign-in is answered 503 with Retry-After and the busy
// message on the sign-in form (user ID kept), while a signed-in page still
// works; once a slot frees, the same sign-in succeeds.
func TestOverloadedSignInGets503(t *testing.T) {
	e := newEnv(t, false)
	signedIn := e.client(t)
	if r := e.login(t, signedIn, "smithj0001", goodPassword); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in before the overload: %d", r.status)
	}
	e.auth.Hasher.SetMaxWaiting(0)
	var releases []func()
	for range e.auth.Hasher.Slots() {
		release, err := e.auth.Hasher.Reserve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	r := e.login(t, e.client(t), "smithj0001", goodPassword)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "60" {
		t.Errorf("overloaded sign-in: %d, Retry-After %q; want 503, 60", r.status, r.header.Get("Retry-After"))
	}
	if !strings.Contains(r.body, "MILogin is very busy. Please try again in a minute.") || !strings.Contains(r.body, `value="smithj0001"`) {
		t.Errorf("the busy page lacks the message or the typed user ID")
	}
	if strings.Contains(r.body, goodPassword) {
		t.Error("password echoed back")
	}
	if r := do(t, signedIn, "GET", e.srv.URL+"/thirdparty/home", nil); r.status != http.StatusOK {
		t.Errorf("signed-in home while overloaded: %d", r.status)
	}
	for _, release := range releases {
		release()
	}
	if r := e.login(t, e.client(t), "smithj0001", goodPassword); r.status != http.StatusSeeOther {
		t.Errorf("sign-in after the overload: %d", r.status)
	}
}

// TestMenuMarksTheCurrentPage: the banner is kept rendered per portal and
// current menu item; each page still marks itself, and only itself, as
// current, and a signed-out page has no menu.
func TestMenuMarksTheCurrentPage(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	e.login(t, c, "smithj0001", goodPassword)
	pages := map[string]string{"/home": "HOME", "/update-profile": "UPDATE PROFILE", "/change-password": "CHANGE PASSWORD", "/activity": "YOUR ACTIVITY"}
	for range 2 { // the second time from the kept banners
		for path, label := range pages {
			r := do(t, c, "GET", e.srv.URL+"/thirdparty"+path, nil)
			want := `<a href="/thirdparty` + path + `" aria-current="page">` + label + `</a>`
			if r.status != http.StatusOK || !strings.Contains(r.body, want) || strings.Count(r.body, `aria-current="page"`) != 1 {
				t.Errorf("%s: status %d, want exactly one current item %s", path, r.status, want)
			}
		}
	}
	r := do(t, e.client(t), "GET", e.srv.URL+"/thirdparty/login", nil)
	if strings.Contains(r.body, `aria-label="Main menu"`) || !strings.Contains(r.body, `<a href="/thirdparty/help">Contact Us</a>`) {
		t.Error("the sign-in page's banner: a menu, or no Contact Us link")
	}
}

// The layout is kept per title and portal (render.go, chrome): each page
// gets its own title and footer, its messages when it has some, and none
// of the markers the kept layout is cut at.
func TestLayoutKeptPerTitleAndPortal(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	for _, tc := range []struct {
		path, title, footer string
		alert               bool
	}{
		{"/thirdparty/login", "Sign In - MILogin for Third Party", `href="/thirdparty/help"`, false},
		{"/workforce/login", "Sign In - MILogin for Workforce", `href="/workforce/help"`, false},
		{"/thirdparty/help", "Need Help? - MILogin for Third Party", `href="/thirdparty/help"`, false},
		{"/thirdparty/login", "Sign In - MILogin for Third Party", `href="/thirdparty/help"`, false},
		{"/thirdparty/login?m=ended", "Sign In - MILogin for Third Party", `href="/thirdparty/help"`, true},
	} {
		r := do(t, c, "GET", e.srv.URL+tc.path, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", tc.path, r.status)
		}
		if !strings.Contains(r.body, "<title>"+tc.title+"</title>") || !strings.Contains(r.body, `<footer class="footer">`) ||
			!strings.Contains(r.body, tc.footer) || !strings.HasSuffix(r.body, "</html>\n") {
			t.Errorf("GET %s: want the title %q and the footer link %s in a whole page; got\n%s", tc.path, tc.title, tc.footer, r.body)
		}
		if strings.Contains(r.body, "\x00") {
			t.Errorf("GET %s: a slot marker was left in the page", tc.path)
		}
		if got := strings.Contains(r.body, `class="alert `); got != tc.alert {
			t.Errorf("GET %s: message shown %v, want %v", tc.path, got, tc.alert)
		}
	}
	// A form's errors come with the same kept layout.
	r := e.login(t, c, "smithj0001", "wrong")
	if !strings.Contains(r.body, "<title>Sign In - MILogin for Third Party</title>") || !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("a wrong password: want the sign-in page with its error; got\n%s", r.body)
	}
}
