package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"milogin/internal/postgres/pgtest"
)

// engines runs fn against `milogin serve --demo` on SQLite and on
// PostgreSQL (skipped without MILOGIN_TEST_POSTGRES, failed in CI).
func engines(t *testing.T, fn func(t *testing.T, base string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, startServe(t, t.TempDir(), "--demo")) })
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t) // before startServe: the schema outlives the server
		fn(t, startServe(t, t.TempDir(), "--demo", "--db", dsn))
	})
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestMalformedInputRefused: NUL bytes and invalid UTF-8 anywhere a client
// can put them are refused at the edge with a 400 in the surface's format,
// on both engines (PostgreSQL refuses such text: these were 500s).
func TestMalformedInputRefused(t *testing.T) {
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, method, path, ctype, body, basicUser string
		wantType, wantBody                         string
	}{
		{"sign-in user ID with NUL", "POST", "/thirdparty/login", form, "user_id=smithj0001%00&password=x", "", "text/html", msgMalformed},
		{"sign-in password with invalid UTF-8", "POST", "/thirdparty/login", form, "user_id=smithj0001&password=%FF%FE", "", "text/html", "cannot be accepted"},
		{"sign-up name with NUL", "POST", "/thirdparty/signup", form, "first_name=a%00&last_name=b&email=a@example.org", "", "text/html", "cannot be accepted"},
		{"forgot password with invalid UTF-8", "POST", "/thirdparty/forgot-password", form, "user_id=%C3%28", "", "text/html", "cannot be accepted"},
		{"forgot user ID with NUL", "POST", "/citizen/forgot-user-id", form, "email=a%00@example.org", "", "text/html", "cannot be accepted"},
		{"continue with NUL", "GET", "/thirdparty/continue?request=%00", "", "", "", "text/html", "cannot be accepted"},
		{"authorize state with NUL", "GET", "/thirdparty/authorize?client_id=x&response_type=code&scope=openid&state=%00", "", "", "", "text/html", "cannot be accepted"},
		{"authorize nonce with invalid UTF-8", "GET", "/thirdparty/authorize?client_id=x&response_type=code&scope=openid&nonce=%FF", "", "", "", "text/html", "cannot be accepted"},
		{"token endpoint client ID with NUL", "POST", "/thirdparty/oauth/token", form, "grant_type=client_credentials&client_id=a%00&client_secret=b", "", "application/json", `"invalid_request"`},
		{"provisioning path with invalid UTF-8", "GET", "/thirdparty/api/v1/apps/%FF/grants", "", "", "", "application/json", `"code":"invalid"`},
		{"provisioning JSON with an escaped NUL", "PUT", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", "application/json", `{"reason":"\u0000"}`, "", "application/json", `"code":"invalid"`},
		{"SCIM path with NUL", "GET", "/thirdparty/scim/v2/Users/%00", "", "", "", "application/scim+json", `"scimType":"invalidValue"`},
		{"SCIM filter with invalid UTF-8", "GET", "/thirdparty/scim/v2/Users?filter=userName+eq+%22%FF%22", "", "", "", "application/scim+json", `"status":"400"`},
		{"Basic client ID with NUL", "GET", "/thirdparty/scim/v2/Users", "", "", "osmis\x00", "application/scim+json", `"status":"400"`},
		{"dev mailbox with invalid UTF-8", "GET", "/dev/mailbox?to=%FF", "", "", "", "text/html", "cannot be accepted"},
	}
	engines(t, func(t *testing.T, base string) {
		for _, c := range cases {
			req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			if c.basicUser != "" {
				req.SetBasicAuth(c.basicUser, "secret")
			}
			res, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400\n%.300s", c.name, res.StatusCode, b)
				continue
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, c.wantType) {
				t.Errorf("%s: Content-Type %q, want %s", c.name, ct, c.wantType)
			}
			if !strings.Contains(string(b), c.wantBody) {
				t.Errorf("%s: body lacks %q:\n%.500s", c.name, c.wantBody, b)
			}
		}
		// Nothing was changed: the right password still signs in (the
		// malformed sign-in above was never judged, so counted nothing).
		if code, loc := signIn(t, base, "smithj0001", "Mitten!State26", "Go-test"); code != http.StatusSeeOther {
			t.Errorf("sign-in after the malformed requests: %d %s", code, loc)
		}
	})
}

// signIn posts the sign-in form with the given User-Agent and returns the
// status and Location.
func signIn(t *testing.T, base, user, password, ua string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/thirdparty/login", strings.NewReader(url.Values{"user_id": {user}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", ua)
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode >= 500 {
		t.Fatalf("sign-in with User-Agent %q: %d\n%.300s", ua, res.StatusCode, b)
	}
	if strings.Contains(string(b), "Your account is locked") {
		return http.StatusLocked, ""
	}
	return res.StatusCode, res.Header.Get("Location")
}

// TestDirtyUserAgentIsStored: a User-Agent with invalid UTF-8 (which
// HTTP allows as obs-text) and one far too long never make sign-in fail:
// failures are counted (five lock the account) and a session is created.
func TestDirtyUserAgentIsStored(t *testing.T) {
	ua := "Mozilla/5.0 \xff\xfe\xc3 " + strings.Repeat("é", 300)
	engines(t, func(t *testing.T, base string) {
		for i := range 5 {
			if code, _ := signIn(t, base, "smithj0001", "wrong-password-1", ua); code != http.StatusUnauthorized && code != http.StatusLocked {
				t.Fatalf("failure %d: %d", i+1, code)
			}
		}
		code, _ := signIn(t, base, "smithj0001", "Mitten!State26", ua)
		if code != http.StatusLocked {
			t.Errorf("right password after five failures with a dirty User-Agent: %d, want the lockout", code)
		}
		if code, loc := signIn(t, base, "garciam0001", "Mitten!State26", ua); code != http.StatusSeeOther {
			t.Errorf("sign-in with a dirty User-Agent: %d %s, want a session", code, loc)
		}
	})
}
