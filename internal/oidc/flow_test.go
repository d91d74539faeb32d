package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"milogin"
)

// idClaims are the claims MILogin promises its applications.
type idClaims struct {
	Sub               string   `json:"sub"`
	PreferredUsername string   `json:"preferred_username"`
	Email             string   `json:"email"`
	EmailVerified     *bool    `json:"email_verified"`
	GivenName         string   `json:"given_name"`
	FamilyName        string   `json:"family_name"`
	PhoneNumber       string   `json:"phone_number"`
	AMR               []string `json:"amr"`
	ACR               string   `json:"acr"`
	AuthTime          int64    `json:"auth_time"`
	SID               string   `json:"sid"`
	Nonce             string   `json:"nonce"`
}

func (e *env) checkClaims(t *testing.T, what string, c idClaims) {
	t.Helper()
	a := e.account
	if c.Sub != a.ID || c.PreferredUsername != a.UserID || c.Email != a.Email || c.EmailVerified == nil ||
		c.GivenName != "John" || c.FamilyName != "Smith" || c.PhoneNumber != "+15175550123" {
		t.Errorf("%s claims: %+v", what, c)
	}
	if !slices.Equal(c.AMR, []string{"pwd"}) || c.ACR != "urn:milogin:acr:pwd" {
		t.Errorf("%s amr/acr = %v %q, want [pwd] and the password-only acr", what, c.AMR, c.ACR)
	}
}

// TestGoRelyingPartyFullFlow runs an independent relying party (go-oidc and
// x/oauth2) through the real sign-in page: discovery, code flow with PKCE,
// ID token validation, userinfo, refresh, introspection, revocation,
// RP-initiated logout and the back-channel logout token.
func TestGoRelyingPartyFullFlow(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	ctx := context.Background()

	provider, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{
		ClientID: "rp", ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirectURI,
		Scopes: []string{gooidc.ScopeOpenID, "profile", "email", "phone", gooidc.ScopeOfflineAccess},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-1"))

	br := browser()
	start := e.clk.Now()
	back := e.signIn(t, br, authURL)
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURI {
		t.Fatalf("returned to %s", back)
	}
	q := back.Query()
	if q.Get("state") != "state-1" || q.Get("iss") != e.issuer || q.Get("code") == "" {
		t.Fatalf("authorization response %v: want state, iss (RFC 9207) and code", q)
	}

	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("token response lacks tokens: %+v", tok)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&gooidc.Config{ClientID: "rp"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatal(err)
	}
	var ic idClaims
	if err := idt.Claims(&ic); err != nil {
		t.Fatal(err)
	}
	e.checkClaims(t, "ID token", ic)
	if ic.Nonce != "nonce-1" || ic.SID == "" {
		t.Errorf("ID token nonce %q sid %q", ic.Nonce, ic.SID)
	}
	if at := time.Unix(ic.AuthTime, 0); at.Before(start.Add(-time.Second)) || at.After(start.Add(time.Second)) {
		t.Errorf("auth_time %v, want the sign-in time %v", at, start)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}

	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var uc idClaims
	if err := ui.Claims(&uc); err != nil {
		t.Fatal(err)
	}
	e.checkClaims(t, "userinfo", uc)

	// Refresh: a new pair, the old refresh token retired.
	refreshed, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken || refreshed.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	if raw, _ := refreshed.Extra("id_token").(string); raw != "" {
		rid, err := provider.Verifier(&gooidc.Config{ClientID: "rp"}).Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		var rc idClaims
		rid.Claims(&rc)
		if rc.Sub != ic.Sub || rc.ACR != ic.ACR || rc.SID != ic.SID || rc.AuthTime != ic.AuthTime {
			t.Errorf("refreshed ID token %+v differs from the first %+v", rc, ic)
		}
	}

	// Introspection (the client's own token) and revocation.
	if !e.introspect(t, "rp", secret, refreshed.AccessToken)["active"].(bool) {
		t.Error("fresh access token inactive")
	}
	if r := e.revoke(t, "rp", secret, refreshed.AccessToken); r != http.StatusOK {
		t.Errorf("revoke: %d", r)
	}
	if e.introspect(t, "rp", secret, refreshed.AccessToken)["active"].(bool) {
		t.Error("revoked access token still active")
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(refreshed)); err == nil {
		t.Error("userinfo accepted a revoked access token")
	}

	// RP-initiated logout ends the MILogin session and tells the
	// application over the back channel.
	lq := url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {postLogout}, "state": {"bye-1"}}
	r := do(t, br, "GET", e.issuer+"/end_session?"+lq.Encode(), nil)
	if r.status != http.StatusSeeOther || r.location() != postLogout+"?state=bye-1" {
		t.Fatalf("end_session: %d %q", r.status, r.location())
	}
	if home := do(t, br, "GET", e.srv.URL+"/thirdparty/home", nil); !strings.HasPrefix(home.location(), "/thirdparty/login") {
		t.Errorf("after logout the home page answered %d %q", home.status, home.location())
	}
	if n := e.deliver(t); n != 1 {
		t.Fatalf("%d back-channel logouts sent, want 1", n)
	}
	e.checkLogoutToken(t, <-e.logouts, "rp", ic.SID)
}

func (e *env) introspect(t *testing.T, clientID, secret, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", e.issuer+"/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("introspect %d: %v", res.StatusCode, err)
	}
	return out
}

func (e *env) revoke(t *testing.T, clientID, secret, token string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", e.issuer+"/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(clientID, secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// checkLogoutToken verifies a back-channel logout token against the JWKS.
func (e *env) checkLogoutToken(t *testing.T, raw, clientID, sid string) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if typ, _ := jws.Signatures[0].Header.ExtraHeaders["typ"].(string); typ != "logout+jwt" {
		t.Errorf("typ = %q, want logout+jwt", typ)
	}
	ks := gooidc.NewRemoteKeySet(context.Background(), e.issuer+"/keys")
	payload, err := ks.VerifySignature(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Iss    string                    `json:"iss"`
		Aud    string                    `json:"aud"`
		Sub    string                    `json:"sub"`
		SID    string                    `json:"sid"`
		JTI    string                    `json:"jti"`
		Iat    int64                     `json:"iat"`
		Exp    int64                     `json:"exp"`
		Nonce  *string                   `json:"nonce"`
		Events map[string]map[string]any `json:"events"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	_, ok := c.Events["http://schemas.openid.net/event/backchannel-logout"]
	if c.Iss != e.issuer || c.Aud != clientID || c.Sub != e.account.ID || c.SID != sid || c.JTI == "" || !ok || c.Nonce != nil || c.Exp <= c.Iat {
		t.Errorf("logout token claims: %+v", c)
	}
}

// Signing out on the MILogin pages (not from the application) also sends
// the back-channel logout to every application the session used.
func TestBackchannelLogoutOnMILoginSignOut(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	secret2 := e.app(t, "rp2", false)
	br := browser()
	for _, c := range []struct{ id, secret string }{{"rp", secret}, {"rp2", secret2}} {
		v, ch := pkce()
		code := e.code(t, br, c.id, ch)
		if st, out := e.exchange(t, c.id, c.secret, code, v); st != http.StatusOK {
			t.Fatalf("%s exchange: %d %v", c.id, st, out)
		}
	}
	if r := do(t, br, "POST", e.srv.URL+"/thirdparty/logout", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	if n := e.deliver(t); n != 2 {
		t.Fatalf("%d back-channel logouts, want one per application (2)", n)
	}
	got := map[string]bool{}
	for range 2 {
		raw := <-e.logouts
		jws, _ := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
		var c struct {
			Aud string `json:"aud"`
		}
		json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c)
		got[c.Aud] = true
	}
	if !got["rp"] || !got["rp2"] {
		t.Errorf("logout tokens went to %v", got)
	}
	var msgs []*milogin.Message
	e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		msgs, err = tx.Outbox().List(context.Background(), milogin.MessageFilter{})
		return err
	})
	for _, m := range msgs {
		if strings.Contains(m.Text, ".") && strings.Count(m.Text, ".") == 2 && !strings.Contains(m.Text, "{") {
			t.Error("a signed token sits in the outbox: it should be signed when sent")
		}
	}
}

// A public client (no secret) runs the same flow with PKCE only.
func TestPublicClientCodeFlow(t *testing.T) {
	e := newEnv(t)
	e.app(t, "spa", true)
	v, ch := pkce()
	code := e.code(t, browser(), "spa", ch)
	st, out := e.exchange(t, "spa", "", code, v)
	if st != http.StatusOK || out["id_token"] == nil || out["refresh_token"] == nil {
		t.Fatalf("exchange: %d %v", st, out)
	}
	st, out = e.tokenRequest(t, "spa", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}})
	if st != http.StatusOK {
		t.Fatalf("refresh: %d %v", st, out)
	}
}

// Client credentials for application APIs: a token for the client itself,
// which introspects as active and gives no userinfo.
func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "api", false)
	st, out := e.tokenRequest(t, "api", secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"provisioning"}})
	if st != http.StatusOK || out["access_token"] == nil || out["refresh_token"] != nil || out["id_token"] != nil {
		t.Fatalf("client credentials: %d %v", st, out)
	}
	at := out["access_token"].(string)
	in := e.introspect(t, "api", secret, at)
	if in["active"] != true || in["client_id"] != "api" || in["sub"] != "api" || in["scope"] != "provisioning" {
		t.Errorf("introspection: %v", in)
	}
	req, _ := http.NewRequest("GET", e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		t.Error("userinfo answered for a client credentials token")
	}
	// A public client has no credentials to present.
	e.app(t, "spa", true)
	if st, _ := e.tokenRequest(t, "spa", "", url.Values{"grant_type": {"client_credentials"}}); st == http.StatusOK {
		t.Error("a public client got a client credentials token")
	}
	// A wrong secret is refused.
	if st, _ := e.tokenRequest(t, "api", "wrong-"+secret, url.Values{"grant_type": {"client_credentials"}}); st != http.StatusUnauthorized && st != http.StatusBadRequest {
		t.Errorf("wrong secret: %d", st)
	}
}

// The discovery document advertises only what is enabled.
func TestDiscoveryAdvertisesOnlyWhatIsEnabled(t *testing.T) {
	e := newEnv(t)
	r := do(t, browser(), "GET", e.issuer+"/.well-known/openid-configuration", nil)
	var d map[string]any
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatal(err)
	}
	list := func(k string) []string {
		var out []string
		for _, v := range d[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if d["issuer"] != e.issuer || d["authorization_endpoint"] != e.issuer+"/authorize" || d["jwks_uri"] != e.issuer+"/keys" ||
		d["end_session_endpoint"] != e.issuer+"/end_session" || d["introspection_endpoint"] != e.issuer+"/introspect" {
		t.Errorf("endpoints: %v", d)
	}
	for k, want := range map[string][]string{
		"response_types_supported":              {"code"},
		"code_challenge_methods_supported":      {"S256"},
		"grant_types_supported":                 {"authorization_code", "refresh_token", "client_credentials"},
		"id_token_signing_alg_values_supported": {"RS256", "ES256"},
		"acr_values_supported":                  {"urn:milogin:acr:pwd", "urn:milogin:acr:mfa"},
	} {
		if got := list(k); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if d["authorization_response_iss_parameter_supported"] != true || d["backchannel_logout_supported"] != true ||
		d["request_parameter_supported"] != false {
		t.Errorf("flags: %v", d)
	}
	for _, claim := range []string{"sub", "preferred_username", "email", "email_verified", "given_name", "family_name", "phone_number", "amr", "acr", "auth_time"} {
		if !slices.Contains(list("claims_supported"), claim) {
			t.Errorf("claims_supported lacks %s", claim)
		}
	}
	// Every portal is its own issuer.
	r = do(t, browser(), "GET", e.srv.URL+"/citizen/.well-known/openid-configuration", nil)
	if !strings.Contains(r.body, `"issuer":"`+e.srv.URL+`/citizen"`) {
		t.Errorf("citizen discovery: %s", r.body)
	}
}

// The JWKS publishes the RS256 and ES256 keys.
func TestJWKSPublishesBothAlgorithms(t *testing.T) {
	e := newEnv(t)
	r := do(t, browser(), "GET", e.issuer+"/keys", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(r.body), &set); err != nil {
		t.Fatal(err)
	}
	var algs []string
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" || k.KeyID == "" {
			t.Errorf("key %+v", k)
		}
		algs = append(algs, k.Algorithm)
	}
	slices.Sort(algs)
	if !slices.Equal(algs, []string{"ES256", "RS256"}) {
		t.Errorf("algorithms %v", algs)
	}
}

// An application that always asks for a second factor: the ID token and
// userinfo say so (amr has "mfa", acr is the MFA one), and auth_time stays
// the time of the password.
func TestMFASignInIsInAMRAndACR(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false, func(a *milogin.Application) { a.MFA = milogin.MFAAlways })
	ctx := context.Background()
	br := browser()
	v, ch := pkce()
	u := e.authorizeURL("rp", ch, nil)
	var login string
	for range 8 { // authorize → continue → sign-in → continue, which asks for MFA
		r := do(t, br, "GET", u, nil)
		if r.status == http.StatusOK {
			if !strings.Contains(r.body, `action="/thirdparty/continue/mfa"`) {
				t.Fatalf("expected the MFA page at %s:\n%s", u, r.body)
			}
			login = regexp.MustCompile(`name="login" value="([0-9a-f]+)"`).FindStringSubmatch(r.body)[1]
			break
		}
		loc := r.location()
		if strings.HasPrefix(loc, "/thirdparty/login?") {
			lu, _ := url.Parse(loc)
			loc = do(t, br, "POST", e.srv.URL+"/thirdparty/login", url.Values{"user_id": {userID}, "password": {goodPassword}, "next": {lu.Query().Get("next")}}).location()
		}
		u = e.abs(loc)
	}
	if login == "" {
		t.Fatal("never reached the MFA page")
	}
	r := do(t, br, "POST", e.srv.URL+"/thirdparty/continue/mfa", url.Values{"login": {login}, "method": {"email"}})
	pu, err := url.Parse(r.location())
	if r.status != http.StatusSeeOther || err != nil || pu.Query().Get("code") == "" {
		t.Fatalf("choosing email: %d %q", r.status, r.location())
	}
	var msgs []*milogin.Message
	e.store.Read(ctx, func(tx milogin.Tx) (err error) {
		msgs, err = tx.Outbox().List(ctx, milogin.MessageFilter{To: e.account.Email})
		return err
	})
	var passcode string
	for _, m := range msgs {
		if p := regexp.MustCompile(`\b\d{6}\b`).FindString(m.Text); p != "" {
			passcode = p
		}
	}
	if passcode == "" {
		t.Fatalf("no passcode email among %d messages", len(msgs))
	}
	r = do(t, br, "POST", e.srv.URL+"/thirdparty/continue/mfa/passcode", url.Values{
		"login": {login}, "method": {"email"}, "code": {pu.Query().Get("code")}, "passcode": {passcode}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("passcode: %d\n%s", r.status, r.body)
	}
	back := e.signIn(t, br, e.abs(r.location()))
	st, out := e.exchange(t, "rp", secret, back.Query().Get("code"), v)
	if st != http.StatusOK {
		t.Fatalf("exchange: %d %v", st, out)
	}
	provider, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: "rp"}).Verify(ctx, out["id_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var c idClaims
	idt.Claims(&c)
	if !slices.Contains(c.AMR, "pwd") || !slices.Contains(c.AMR, "mfa") || c.ACR != "urn:milogin:acr:mfa" {
		t.Errorf("ID token amr %v acr %q, want pwd+mfa and the MFA acr", c.AMR, c.ACR)
	}
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: out["access_token"].(string)}))
	if err != nil {
		t.Fatal(err)
	}
	var uc idClaims
	ui.Claims(&uc)
	if !slices.Contains(uc.AMR, "mfa") || uc.ACR != "urn:milogin:acr:mfa" {
		t.Errorf("userinfo amr %v acr %q", uc.AMR, uc.ACR)
	}
}

// A client registered for ES256 gets ES256 ID tokens (and logout tokens);
// the others keep RS256.
func TestES256IDTokensForAClientThatAsks(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "es", false, func(a *milogin.Application) { a.Client.IDTokenAlg = "ES256" })
	ctx := context.Background()
	provider, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	br := browser()
	v, ch := pkce()
	_, out := e.exchange(t, "es", secret, e.code(t, br, "es", ch), v)
	raw, _ := out["id_token"].(string)
	if _, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256}); err != nil {
		t.Fatalf("ID token is not ES256: %v", err)
	}
	if _, err := provider.Verifier(&gooidc.Config{ClientID: "es"}).Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	st, out := e.tokenRequest(t, "es", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}})
	if st != http.StatusOK {
		t.Fatalf("refresh: %d %v", st, out)
	}
	if _, err := jose.ParseSignedCompact(out["id_token"].(string), []jose.SignatureAlgorithm{jose.ES256}); err != nil {
		t.Errorf("refreshed ID token is not ES256: %v", err)
	}
	do(t, br, "POST", e.srv.URL+"/thirdparty/logout", url.Values{})
	e.deliver(t)
	if _, err := jose.ParseSignedCompact(<-e.logouts, []jose.SignatureAlgorithm{jose.ES256}); err != nil {
		t.Errorf("logout token is not ES256: %v", err)
	}
}

// The provisioning API takes client credentials tokens only: not a person's
// token, not another portal's, not a revoked one.
func TestVerifyAccessTokenForApplicationAPIs(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "api", false)
	ctx := context.Background()
	_, out := e.tokenRequest(t, "api", secret, url.Values{"grant_type": {"client_credentials"}})
	cc := out["access_token"].(string)
	if id, err := e.provider.VerifyAccessToken(ctx, milogin.ThirdParty, cc); err != nil || id != "api" {
		t.Fatalf("client credentials token: %q %v", id, err)
	}
	if _, err := e.provider.VerifyAccessToken(ctx, milogin.Citizen, cc); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		t.Errorf("another portal: %v", err)
	}
	v, ch := pkce()
	_, out = e.exchange(t, "api", secret, e.code(t, browser(), "api", ch), v)
	if _, err := e.provider.VerifyAccessToken(ctx, milogin.ThirdParty, out["access_token"].(string)); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		t.Errorf("a person's token: %v", err)
	}
	if _, err := e.provider.VerifyAccessToken(ctx, milogin.ThirdParty, "garbage"); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		t.Errorf("garbage: %v", err)
	}
	e.revoke(t, "api", secret, cc)
	if _, err := e.provider.VerifyAccessToken(ctx, milogin.ThirdParty, cc); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		t.Errorf("revoked: %v", err)
	}
}
