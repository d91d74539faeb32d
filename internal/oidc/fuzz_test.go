package oidc_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzAuthorizeParameters sends arbitrary query strings to /authorize for
// a registered client, from a browser without a session. It never answers
// 5xx, never redirects anywhere but the registered redirect URI (with an
// error: nobody is signed in) or MILogin's own pages, and never issues a
// code.
func FuzzAuthorizeParameters(f *testing.F) {
	e := newEnv(f)
	e.app(f, "rp", false)
	_, challenge := pkce()
	good := strings.TrimPrefix(e.authorizeURL("rp", challenge, nil), e.issuer+"/authorize?")
	for _, s := range []string{
		good,
		good + "&state=%00",
		good + "&nonce=%FF%FE",
		good + "&prompt=none",
		good + "&prompt=none+login",
		good + "&max_age=-1",
		good + "&request=eyJhbGciOiJub25lIn0.e30.",
		good + "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
		good + "&response_type=token",
		good + "&code_challenge_method=plain",
		strings.Replace(good, "client_id=rp", "client_id=nope", 1),
		"client_id=rp&redirect_uri=" + url.QueryEscape(redirectURI),
		"",
		"%",
		"client_id=rp&client_id=other",
		good + "&state=" + strings.Repeat("s", 5000),
		good + "&acr_values=" + strings.Repeat("x+", 100),
	} {
		f.Add(s)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := http.NewRequest("GET", e.issuer+"/authorize", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = raw
		res, err := c.Do(req)
		if err != nil {
			return // not sendable (the client refuses some bytes)
		}
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("query %q: %d", raw, res.StatusCode)
		}
		loc := res.Header.Get("Location")
		switch {
		case loc == "":
		case strings.HasPrefix(loc, "/thirdparty/"):
		case strings.HasPrefix(loc, redirectURI+"?"):
			q, err := url.ParseQuery(strings.TrimPrefix(loc, redirectURI+"?"))
			if err != nil || q.Get("error") == "" || q.Has("code") {
				t.Fatalf("query %q: redirected to the client with %q", raw, loc)
			}
		default:
			t.Fatalf("query %q: redirected to %q", raw, loc)
		}
	})
}

// FuzzIDTokenHint sends arbitrary id_token_hint values to end_session from
// a signed-in browser. Only the genuine token may end the session: any
// other hint is refused or asks for confirmation (never 5xx) and the
// browser stays signed in.
func FuzzIDTokenHint(f *testing.F) {
	e := newEnv(f)
	secret := e.app(f, "rp", false)
	c := browser()
	verifier, challenge := pkce()
	status, tok := e.exchange(f, "rp", secret, e.code(f, c, "rp", challenge), verifier)
	idToken, _ := tok["id_token"].(string)
	if status != http.StatusOK || idToken == "" {
		f.Fatalf("token exchange: %d %v", status, tok)
	}
	parts := strings.Split(idToken, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	for _, s := range []string{
		parts[0] + "." + parts[1] + "." + flip(parts[2], 5),
		parts[0] + "." + flip(parts[1], 10) + "." + parts[2],
		b64([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		b64([]byte(`{"alg":"HS256","kid":"x"}`)) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + parts[1],
		parts[0] + "." + parts[1] + "." + parts[2] + ".x.y",
		"", ".", "..", "a.b.c", "eyJ.eyJ.eyJ", idToken + "\x00", "%00",
		b64([]byte(`{"alg":"RS256"}`)) + "." + b64([]byte(`{"sub":`)) + ".AAAA",
	} {
		f.Add(s)
	}
	decoded := func(tok string) []string {
		var out []string
		for _, p := range strings.Split(tok, ".") {
			b, err := base64.RawURLEncoding.DecodeString(p)
			if err != nil {
				return nil
			}
			out = append(out, string(b))
		}
		return out
	}
	genuine := strings.Join(decoded(idToken), "\x00")
	signedIn := func(t testing.TB) bool {
		r := do(t, c, "GET", e.issuer+"/home", nil)
		return r.status == http.StatusOK
	}
	if !signedIn(f) {
		f.Fatal("the browser is not signed in")
	}
	f.Fuzz(func(t *testing.T, hint string) {
		if d := decoded(hint); d != nil && strings.Join(d, "\x00") == genuine {
			t.Skip("the genuine token (in another base64 spelling)")
		}
		q := url.Values{"id_token_hint": {hint}, "client_id": {"rp"}, "post_logout_redirect_uri": {postLogout}}
		req, err := http.NewRequest("GET", e.issuer+"/end_session?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("hint %q: %d", hint, res.StatusCode)
		}
		if !signedIn(t) {
			t.Fatalf("hint %q ended the session", hint)
		}
	})
}
