package oidc_test

// One test per OAuth 2.0 / OpenID Connect rule of SECURITY-TESTS.md (RFC 9700,
// ASVS 10.4), named after the rule.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"milogin"
	"milogin/internal/oidc"
)

// wantRedirectError expects a 303 back to the client with error code want,
// the state and iss.
func (e *env) wantRedirectError(t *testing.T, r resp, want string) {
	t.Helper()
	if r.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to the client\n%s", r.status, r.body)
	}
	u, err := url.Parse(r.location())
	if err != nil || !strings.HasPrefix(r.location(), redirectURI+"?") {
		t.Fatalf("redirected to %q", r.location())
	}
	q := u.Query()
	if q.Get("error") != want || q.Get("iss") != e.issuer || q.Get("state") != "st-123" {
		t.Fatalf("error response %v, want error=%s with state and iss", q, want)
	}
}

// wantNoRedirect expects a plain 400 that sends the browser nowhere.
func wantNoRedirect(t *testing.T, r resp) {
	t.Helper()
	if r.status != http.StatusBadRequest || r.location() != "" {
		t.Fatalf("status %d location %q, want 400 and no redirect", r.status, r.location())
	}
}

func TestRedirectURIExactMatch(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	for _, variant := range []string{
		redirectURI + "/",                        // trailing slash
		"https://RP.example.test/callback",       // case of the host
		redirectURI + "?x=1",                     // extra query
		"https://rp.example.test/%63allback",     // percent-encoded variant
		"https://rp.example.test/callback%2F",    // encoded slash
		"https://rp.example.test/callback#frag",  // fragment
		"https://rp.example.test:443/callback",   // explicit default port
		"http://rp.example.test/callback",        // scheme downgrade
		"https://rp.example.test/callback/../cb", // dot segments
		"https://rp.example.test.evil/callback",  // suffix host
		url.QueryEscape(redirectURI),             // the whole URI escaped once more
		"",                                       // missing
	} {
		t.Run(variant, func(t *testing.T) {
			r := do(t, browser(), "GET", e.authorizeURL("rp", ch, url.Values{"redirect_uri": {variant}}), nil)
			wantNoRedirect(t, r)
		})
	}
	// The registered string itself works.
	r := do(t, browser(), "GET", e.authorizeURL("rp", ch, nil), nil)
	// A browser without a MILogin session goes straight to the sign-in
	// page, which comes back to /continue for the parked request.
	next, _ := url.Parse(r.location())
	if r.status != http.StatusSeeOther || next.Path != "/thirdparty/login" ||
		!strings.HasPrefix(next.Query().Get("next"), "/thirdparty/continue?login=") || len(next.Query()) != 1 {
		t.Fatalf("registered URI: %d %q", r.status, r.location())
	}
	// The token request must name the same redirect URI.
	v, ch2 := pkce()
	code := e.code(t, browser(), "rp", ch2)
	st, out := e.tokenRequest(t, "rp", "", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI + "/"}, "code_verifier": {v}, "client_id": {"rp"}})
	if st == http.StatusOK {
		t.Errorf("token endpoint accepted another redirect_uri: %v", out)
	}
}

func TestRedirectURIRegistrationNoHTTPExceptLoopbackForNativeApps(t *testing.T) {
	for _, c := range []struct {
		uri    string
		public bool
		ok     bool
	}{
		{"https://osmis.example.gov/callback", false, true},
		{"https://osmis.example.gov/callback?tenant=1", false, true},
		{"http://osmis.example.gov/callback", false, false},
		{"http://osmis.example.gov/callback", true, false},
		{"http://127.0.0.1:8765/callback", true, true},
		{"http://[::1]:8765/callback", true, true},
		{"http://localhost:8765/callback", true, true},
		{"http://127.0.0.1:8765/callback", false, false}, // loopback http is for native (public) clients
		{"https://*.example.gov/callback", false, false}, // wildcard
		{"https://osmis.example.gov/*", false, false},    // wildcard
		{"https://osmis.example.gov/cb#x", false, false}, // fragment
		{"https://user:pw@osmis.example.gov/cb", false, false},
		{"com.example.app:/callback", true, false}, // custom schemes are not offered
		{"javascript:alert(1)", true, false},
		{"/callback", false, false},
		{"https://osmis.example.gov/a b", false, false},
		{"https://osmis.example.gov/%7Ecb", false, false}, // not canonical: would be compared as a different string
		{"HTTPS://osmis.example.gov/cb", false, false},
		{"https://osmis.example.gov/a/../cb", false, false},
		{"https://osmis.example.gov/cb%2F", false, true}, // an encoded reserved character is its own spelling
	} {
		err := oidc.ValidateRedirectURI(c.uri, c.public)
		if (err == nil) != c.ok {
			t.Errorf("ValidateRedirectURI(%q, public=%v) = %v, want ok=%v", c.uri, c.public, err, c.ok)
		}
	}
}

func TestPKCES256RequiredForEveryClient(t *testing.T) {
	e := newEnv(t)
	e.app(t, "conf", false)
	e.app(t, "pub", true)
	for _, id := range []string{"conf", "pub"} {
		r := do(t, browser(), "GET", e.authorizeURL(id, "", url.Values{"code_challenge": {"<none>"}, "code_challenge_method": {"<none>"}}), nil)
		e.wantRedirectError(t, r, "invalid_request")
	}
	// And at the token endpoint, no verifier, no tokens.
	_, ch := pkce()
	code := e.code(t, browser(), "pub", ch)
	st, _ := e.tokenRequest(t, "pub", "", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}})
	if st == http.StatusOK {
		t.Error("code exchanged without code_verifier")
	}
}

func TestPKCEPlainRejected(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	verifier, _ := pkce()
	for _, method := range []string{"plain", "<none>", "S512", "s256"} {
		r := do(t, browser(), "GET", e.authorizeURL("rp", verifier, url.Values{"code_challenge_method": {method}}), nil)
		e.wantRedirectError(t, r, "invalid_request")
	}
}

func TestPKCEWrongVerifierRejectedAndCodeKept(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	code := e.code(t, browser(), "rp", ch)
	other, _ := pkce()
	if st, out := e.exchange(t, "rp", secret, code, other); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("wrong verifier: %d %v", st, out)
	}
	if st, out := e.exchange(t, "rp", secret, code, v); st != http.StatusOK {
		t.Fatalf("right verifier after a wrong one: %d %v", st, out)
	}
}

// Defence in depth: even a stored request without a challenge (there can
// be none: /authorize requires one) does not take a verifier.
func TestPKCEVerifierWithoutChallengeRejected(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	code := e.code(t, browser(), "rp", ch)
	ctx := context.Background()
	err := e.store.Write(ctx, func(tx milogin.Tx) error {
		r, err := tx.OAuthRequests().GetByCode(ctx, sha256hex(code))
		if err != nil {
			return err
		}
		_, err = tx.OAuthRequests().Update(ctx, r.ID, func(x *milogin.OAuthRequest) error {
			x.CodeChallenge, x.CodeChallengeMethod = "", ""
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, out := e.exchange(t, "rp", secret, code, v); st == http.StatusOK {
		t.Fatalf("verifier without challenge accepted: %v", out)
	}
}

func TestAuthorizationCodeSingleUse(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	code := e.code(t, browser(), "rp", ch)
	if st, out := e.exchange(t, "rp", secret, code, v); st != http.StatusOK {
		t.Fatalf("first use: %d %v", st, out)
	}
	if st, out := e.exchange(t, "rp", secret, code, v); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("second use: %d %v", st, out)
	}
}

func TestAuthorizationCodeReuseRevokesItsTokens(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	code := e.code(t, browser(), "rp", ch)
	_, out := e.exchange(t, "rp", secret, code, v)
	at, rt := out["access_token"].(string), out["refresh_token"].(string)
	if !e.introspect(t, "rp", secret, at)["active"].(bool) {
		t.Fatal("access token inactive before the replay")
	}
	e.exchange(t, "rp", secret, code, v) // the replay
	if e.introspect(t, "rp", secret, at)["active"].(bool) {
		t.Error("access token still active after the code was replayed")
	}
	if st, _ := e.tokenRequest(t, "rp", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); st == http.StatusOK {
		t.Error("refresh token still works after the code was replayed")
	}
	var evs []*milogin.AuditEvent
	e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		evs, err = tx.Audit().List(context.Background(), milogin.AuditFilter{Type: milogin.EventOAuthCodeReuse})
		return err
	})
	if len(evs) != 1 {
		t.Errorf("audit events for the replay: %d", len(evs))
	}
}

func TestAuthorizationCodeLivesAtMost60Seconds(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	code := e.code(t, browser(), "rp", ch)
	e.clk.Add(oidc.MaxCodeLifetime)
	if st, out := e.exchange(t, "rp", secret, code, v); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("code after 60 s: %d %v", st, out)
	}
	// Just inside the limit it works.
	v, ch = pkce()
	code = e.code(t, browser(), "rp", ch)
	e.clk.Add(oidc.MaxCodeLifetime - time.Second)
	if st, out := e.exchange(t, "rp", secret, code, v); st != http.StatusOK {
		t.Fatalf("code after 59 s: %d %v", st, out)
	}
}

func TestAuthorizationCodeBoundToItsClient(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	other := e.app(t, "other", false)
	v, ch := pkce()
	code := e.code(t, browser(), "rp", ch)
	if st, out := e.exchange(t, "other", other, code, v); st == http.StatusOK {
		t.Fatalf("another client exchanged the code: %v", out)
	}
}

func refresh(t *testing.T, e *env, secret, rt string) (int, map[string]any) {
	t.Helper()
	return e.tokenRequest(t, "rp", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

func TestRefreshTokensRotate(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	_, out := e.exchange(t, "rp", secret, e.code(t, browser(), "rp", ch), v)
	r1 := out["refresh_token"].(string)
	st, out := refresh(t, e, secret, r1)
	if st != http.StatusOK {
		t.Fatalf("refresh: %d %v", st, out)
	}
	r2 := out["refresh_token"].(string)
	if r2 == "" || r2 == r1 {
		t.Fatal("refresh token not rotated")
	}
	if e.introspect(t, "rp", secret, r1)["active"].(bool) {
		t.Error("the rotated refresh token is still active")
	}
}

func TestRefreshTokenReuseRevokesTheFamily(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	_, out := e.exchange(t, "rp", secret, e.code(t, browser(), "rp", ch), v)
	r1 := out["refresh_token"].(string)
	_, out = refresh(t, e, secret, r1)
	r2, at2 := out["refresh_token"].(string), out["access_token"].(string)
	if st, out := refresh(t, e, secret, r1); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("reuse of the old refresh token: %d %v", st, out)
	}
	if st, _ := refresh(t, e, secret, r2); st == http.StatusOK {
		t.Error("the newest refresh token survived the reuse of an old one")
	}
	if e.introspect(t, "rp", secret, at2)["active"].(bool) {
		t.Error("the family's access token survived the reuse")
	}
}

func TestRefreshTokenAbsoluteExpiry(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	_, out := e.exchange(t, "rp", secret, e.code(t, browser(), "rp", ch), v)
	rt := out["refresh_token"].(string)
	// Refreshing every 20 hours keeps within the idle limit, but not past
	// the family's absolute end.
	step := 20 * time.Hour
	elapsed := time.Duration(0)
	for elapsed+step < oidc.DefaultRefreshAbsolute {
		e.clk.Add(step)
		elapsed += step
		st, out := refresh(t, e, secret, rt)
		if st != http.StatusOK {
			t.Fatalf("refresh after %v: %d %v", elapsed, st, out)
		}
		rt = out["refresh_token"].(string)
	}
	e.clk.Add(oidc.DefaultRefreshAbsolute - elapsed)
	if st, _ := refresh(t, e, secret, rt); st == http.StatusOK {
		t.Error("refresh worked past the absolute expiry")
	}
}

func TestNoImplicitGrant(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	for _, rt := range []string{"token", "id_token", "id_token token", "code id_token", "code token"} {
		r := do(t, browser(), "GET", e.authorizeURL("rp", ch, url.Values{"response_type": {rt}}), nil)
		e.wantRedirectError(t, r, "unsupported_response_type")
		if strings.Contains(r.location(), "access_token") || strings.Contains(r.location(), "id_token=") {
			t.Errorf("%s: a token in the URL", rt)
		}
	}
	r := do(t, browser(), "GET", e.authorizeURL("rp", ch, url.Values{"response_mode": {"fragment"}}), nil)
	e.wantRedirectError(t, r, "invalid_request")
}

func TestNoPasswordGrant(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	for _, gt := range []string{"password", "urn:ietf:params:oauth:grant-type:jwt-bearer",
		"urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:device_code", "implicit"} {
		st, out := e.tokenRequest(t, "rp", secret, url.Values{"grant_type": {gt}, "username": {userID}, "password": {goodPassword}})
		if st != http.StatusBadRequest || out["error"] != "unsupported_grant_type" {
			t.Errorf("%s: %d %v", gt, st, out)
		}
	}
}

func TestRedirectsAre303(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	// Success path: every hop (authorize, continue, sign-in, callback) is
	// checked by signIn.
	e.code(t, browser(), "rp", ch)
	// Error redirects too.
	r := do(t, browser(), "GET", e.authorizeURL("rp", ch, url.Values{"response_type": {"token"}}), nil)
	if r.status != http.StatusSeeOther {
		t.Errorf("error redirect: %d", r.status)
	}
	// POST to /authorize is answered with 303 too (a 302/307 could repeat
	// the POST body to the sign-in page).
	q, _ := url.ParseQuery(strings.SplitN(e.authorizeURL("rp", ch, nil), "?", 2)[1])
	r = do(t, browser(), "POST", e.issuer+"/authorize", q)
	if r.status != http.StatusSeeOther {
		t.Errorf("POST /authorize: %d", r.status)
	}
}

func TestAuthorizeFrameAncestorsNoneAndNoCORS(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	for _, u := range []string{e.authorizeURL("rp", ch, nil), e.authorizeURL("rp", ch, url.Values{"client_id": {"nope"}})} {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Origin", "https://evil.example")
		res, err := browser().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
		if res.Header.Get("X-Frame-Options") != "DENY" {
			t.Error("no X-Frame-Options: DENY")
		}
		if h := res.Header.Get("Access-Control-Allow-Origin"); h != "" {
			t.Errorf("CORS on /authorize: %q", h)
		}
	}
	req, _ := http.NewRequest("OPTIONS", e.issuer+"/authorize", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "" || res.StatusCode/100 == 2 {
		t.Errorf("preflight on /authorize: %d %v", res.StatusCode, res.Header)
	}
	// The token endpoint, by contrast, serves browser applications.
	req, _ = http.NewRequest("OPTIONS", e.issuer+"/oauth/token", nil)
	req.Header.Set("Origin", "https://spa.example")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "*" || res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("token endpoint CORS: %v", res.Header)
	}
}

func TestAuthorizationResponseCarriesIss(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	to := e.signIn(t, browser(), e.authorizeURL("rp", ch, nil))
	if to.Query().Get("iss") != e.issuer {
		t.Errorf("success response %v lacks iss", to.Query())
	}
	r := do(t, browser(), "GET", e.authorizeURL("rp", ch, url.Values{"scope": {"profile"}}), nil)
	e.wantRedirectError(t, r, "invalid_scope")
}

func TestRPInitiatedLogoutNeedsIDTokenHint(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	br := browser()
	v, ch := pkce()
	_, out := e.exchange(t, "rp", secret, e.code(t, br, "rp", ch), v)
	idToken := out["id_token"].(string)
	alive := func() bool {
		return do(t, br, "GET", e.srv.URL+"/thirdparty/home", nil).status == http.StatusOK
	}
	if !alive() {
		t.Fatal("no session after sign-in")
	}
	for name, q := range map[string]url.Values{
		"no hint":               {"post_logout_redirect_uri": {postLogout}, "client_id": {"rp"}},
		"forged hint":           {"id_token_hint": {idToken[:len(idToken)-4] + "AAAA"}},
		"unregistered redirect": {"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example/"}},
		"other client":          {"id_token_hint": {idToken}, "client_id": {"other"}},
	} {
		r := do(t, br, "GET", e.issuer+"/end_session?"+q.Encode(), nil)
		if r.status != http.StatusBadRequest || r.location() != "" {
			t.Errorf("%s: %d %q", name, r.status, r.location())
		}
		if !alive() {
			t.Fatalf("%s ended the session", name)
		}
	}
	r := do(t, br, "GET", e.issuer+"/end_session?"+url.Values{"id_token_hint": {idToken}}.Encode(), nil)
	if r.status != http.StatusSeeOther || r.location() != "/thirdparty/login?m=logged-out" {
		t.Fatalf("valid hint: %d %q", r.status, r.location())
	}
	if alive() {
		t.Error("session survived RP-initiated logout")
	}
}

// Codes and tokens are not in the database, only their hashes.
func TestCodesAndTokensStoredHashed(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	code := e.code(t, browser(), "rp", ch)
	_, out := e.exchange(t, "rp", secret, code, v)
	ctx := context.Background()
	for _, tok := range []string{out["access_token"].(string), out["refresh_token"].(string)} {
		err := e.store.Read(ctx, func(tx milogin.Tx) error {
			_, err := tx.OAuthTokens().Get(ctx, tok)
			return err
		})
		if !milogin.IsKind(err, milogin.ENOTFOUND) {
			t.Errorf("token stored under its own value: %v", err)
		}
		err = e.store.Read(ctx, func(tx milogin.Tx) error {
			_, err := tx.OAuthTokens().Get(ctx, sha256hex(tok))
			return err
		})
		if err != nil {
			t.Errorf("token not stored by its hash: %v", err)
		}
	}
}

func TestAuthorizeRejectsRepeatedParameters(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	u := e.authorizeURL("rp", ch, nil) + "&redirect_uri=" + url.QueryEscape("https://evil.example/cb")
	wantNoRedirect(t, do(t, browser(), "GET", u, nil))
}

// continueOf is the /continue address of a parked request from where
// /authorize sent a browser: there itself (the browser has a session
// cookie) or to the sign-in page that comes back to it (it has none).
func continueOf(location string) string {
	if u, err := url.Parse(location); err == nil && u.Path == "/thirdparty/login" {
		return u.Query().Get("next")
	}
	return location
}

// max_age=0 and prompt=login ask the pages for a fresh password; prompt=none
// without a session is answered login_required (TestPromptNoneIsSilent).
func TestAuthorizeParksPromptAndACR(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	ctx := context.Background()
	park := func(extra url.Values) *milogin.LoginRequest {
		r := do(t, browser(), "GET", e.authorizeURL("rp", ch, extra), nil)
		u, _ := url.Parse(continueOf(r.location()))
		var lr *milogin.LoginRequest
		if err := e.store.Read(ctx, func(tx milogin.Tx) (err error) {
			lr, err = tx.LoginRequests().Get(ctx, u.Query().Get("login"))
			return err
		}); err != nil {
			t.Fatalf("%v: %d %q: %v", extra, r.status, r.location(), err)
		}
		return lr
	}
	if lr := park(nil); lr.ForceLogin || lr.ForceMFA || lr.AppID != "rp" || lr.Protocol != "oidc" ||
		lr.CallbackURL != "/thirdparty/authorize/callback?id="+lr.ID || lr.ExpiresAt.Sub(lr.CreatedAt) != oidc.DefaultRequestLifetime {
		t.Errorf("plain request parked as %+v", lr)
	}
	if lr := park(url.Values{"prompt": {"login"}}); !lr.ForceLogin {
		t.Error("prompt=login not forwarded")
	}
	if lr := park(url.Values{"max_age": {"0"}}); !lr.ForceLogin {
		t.Error("max_age=0 not forwarded")
	}
	if lr := park(url.Values{"acr_values": {"urn:milogin:acr:mfa"}}); !lr.ForceMFA {
		t.Error("acr_values asking for MFA not forwarded")
	}
	e.wantRedirectError(t, do(t, browser(), "GET", e.authorizeURL("rp", ch, url.Values{"prompt": {"none"}}), nil), "login_required")
}

// A parked request completed by one browser (a victim lured to the
// /continue link of an attacker's request) gives no code to another (the
// attacker's, polling the callback).
func TestCodeOnlyForTheBrowserThatSignedIn(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	attacker, victim := browser(), browser()
	r := do(t, attacker, "GET", e.authorizeURL("rp", ch, nil), nil)
	cont := e.abs(continueOf(r.location()))
	cu, _ := url.Parse(cont)
	callback := e.issuer + "/authorize/callback?id=" + url.QueryEscape(cu.Query().Get("login"))
	// While the victim has not signed in, the attacker's polling gets no code.
	if r := do(t, attacker, "GET", callback, nil); strings.Contains(r.location(), "code=") {
		t.Fatalf("the attacker's browser got %d %q before the sign-in", r.status, r.location())
	}
	// The victim signs in through the attacker's link; /continue answers
	// with the code, to the victim's own browser (and the application,
	// seeing a state it never issued to the victim, drops it).
	u := cont
	var code string
	for range 8 {
		r := do(t, victim, "GET", u, nil)
		loc := r.location()
		if strings.HasPrefix(loc, "/thirdparty/login?") {
			lu, _ := url.Parse(loc)
			loc = do(t, victim, "POST", e.srv.URL+"/thirdparty/login", url.Values{"user_id": {userID}, "password": {goodPassword}, "next": {lu.Query().Get("next")}}).location()
		}
		if strings.HasPrefix(loc, redirectURI) {
			code = loc
			break
		}
		u = e.abs(loc)
	}
	if !strings.Contains(code, "code=") {
		t.Fatalf("the victim's sign-in ended at %q, not with a code", code)
	}
	// The attacker's browser, at the callback, gets no code.
	if r := do(t, attacker, "GET", callback, nil); r.status != http.StatusBadRequest || strings.Contains(r.location(), "code=") {
		t.Fatalf("the attacker's browser got %d %q", r.status, r.location())
	}
}

// The callback gives the code only to the browser whose session completed
// the sign-in: here a request completed on the pages but not yet answered
// (as when the pages redirect to the callback, with no SetFinish).
func TestCallbackChecksTheBrowser(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	victim, attacker := browser(), browser()
	e.code(t, victim, "rp", ch) // the victim is signed in
	r := do(t, attacker, "GET", e.authorizeURL("rp", ch, nil), nil)
	cu, _ := url.Parse(continueOf(r.location()))
	id := cu.Query().Get("login")
	var sess *milogin.Session
	ctx := context.Background()
	err := e.store.Write(ctx, func(tx milogin.Tx) error {
		list, err := tx.Sessions().ListByAccount(ctx, e.account.ID)
		if err != nil || len(list) == 0 {
			return fmt.Errorf("sessions: %v %d", err, len(list))
		}
		sess = list[0]
		_, err = tx.LoginRequests().Update(ctx, id, func(lr *milogin.LoginRequest) error {
			lr.AccountID, lr.SessionID, lr.AuthTime, lr.AMR, lr.DoneAt = sess.AccountID, sess.ID, sess.CreatedAt, []string{"pwd"}, e.clk.Now()
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	callback := e.issuer + "/authorize/callback?id=" + url.QueryEscape(id)
	if r := do(t, attacker, "GET", callback, nil); r.status != http.StatusForbidden || strings.Contains(r.location(), "code=") {
		t.Fatalf("the attacker's browser got %d %q", r.status, r.location())
	}
	if r := do(t, victim, "GET", callback, nil); r.status != http.StatusSeeOther || !strings.Contains(r.location(), "code=") {
		t.Fatalf("the victim's browser got %d %q", r.status, r.location())
	}
}

// A completed sign-in gets no code once its session has ended or its
// account has been deactivated in the meantime: the callback reads both
// again in the transaction that issues the code.
func TestNoCodeAfterTheSessionOrAccountEnds(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(ctx context.Context, tx milogin.Tx, sess *milogin.Session) error
	}{
		{"session ended", func(ctx context.Context, tx milogin.Tx, sess *milogin.Session) error {
			return tx.Sessions().Delete(ctx, sess.ID)
		}},
		{"account deactivated", func(ctx context.Context, tx milogin.Tx, sess *milogin.Session) error {
			_, err := tx.Accounts().Update(ctx, sess.AccountID, func(a *milogin.Account) error {
				a.Status = milogin.StatusDeactivated
				return nil
			})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.app(t, "rp", false)
			_, ch := pkce()
			br := browser()
			e.code(t, br, "rp", ch) // signed in
			r := do(t, br, "GET", e.authorizeURL("rp", ch, nil), nil)
			cu, _ := url.Parse(continueOf(r.location()))
			id := cu.Query().Get("login")
			ctx := context.Background()
			err := e.store.Write(ctx, func(tx milogin.Tx) error {
				list, err := tx.Sessions().ListByAccount(ctx, e.account.ID)
				if err != nil || len(list) != 1 {
					return fmt.Errorf("sessions: %v %d", err, len(list))
				}
				sess := list[0]
				if _, err := tx.LoginRequests().Update(ctx, id, func(lr *milogin.LoginRequest) error {
					lr.AccountID, lr.SessionID, lr.AuthTime, lr.AMR, lr.DoneAt = sess.AccountID, sess.ID, sess.CreatedAt, []string{"pwd"}, e.clk.Now()
					return nil
				}); err != nil {
					return err
				}
				return tt.end(ctx, tx, sess)
			})
			if err != nil {
				t.Fatal(err)
			}
			r = do(t, br, "GET", e.issuer+"/authorize/callback?id="+url.QueryEscape(id), nil)
			loc := r.location()
			if r.status != http.StatusSeeOther || strings.Contains(loc, "code=") || !strings.Contains(loc, "error=login_required") {
				t.Fatalf("the callback answered %d %q, want login_required and no code", r.status, loc)
			}
		})
	}
}

// Finish records the sign-in on the parked request in the write that
// issues the code: a request the pages find already used gets no code, and
// when no code can be issued (the session ended) the request is not left
// completed either.
func TestFinishCompletesAndAnswersInOneWrite(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	br := browser()
	e.code(t, br, "rp", ch) // signed in
	ctx := context.Background()
	var sess *milogin.Session
	if err := e.store.Read(ctx, func(tx milogin.Tx) error {
		list, err := tx.Sessions().ListByAccount(ctx, e.account.ID)
		if err == nil && len(list) != 1 {
			err = fmt.Errorf("%d sessions", len(list))
		}
		if err == nil {
			sess = list[0]
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(e.srv.URL)
	// park parks a new request from the signed-in browser and returns it
	// as the pages complete it.
	park := func() *milogin.LoginRequest {
		t.Helper()
		cu, _ := url.Parse(continueOf(do(t, br, "GET", e.authorizeURL("rp", ch, nil), nil).location()))
		var lr *milogin.LoginRequest
		if err := e.store.Read(ctx, func(tx milogin.Tx) (err error) {
			lr, err = tx.LoginRequests().Get(ctx, cu.Query().Get("login"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		lr.AccountID, lr.SessionID, lr.AuthTime, lr.AMR, lr.DoneAt = sess.AccountID, sess.ID, sess.CreatedAt, []string{"pwd"}, e.clk.Now()
		return lr
	}
	finish := func(lr *milogin.LoginRequest, complete func(context.Context, milogin.Tx) error) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("GET", e.srv.URL+"/thirdparty/continue?login="+url.QueryEscape(lr.ID), nil)
		for _, c := range br.Jar.Cookies(base) {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		e.provider.Finish(rec, req, lr, complete)
		return rec
	}
	// record completes the stored request, as the pages do.
	record := func(lr *milogin.LoginRequest) func(context.Context, milogin.Tx) error {
		return func(ctx context.Context, tx milogin.Tx) error {
			_, err := tx.LoginRequests().Update(ctx, lr.ID, func(x *milogin.LoginRequest) error {
				if x.Done() {
					return milogin.Errorf("test", milogin.ECONFLICT, "already used")
				}
				x.AccountID, x.SessionID, x.AuthTime, x.AMR, x.DoneAt = lr.AccountID, lr.SessionID, lr.AuthTime, lr.AMR, lr.DoneAt
				return nil
			})
			return err
		}
	}
	stored := func(id string) (*milogin.LoginRequest, *milogin.OAuthRequest) {
		t.Helper()
		var lr *milogin.LoginRequest
		var or *milogin.OAuthRequest
		if err := e.store.Read(ctx, func(tx milogin.Tx) (err error) {
			if lr, err = tx.LoginRequests().Get(ctx, id); err != nil {
				return err
			}
			or, err = tx.OAuthRequests().Get(ctx, id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return lr, or
	}

	// Already used (another tab completed it first): no code.
	lr := park()
	rec := finish(lr, func(context.Context, milogin.Tx) error {
		return milogin.Errorf("test", milogin.ECONFLICT, "already used")
	})
	if rec.Code != http.StatusBadRequest || strings.Contains(rec.Header().Get("Location"), "code=") {
		t.Fatalf("an already used request: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if _, or := stored(lr.ID); or.CodeHash != "" {
		t.Fatal("a code was stored for an already used request")
	}

	// The ordinary case: recorded and answered.
	lr = park()
	rec = finish(lr, record(lr))
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "code=") {
		t.Fatalf("a completed sign-in: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if got, or := stored(lr.ID); !got.Done() || got.SessionID != sess.ID || or.CodeHash == "" {
		t.Fatalf("after the answer: done %v, session %q, code stored %v", got.Done(), got.SessionID, or.CodeHash != "")
	}

	// The session ended before the answer: login_required, and the
	// request is not left completed.
	lr = park()
	if err := e.store.Write(ctx, func(tx milogin.Tx) error { return tx.Sessions().Delete(ctx, sess.ID) }); err != nil {
		t.Fatal(err)
	}
	rec = finish(lr, record(lr))
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.Contains(loc, "error=login_required") {
		t.Fatalf("a sign-in whose session ended: %d %q", rec.Code, loc)
	}
	if got, or := stored(lr.ID); got.Done() || or.CodeHash != "" {
		t.Fatalf("the ended sign-in was left completed (%v) or with a code (%v)", got.Done(), or.CodeHash != "")
	}
}

// max_age: a sign-in older than asked is parked again with ForceLogin, so
// that the pages ask for the password again.
func TestMaxAgeExceededAsksForAFreshSignIn(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	br := browser()
	_, ch := pkce()
	e.code(t, br, "rp", ch) // signed in now
	e.clk.Add(2 * time.Minute)
	u := e.authorizeURL("rp", ch, url.Values{"max_age": {"60"}})
	// The browser goes to /continue for the request; the sign-in is too
	// old, so the answer is another /continue, for a new parked request.
	first := do(t, br, "GET", u, nil).location()
	reparked := do(t, br, "GET", e.abs(first), nil).location()
	if reparked == first {
		t.Fatalf("/continue answered %q again", reparked)
	}
	lu, err := url.Parse(reparked)
	if err != nil || !strings.HasPrefix(reparked, "/thirdparty/continue?login=") {
		t.Fatalf("the callback answered %q, want a new parked sign-in", reparked)
	}
	var lr *milogin.LoginRequest
	err = e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		lr, err = tx.LoginRequests().Get(context.Background(), lu.Query().Get("login"))
		return err
	})
	if err != nil || !lr.ForceLogin || lr.Done() {
		t.Fatalf("re-parked request %+v (%v), want ForceLogin and not done", lr, err)
	}
}

// Sweep deletes what has expired and keeps the rest.
func TestSweepDeletesExpiredState(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	_, out := e.exchange(t, "rp", secret, e.code(t, browser(), "rp", ch), v)
	if n, err := e.provider.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep of live state: %d %v", n, err)
	}
	e.clk.Add(oidc.DefaultRefreshAbsolute + time.Minute)
	n, err := e.provider.Sweep(context.Background())
	if err != nil || n < 3 { // the request, the access token, the refresh token
		t.Fatalf("sweep after expiry: %d %v", n, err)
	}
	if e.introspect(t, "rp", secret, out["refresh_token"].(string))["active"] == true {
		t.Error("swept refresh token still active")
	}
}

// prompt=login: a sign-in made before the request is not passed off as the
// fresh one the application asked for.
func TestPromptLoginNeverAnsweredWithAnOldSignIn(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()
	// No session yet: the password is typed after the request, so it counts.
	br := browser()
	to := e.signIn(t, br, e.authorizeURL("rp", ch, url.Values{"prompt": {"login"}}))
	if to.Query().Get("code") == "" {
		t.Fatalf("fresh sign-in with prompt=login: %v", to.Query())
	}
	// With that session live, another prompt=login must not silently reuse
	// it: the browser is sent back to the sign-in form, and only the password
	// typed there yields a code.
	e.clk.Add(time.Second)
	u := e.authorizeURL("rp", ch, url.Values{"prompt": {"login"}})
	sawForm := false
	for range 6 {
		r := do(t, br, "GET", u, nil)
		loc := r.location()
		if strings.HasPrefix(loc, "/thirdparty/login?reauth=1") {
			sawForm = true
			break
		}
		if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/") {
			t.Fatalf("prompt=login over an existing session ended at %d %q without asking for the password", r.status, loc)
		}
		u = e.abs(loc)
	}
	if !sawForm {
		t.Fatal("prompt=login over an existing session never reached the sign-in form")
	}
	to = e.signIn(t, br, u)
	if to.Query().Get("code") == "" {
		t.Fatalf("fresh sign-in after prompt=login: %v", to.Query())
	}
}

// Tokens never travel in URLs: /userinfo refuses ?access_token=.
func TestUserinfoRefusesTokenInURL(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	_, out := e.exchange(t, "rp", secret, e.code(t, browser(), "rp", ch), v)
	r := do(t, browser(), "GET", e.issuer+"/userinfo?access_token="+out["access_token"].(string), nil)
	if r.status != http.StatusBadRequest {
		t.Errorf("token in the URL: %d %s", r.status, r.body)
	}
}

// prompt=none (OpenID Connect Core §3.1.2.1): answered from the live
// session without any page, or with the error that says what would be
// needed — never a sign-in form.
func TestPromptNoneIsSilent(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	e.app(t, "strict", false, func(a *milogin.Application) { a.MFA = milogin.MFAAlways })
	_, ch := pkce()
	silent := url.Values{"prompt": {"none"}}
	answer := func(br *http.Client, client string, extra url.Values) url.Values {
		t.Helper()
		u := e.authorizeURL(client, ch, extra)
		for range 4 {
			r := do(t, br, "GET", u, nil)
			loc := r.location()
			if r.status != http.StatusSeeOther {
				t.Fatalf("prompt=none: %d at %s", r.status, u)
			}
			if strings.HasPrefix(loc, "/thirdparty/login") || strings.HasPrefix(loc, "/thirdparty/continue") {
				t.Fatalf("prompt=none was sent to a page: %s", loc)
			}
			if !strings.HasPrefix(loc, "/") {
				to, err := url.Parse(loc)
				if err != nil {
					t.Fatal(err)
				}
				return to.Query()
			}
			u = e.abs(loc)
		}
		t.Fatal("too many redirects")
		return nil
	}

	br := browser()
	if q := answer(br, "rp", silent); q.Get("error") != "login_required" || q.Get("state") != "st-123" {
		t.Fatalf("without a session: %v", q)
	}
	// An interactive sign-in enrols the person in the open application.
	if to := e.signIn(t, br, e.authorizeURL("rp", ch, nil)); to.Query().Get("code") == "" {
		t.Fatalf("interactive sign-in: %v", to.Query())
	}
	e.clk.Add(time.Second)
	if q := answer(br, "rp", silent); q.Get("code") == "" || q.Get("iss") != e.issuer {
		t.Fatalf("with a live session: %v", q)
	}
	// Granted, but it needs a second factor: not without a page.
	err := e.store.Write(context.Background(), func(tx milogin.Tx) error {
		a, err := tx.Accounts().GetByUserID(context.Background(), milogin.ThirdParty, userID)
		if err != nil {
			return err
		}
		return tx.Grants().Put(context.Background(), &milogin.Grant{AppID: "strict", AccountID: a.ID, Status: milogin.GrantActive, RequestedAt: e.clk.Now(), DecidedAt: e.clk.Now(), DecidedBy: "test"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if q := answer(br, "strict", silent); q.Get("error") != "interaction_required" {
		t.Fatalf("MFA-always application: %v", q)
	}
	if q := answer(br, "rp", url.Values{"prompt": {"none login"}}); q.Get("error") != "invalid_request" {
		t.Fatalf("prompt=none login: %v", q)
	}
	if q := answer(br, "rp", url.Values{"prompt": {"none"}, "max_age": {"0"}}); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none with max_age=0: %v", q)
	}
	// Another browser has no session of its own.
	if q := answer(browser(), "rp", silent); q.Get("error") != "login_required" {
		t.Fatalf("another browser: %v", q)
	}
}

// CANCEL on an application's Terms & Conditions is reported to the
// application as access_denied (RFC 6749 §4.1.2.1), with its state.
func TestTermsCancelIsAccessDenied(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	e.app(t, "termsapp", false, func(a *milogin.Application) { a.TermsText, a.TermsVersion = "Be good.", 1 })
	_, ch := pkce()
	br := browser()
	if to := e.signIn(t, br, e.authorizeURL("rp", ch, nil)); to.Query().Get("code") == "" {
		t.Fatalf("sign-in: %v", to.Query())
	}
	r := do(t, br, "GET", e.authorizeURL("termsapp", ch, nil), nil)
	cont := r.location()
	if !strings.HasPrefix(cont, "/thirdparty/continue?login=") {
		t.Fatalf("authorize went to %q", cont)
	}
	id := strings.TrimPrefix(cont, "/thirdparty/continue?login=")
	if r := do(t, br, "GET", e.abs(cont), nil); r.status != http.StatusOK || !strings.Contains(r.body, "Acknowledge/Agree") {
		t.Fatalf("terms page: %d", r.status)
	}
	r = do(t, br, "POST", e.srv.URL+"/thirdparty/continue/terms", url.Values{"login": {id}, "version": {"1"}, "choice": {"cancel"}})
	if r.status != http.StatusOK {
		t.Fatalf("cancel: %d", r.status)
	}
	r = do(t, br, "GET", e.srv.URL+"/thirdparty/authorize/callback?id="+id, nil)
	to, err := url.Parse(r.location())
	if err != nil || !strings.HasPrefix(r.location(), redirectURI) {
		t.Fatalf("callback after cancel went to %q", r.location())
	}
	if q := to.Query(); q.Get("error") != "access_denied" || q.Get("state") != "st-123" || q.Get("code") != "" {
		t.Fatalf("callback after cancel: %v", q)
	}
}

// Where /authorize sends a browser: without a MILogin session cookie,
// straight to the sign-in page (coming back to /continue); with one, live
// or ended, to /continue, which judges it, so that a person whose session
// timed out is told so on the sign-in page.
func TestAuthorizeSendsTheBrowserByItsCookie(t *testing.T) {
	e := newEnv(t)
	e.app(t, "rp", false)
	_, ch := pkce()

	fresh := do(t, browser(), "GET", e.authorizeURL("rp", ch, nil), nil).location()
	u, _ := url.Parse(fresh)
	if u.Path != "/thirdparty/login" || !strings.HasPrefix(u.Query().Get("next"), "/thirdparty/continue?login=") {
		t.Errorf("no cookie: %q", fresh)
	}

	br := browser()
	e.code(t, br, "rp", ch) // signed in
	if loc := do(t, br, "GET", e.authorizeURL("rp", ch, nil), nil).location(); !strings.HasPrefix(loc, "/thirdparty/continue?login=") {
		t.Errorf("live session: %q", loc)
	}

	e.clk.Add(24 * time.Hour) // past every idle and absolute time-out
	loc := do(t, br, "GET", e.authorizeURL("rp", ch, nil), nil).location()
	if !strings.HasPrefix(loc, "/thirdparty/continue?login=") {
		t.Fatalf("ended session: %q", loc)
	}
	to, _ := url.Parse(do(t, br, "GET", e.abs(loc), nil).location())
	if to.Path != "/thirdparty/login" || to.Query().Get("m") == "" || to.Query().Get("next") != loc {
		t.Errorf("ended session, /continue sent the browser to %q, want the sign-in page saying why", to)
	}
}
