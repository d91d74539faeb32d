package server_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"milogin/apps/osmis/internal/server"
	"milogin/apps/osmis/internal/store"
)

// fakeOP is a minimal OpenID Provider: discovery, JWKS, a token endpoint
// that checks the client's credentials and the PKCE verifier and answers
// with an ID token for a code the test issued.
type fakeOP struct {
	*httptest.Server
	key, otherKey *rsa.PrivateKey

	mu    sync.Mutex
	codes map[string]issued
}

type issued struct {
	challenge string
	claims    map[string]any
	wrongKey  bool
}

// The provider's key and a stranger's, made once for every test.
var (
	keysOnce        sync.Once
	opKey, otherKey *rsa.PrivateKey
	keysErr         error
)

func startOP(t *testing.T) *fakeOP {
	t.Helper()
	keysOnce.Do(func() {
		for _, k := range []**rsa.PrivateKey{&opKey, &otherKey} {
			if *k, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
				return
			}
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	op := &fakeOP{codes: map[string]issued{}, key: opKey, otherKey: otherKey}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /thirdparty/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := op.URL + "/thirdparty"
		json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "authorization_endpoint": iss + "/authorize",
			"token_endpoint": iss + "/oauth/token", "jwks_uri": iss + "/keys", "end_session_endpoint": iss + "/end_session",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /thirdparty/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /thirdparty/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "osmis" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		op.mu.Lock()
		is, found := op.codes[r.PostFormValue("code")]
		delete(op.codes, r.PostFormValue("code"))
		op.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !found || base64.RawURLEncoding.EncodeToString(sum[:]) != is.challenge {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		key := op.key
		if is.wrongKey {
			key = op.otherKey
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300,
			"id_token": op.sign(t, key, is.claims)})
	})
	op.Server = httptest.NewServer(mux)
	t.Cleanup(op.Close)
	return op
}

func (op *fakeOP) sign(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsFor are the ID token claims of a person, for the nonce.
func (op *fakeOP) claimsFor(loginID, email, nonce string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": op.URL + "/thirdparty", "aud": "osmis", "sub": "sub-" + loginID, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "nonce": nonce, "preferred_username": loginID, "email": email, "sid": "sid-" + loginID}
}

type env struct {
	t     *testing.T
	op    *fakeOP
	db    *store.DB
	osmis *httptest.Server
	mwa   *store.MWA
	lee   *store.Staff
	tran  *store.Staff
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	op := startOP(t)
	db, err := store.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mwa, err := db.CreateMWA(ctx, "Capital Area Michigan Works!", []string{"miworks.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	lee := &store.Staff{FirstName: "Lee", LastName: "Parker", LoginID: "parkerl0001", Email: "lee.parker@miworks.example.org",
		MWAID: mwa.ID, Status: store.Active, IsAdmin: true}
	tran := &store.Staff{FirstName: "Tran", LastName: "Nguyen", LoginID: "nguyent0001", Email: "tran.nguyen@miworks.example.org",
		MWAID: mwa.ID, Status: store.Active}
	for _, s := range []*store.Staff{lee, tran} {
		if err := db.CreateStaff(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	block, _ := aes.NewCipher(make([]byte, 32))
	seal, _ := cipher.NewGCM(block)
	e := &env{t: t, op: op, db: db, mwa: mwa, lee: lee, tran: tran}
	osmis := httptest.NewUnstartedServer(nil)
	osmis.Start()
	t.Cleanup(osmis.Close)
	srv, err := server.New(server.Config{DB: db, Issuer: op.URL + "/thirdparty", ClientID: "osmis", ClientSecret: "s3cret",
		BaseURL: osmis.URL, Seal: seal})
	if err != nil {
		t.Fatal(err)
	}
	osmis.Config.Handler = srv.Handler()
	e.osmis = osmis
	return e
}

// browser is a cookie jar that does not follow redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) get(c *http.Client, path string) (*http.Response, string) {
	e.t.Helper()
	res, err := c.Get(e.osmis.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func (e *env) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	res, err := c.PostForm(e.osmis.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// start calls /login and returns the authorization request's parameters.
func (e *env) start(c *http.Client) url.Values {
	e.t.Helper()
	res, _ := e.get(c, "/login")
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("/login: %d", res.StatusCode)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), e.op.URL+"/thirdparty/authorize") {
		e.t.Fatalf("/login redirects to %q", res.Header.Get("Location"))
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("client_id") != "osmis" ||
		q.Get("redirect_uri") != e.osmis.URL+"/callback" || !strings.Contains(q.Get("scope"), "openid") {
		e.t.Fatalf("authorization request %v", q)
	}
	return q
}

// issue makes the OP hand out code for the request q with claims.
func (e *env) issue(q url.Values, claims map[string]any, wrongKey bool) string {
	code := rand.Text()
	e.op.mu.Lock()
	e.op.codes[code] = issued{challenge: q.Get("code_challenge"), claims: claims, wrongKey: wrongKey}
	e.op.mu.Unlock()
	return code
}

func (e *env) signIn(c *http.Client, loginID, email string) (*http.Response, string) {
	q := e.start(c)
	code := e.issue(q, e.op.claimsFor(loginID, email, q.Get("nonce")), false)
	return e.get(c, "/callback?code="+code+"&state="+q.Get("state"))
}

func hasSession(c *http.Client, base string) bool {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "osmis_session" && ck.Value != "" {
			return true
		}
	}
	return false
}

func TestSignInAndDashboard(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	res, _ := e.signIn(c, "parkerl0001", "lee.parker@miworks.example.org")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard" || !hasSession(c, e.osmis.URL) {
		t.Fatalf("callback: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := e.get(c, "/dashboard")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "OSMIS Dashboard") || !strings.Contains(body, "Lee Parker") ||
		!strings.Contains(body, "Wagner-Peyser Active") {
		t.Errorf("dashboard %d:\n%s", res.StatusCode, body)
	}
	// Without a session the dashboard sends the browser through MILogin.
	res, _ = e.get(e.browser(), "/dashboard")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("signed out dashboard: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// A wrong state, a replayed callback, an ID token signed by another key or
// carrying another nonce, and an error from MILogin: each ends on an error
// page and creates no session.
func TestCallbackRefusals(t *testing.T) {
	e := newEnv(t)
	lee := func(nonce string) map[string]any {
		return e.op.claimsFor("parkerl0001", "lee.parker@miworks.example.org", nonce)
	}
	cases := []struct {
		name string
		do   func(c *http.Client) (*http.Response, string)
	}{
		{"wrong state", func(c *http.Client) (*http.Response, string) {
			q := e.start(c)
			return e.get(c, "/callback?code="+e.issue(q, lee(q.Get("nonce")), false)+"&state=forged")
		}},
		{"state of another browser", func(c *http.Client) (*http.Response, string) {
			q := e.start(e.browser())
			e.start(c)
			return e.get(c, "/callback?code="+e.issue(q, lee(q.Get("nonce")), false)+"&state="+q.Get("state"))
		}},
		{"replayed callback", func(c *http.Client) (*http.Response, string) {
			q := e.start(c)
			cb := "/callback?code=" + e.issue(q, lee(q.Get("nonce")), false) + "&state=" + q.Get("state")
			e.get(c, cb)
			c.Jar, _ = cookiejar.New(nil)
			// Same URL again, with the state cookie put back as an attacker would.
			u, _ := url.Parse(e.osmis.URL)
			c.Jar.SetCookies(u, []*http.Cookie{{Name: "osmis_login", Value: q.Get("state"), Path: "/"}})
			return e.get(c, cb)
		}},
		{"ID token signed by another key", func(c *http.Client) (*http.Response, string) {
			q := e.start(c)
			return e.get(c, "/callback?code="+e.issue(q, lee(q.Get("nonce")), true)+"&state="+q.Get("state"))
		}},
		{"another nonce", func(c *http.Client) (*http.Response, string) {
			q := e.start(c)
			return e.get(c, "/callback?code="+e.issue(q, lee("other"), false)+"&state="+q.Get("state"))
		}},
		{"expired ID token", func(c *http.Client) (*http.Response, string) {
			q := e.start(c)
			cl := lee(q.Get("nonce"))
			cl["exp"] = time.Now().Add(-time.Minute).Unix()
			return e.get(c, "/callback?code="+e.issue(q, cl, false)+"&state="+q.Get("state"))
		}},
		{"another audience", func(c *http.Client) (*http.Response, string) {
			q := e.start(c)
			cl := lee(q.Get("nonce"))
			cl["aud"] = "cars"
			return e.get(c, "/callback?code="+e.issue(q, cl, false)+"&state="+q.Get("state"))
		}},
		{"response of another issuer", func(c *http.Client) (*http.Response, string) {
			q := e.start(c)
			return e.get(c, "/callback?code="+e.issue(q, lee(q.Get("nonce")), false)+"&state="+q.Get("state")+"&iss="+url.QueryEscape("https://evil.example/thirdparty"))
		}},
		{"code unknown to MILogin", func(c *http.Client) (*http.Response, string) {
			q := e.start(c)
			return e.get(c, "/callback?code=nope&state="+q.Get("state"))
		}},
		{"MILogin error", func(c *http.Client) (*http.Response, string) {
			q := e.start(c)
			return e.get(c, "/callback?error=server_error&state="+q.Get("state"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.browser()
			res, body := tc.do(c)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Sign-in failed") {
				t.Errorf("status %d:\n%s", res.StatusCode, body)
			}
			if hasSession(c, e.osmis.URL) {
				t.Error("a session cookie was set")
			}
		})
	}
	// CANCEL on the terms: MILogin answers access_denied.
	c := e.browser()
	q := e.start(c)
	res, body := e.get(c, "/callback?error=access_denied&state="+q.Get("state"))
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "Sign-in cancelled") || hasSession(c, e.osmis.URL) {
		t.Errorf("access_denied: %d\n%s", res.StatusCode, body)
	}
}

// Each prerequisite, broken in turn, gives Access Denied (no session) and
// records the reason on the staff account.
func TestPrerequisitesDenyAndRecord(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, loginID, email string
		setup                func(e *env)
		reason               string
	}{
		{"no domain", "nguyent0001", "tran.nguyen@miworks.example.org",
			func(e *env) { e.db.RemoveDomain(ctx, e.mwa.ID, "miworks.example.org") }, server.DenyNoDomain},
		{"email outside the domains", "nguyent0001", "tran.nguyen@miworks.example.org", func(e *env) {
			e.db.AddDomain(ctx, e.mwa.ID, "other.example.org")
			e.db.RemoveDomain(ctx, e.mwa.ID, "miworks.example.org")
		}, server.DenyEmailDomain},
		{"INACTIVE", "nguyent0001", "tran.nguyen@miworks.example.org", func(e *env) {
			e.db.UpdateStaff(ctx, e.tran.ID, func(s *store.Staff) error { s.Status = store.Inactive; return nil })
		}, server.DenyInactive},
		{"MILogin ID differs in case", "NguyenT0001", "tran.nguyen@miworks.example.org", func(*env) {}, server.DenyLoginID},
		{"email differs", "nguyent0001", "Tran.Nguyen@miworks.example.org", func(*env) {}, server.DenyEmail},
		{"MILogin ID of nobody, email of Tran", "someone0001", "tran.nguyen@miworks.example.org", func(*env) {}, server.DenyLoginID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.setup(e)
			c := e.browser()
			res, body := e.signIn(c, tc.loginID, tc.email)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "Access Denied") ||
				!strings.Contains(body, "Contact your MWA Administrator") || hasSession(c, e.osmis.URL) {
				t.Fatalf("status %d:\n%s", res.StatusCode, body)
			}
			if strings.Contains(body, tc.reason) {
				t.Error("the reason is shown to the person signing in")
			}
			st, _ := e.db.GetStaff(ctx, e.tran.ID)
			if st.DeniedReason != tc.reason || st.DeniedAt.IsZero() {
				t.Errorf("recorded %q at %v, want %q", st.DeniedReason, st.DeniedAt, tc.reason)
			}
		})
	}
	// Nobody's account: denied, nothing recorded anywhere.
	e := newEnv(t)
	if res, _ := e.signIn(e.browser(), "nobody0001", "nobody@gmail.com"); res.StatusCode != http.StatusForbidden {
		t.Errorf("unknown person: %d", res.StatusCode)
	}
}

func TestCheckOrder(t *testing.T) {
	m := &store.MWA{Domains: []string{"miworks.example.org"}}
	ok := &store.Staff{LoginID: "a0001", Email: "a@miworks.example.org", Status: store.Active}
	id := server.Identity{LoginID: "a0001", Email: "a@miworks.example.org"}
	if r := server.Check(ok, m, id); r != "" {
		t.Errorf("all hold: %q", r)
	}
	// Several broken at once: the first in the guide's order is named.
	bad := &store.Staff{LoginID: "b", Email: "a@gmail.com", Status: store.Inactive}
	if r := server.Check(bad, m, id); r != server.DenyEmailDomain {
		t.Errorf("got %q", r)
	}
	if r := server.Check(bad, &store.MWA{}, id); r != server.DenyNoDomain {
		t.Errorf("got %q", r)
	}
	if r := server.Check(nil, nil, id); r != server.DenyNoStaffAcct {
		t.Errorf("got %q", r)
	}
}

func (e *env) logoutToken(claims map[string]any) string {
	return e.op.sign(e.t, e.op.key, claims)
}

func TestBackchannelAndLogOff(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	if res, _ := e.signIn(c, "nguyent0001", "tran.nguyen@miworks.example.org"); res.StatusCode != http.StatusSeeOther {
		t.Fatal("sign-in")
	}
	now := time.Now()
	base := map[string]any{"iss": e.op.URL + "/thirdparty", "aud": "osmis", "sub": "sub-nguyent0001", "iat": now.Unix(),
		"exp": now.Add(2 * time.Minute).Unix(), "jti": "j1", "sid": "sid-nguyent0001"}
	post := func(token string) int {
		res, err := http.PostForm(e.osmis.URL+"/backchannel-logout", url.Values{"logout_token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// Not a logout token (no events claim), and a forged one: refused.
	if code := post(e.logoutToken(base)); code != http.StatusBadRequest {
		t.Errorf("no events: %d", code)
	}
	base["events"] = map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
	forged := e.op.sign(t, e.op.otherKey, base)
	if code := post(forged); code != http.StatusBadRequest {
		t.Errorf("forged: %d", code)
	}
	if res, _ := e.get(c, "/dashboard"); res.StatusCode != http.StatusOK {
		t.Fatalf("session gone after refused tokens: %d", res.StatusCode)
	}
	if code := post(e.logoutToken(base)); code != http.StatusOK {
		t.Errorf("logout token: %d", code)
	}
	if res, _ := e.get(c, "/dashboard"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("dashboard after back-channel logout: %d", res.StatusCode)
	}

	// Log Off: the session ends here and the browser goes to MILogin's
	// end_session with the ID token as hint.
	e.signIn(c, "nguyent0001", "tran.nguyen@miworks.example.org")
	res, _ := e.post(c, "/logout", nil)
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.String(), e.op.URL+"/thirdparty/end_session?") ||
		loc.Query().Get("post_logout_redirect_uri") != e.osmis.URL+"/signed-out" || strings.Count(loc.Query().Get("id_token_hint"), ".") != 2 {
		t.Errorf("log off: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := e.get(c, "/dashboard"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("dashboard after Log Off: %d", res.StatusCode)
	}
}

func TestAdminUtilityForms(t *testing.T) {
	e := newEnv(t)
	admin, staff := e.browser(), e.browser()
	e.signIn(admin, "parkerl0001", "lee.parker@miworks.example.org")
	e.signIn(staff, "nguyent0001", "tran.nguyen@miworks.example.org")

	if res, _ := e.get(staff, "/admin"); res.StatusCode != http.StatusForbidden {
		t.Errorf("staff member on /admin: %d", res.StatusCode)
	}
	good := url.Values{"first_name": {"Casey"}, "last_name": {"Rivera"}, "login_id": {"riverac0001"},
		"email": {"casey.rivera@miworks.example.org"}, "mwa": {itoa(e.mwa.ID)}, "status": {"ACTIVE"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	for _, tc := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{with("first_name", ""), 422, "Enter the First Name."},
		{with("login_id", "rivera c"), 422, "The MILogin ID cannot contain spaces."},
		{with("email", "casey.rivera@gmail.com"), 422, "The work email must be in one of the email domains of Capital Area Michigan Works!: miworks.example.org."},
		{with("email", "not-an-email"), 422, "Enter a valid email address"},
		{with("mwa", "999"), 422, "Select the MWA."},
		{with("status", "MAYBE"), 422, "Select ACTIVE or INACTIVE."},
		{with("login_id", "NGUYENT0001"), 409, "Another staff account already has the MILogin ID NGUYENT0001."},
		{with("email", "tran.nguyen@miworks.example.org"), 409, "Another staff account already has the email address tran.nguyen@miworks.example.org."},
	} {
		res, body := e.post(admin, "/admin/staff", tc.form)
		if res.StatusCode != tc.status || !strings.Contains(body, htmlEscape(tc.want)) {
			t.Errorf("%v: %d, want %d with %q", tc.form, res.StatusCode, tc.status, tc.want)
			continue
		}
		// What was typed is shown again.
		if v := tc.form.Get("last_name"); !strings.Contains(body, `value="`+v+`"`) {
			t.Errorf("%v: last name not re-displayed", tc.form)
		}
	}
	res, _ := e.post(admin, "/admin/staff", good)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", res.StatusCode)
	}
	_, body := e.get(admin, "/admin?q=rivera")
	if !strings.Contains(body, "riverac0001") || !strings.Contains(body, "Grant OSMIS access") || !strings.Contains(body, "1 staff accounts found") {
		t.Errorf("list:\n%s", body)
	}

	// An administrator cannot lock themself out.
	res, body = e.post(admin, "/admin/staff/"+itoa(e.lee.ID), url.Values{"first_name": {"Lee"}, "last_name": {"Parker"},
		"login_id": {"parkerl0001"}, "email": {"lee.parker@miworks.example.org"}, "mwa": {itoa(e.mwa.ID)}, "status": {"INACTIVE"}, "is_admin": {"1"}})
	if res.StatusCode != 422 || !strings.Contains(body, "You cannot make your own account INACTIVE") {
		t.Errorf("self-deactivation: %d", res.StatusCode)
	}

	// INACTIVE ends the staff member's session at once.
	res, _ = e.post(admin, "/admin/staff/"+itoa(e.tran.ID), url.Values{"first_name": {"Tran"}, "last_name": {"Nguyen"},
		"login_id": {"nguyent0001"}, "email": {"tran.nguyen@miworks.example.org"}, "mwa": {itoa(e.mwa.ID)}, "status": {"INACTIVE"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set INACTIVE: %d", res.StatusCode)
	}
	if res, _ := e.get(staff, "/dashboard"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("INACTIVE staff still on the dashboard: %d", res.StatusCode)
	}

	// Forms refuse a cross-origin post (CSRF).
	req, _ := http.NewRequest(http.MethodPost, e.osmis.URL+"/admin/staff", strings.NewReader(good.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d", res.StatusCode)
	}

	// Domains: only of the administrator's own MWA.
	if res, body := e.post(admin, "/admin/mwas/"+itoa(e.mwa.ID)+"/domains", url.Values{"domain": {"bad domain!"}}); res.StatusCode != 422 || !strings.Contains(body, `value="bad domain!"`) {
		t.Errorf("bad domain: %d", res.StatusCode)
	}
	other, err := e.db.CreateMWA(context.Background(), "West Michigan Works!", []string{"westmiworks.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := e.post(admin, "/admin/mwas/"+itoa(other.ID)+"/domains", url.Values{"domain": {"evil.example.org"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("domain added to another MWA: %d", res.StatusCode)
	}
	if res, _ := e.post(admin, "/admin/mwas/"+itoa(other.ID)+"/domains/remove", url.Values{"domain": {"westmiworks.example.org"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("domain removed from another MWA: %d", res.StatusCode)
	}
	if m, _ := e.db.GetMWA(context.Background(), other.ID); len(m.Domains) != 1 {
		t.Errorf("the other MWA's domains changed: %v", m.Domains)
	}

	// Staff of another MWA are invisible and cannot be created or changed.
	sam := &store.Staff{FirstName: "Sam", LastName: "West", LoginID: "wests0001", Email: "sam@westmiworks.example.org", MWAID: other.ID, Status: store.Active}
	if err := e.db.CreateStaff(context.Background(), sam); err != nil {
		t.Fatal(err)
	}
	if _, body := e.get(admin, "/admin?q=wests0001"); strings.Contains(body, "/admin/staff/"+itoa(sam.ID)) || !strings.Contains(body, "0 staff accounts found") {
		t.Error("another MWA's staff listed")
	}
	if res, _ := e.get(admin, "/admin/staff/"+itoa(sam.ID)); res.StatusCode != http.StatusNotFound {
		t.Errorf("another MWA's staff account: %d", res.StatusCode)
	}
	if res, _ := e.post(admin, "/admin/staff/"+itoa(sam.ID), url.Values{"first_name": {"Sam"}, "last_name": {"West"}, "login_id": {"wests0001"},
		"email": {"sam@westmiworks.example.org"}, "mwa": {itoa(other.ID)}, "status": {"INACTIVE"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("another MWA's staff changed: %d", res.StatusCode)
	}
	if res, body := e.post(admin, "/admin/staff", with("mwa", itoa(other.ID))); res.StatusCode != 422 || !strings.Contains(body, "Select the MWA.") {
		t.Errorf("staff created in another MWA: %d", res.StatusCode)
	}
	if res, _ := e.post(admin, "/admin/links", url.Values{"label": {"WIOA Reports"}, "url": {"javascript:alert(1)"}}); res.StatusCode != 422 {
		t.Errorf("javascript: link accepted: %d", res.StatusCode)
	}
	e.post(admin, "/admin/links", url.Values{"label": {"WIOA Reports"}, "url": {"https://osmis.example.org/wioa"}})
	if _, body := e.get(admin, "/systems"); !strings.Contains(body, `href="https://osmis.example.org/wioa"`) {
		t.Errorf("systems page:\n%s", body)
	}
}

func TestQuickAdd(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	e.signIn(c, "nguyent0001", "tran.nguyen@miworks.example.org")
	for _, tc := range []struct {
		title, due string
		status     int
		want       string
	}{
		{"", "", 422, "Enter a title for the task."},
		{"Call", "12/31/2026", 422, "Enter the due date as YYYY-MM-DD"},
		{strings.Repeat("x", 201), "", 422, "at most 200 characters"},
		{"Call employer partners", "2026-12-31", 303, ""},
	} {
		res, body := e.post(c, "/tasks", url.Values{"title": {tc.title}, "due_date": {tc.due}, "important": {"1"}})
		if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%q %q: %d", tc.title, tc.due, res.StatusCode)
		}
		if tc.status == 422 && tc.due != "" && !strings.Contains(body, `value="`+tc.due+`"`) {
			t.Errorf("due date not re-displayed")
		}
	}
	_, body := e.get(c, "/dashboard?important=1")
	if !strings.Contains(body, "1 Task") || !strings.Contains(body, "Due 2026-12-31") {
		t.Errorf("dashboard:\n%s", body)
	}
}

// The header's search bar finds the person's own tasks and the systems by
// any part of their text, ignoring case; an empty search says what to type
// and keeps the page usable.
func TestSearch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, l := range [][2]string{{"Wagner-Peyser ISS", "https://wp.example/"}, {"WIOA Reports", "https://wioa.example/"}} {
		if err := e.db.AddLink(ctx, l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.AddTask(ctx, e.lee.ID, &store.Task{Title: "Review WIOA enrolments"}); err != nil {
		t.Fatal(err)
	}
	c := e.browser()
	e.signIn(c, "nguyent0001", "tran.nguyen@miworks.example.org")
	e.post(c, "/tasks", url.Values{"title": {"Call the WIOA employer partners"}, "due_date": {"2026-12-31"}})
	e.post(c, "/tasks", url.Values{"title": {"File the quarterly report"}})

	_, body := e.get(c, "/dashboard")
	if !strings.Contains(body, `role="search"`) || !strings.Contains(body, `<label for="q">Search OSMIS</label>`) {
		t.Fatalf("no search bar in the header:\n%s", body)
	}
	res, body := e.get(c, "/search?q="+url.QueryEscape(" wioa "))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Search results for “wioa”") ||
		!strings.Contains(body, "Call the WIOA employer partners") || !strings.Contains(body, `<a href="https://wioa.example/">WIOA Reports</a>`) {
		t.Errorf("search %d:\n%s", res.StatusCode, body)
	}
	for _, not := range []string{"File the quarterly report", "Review WIOA enrolments", "Wagner-Peyser ISS"} {
		if strings.Contains(body, not) {
			t.Errorf("the results list %q", not)
		}
	}
	if !strings.Contains(body, `value="wioa"`) {
		t.Error("the search bar does not show the query")
	}
	_, body = e.get(c, "/search?q=payroll")
	if !strings.Contains(body, "No tasks or systems match “payroll”") {
		t.Errorf("no match:\n%s", body)
	}
	res, body = e.get(c, "/search?q=+")
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Enter a word to search for") || !strings.Contains(body, `href="#q"`) {
		t.Errorf("empty search %d:\n%s", res.StatusCode, body)
	}
	res, _ = e.get(c, "/search?q="+strings.Repeat("x", 101))
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a 101-character search: %d", res.StatusCode)
	}
	// Signed out, the search sends the browser through MILogin.
	if res, _ := e.get(e.browser(), "/search?q=wioa"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("signed out search: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func htmlEscape(s string) string { return strings.NewReplacer("'", "&#39;", `"`, "&#34;").Replace(s) }

// On https the cookies carry the __Host- prefix and pages send HSTS.
func TestHTTPSCookies(t *testing.T) {
	e := newEnv(t)
	block, _ := aes.NewCipher(make([]byte, 32))
	seal, _ := cipher.NewGCM(block)
	srv, err := server.New(server.Config{DB: e.db, Issuer: e.op.URL + "/thirdparty", ClientID: "osmis", ClientSecret: "s3cret",
		BaseURL: "https://osmis.example.gov", Seal: seal})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://osmis.example.gov/login", nil))
	c := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(c) != 1 || c[0].Name != "__Host-osmis_login" || !c[0].Secure || !c[0].HttpOnly || c[0].Path != "/" {
		t.Errorf("/login: %d %+v", rec.Code, c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://osmis.example.gov/", nil))
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS on https")
	}
}
