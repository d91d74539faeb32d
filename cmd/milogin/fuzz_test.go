package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"milogin"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
	"milogin/internal/wellformed"
)

var (
	fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	fuzzTypes   = []string{"application/x-www-form-urlencoded", "application/json", "application/scim+json", "text/plain", "", "multipart/form-data; boundary=x"}
)

// FuzzEdgeRequests sends arbitrary requests to a running `milogin serve
// --demo` (SQLite): every form of the pages, /authorize, the token
// endpoint, the provisioning API and SCIM, the development mailbox. No
// request may answer 5xx; a request with malformed text must answer 400 or
// 413 and change nothing (no audit event appears).
func FuzzEdgeRequests(f *testing.F) {
	data := f.TempDir()
	base := startServe(f, data, "--demo")
	store, err := sqlite.Open(context.Background(), filepath.Join(data, "milogin.db"), sqlstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	lastEvent := func(t *testing.T) int64 {
		var id int64
		if err := store.Read(context.Background(), func(tx milogin.Tx) error {
			evs, err := tx.Audit().List(context.Background(), milogin.AuditFilter{Limit: 1})
			if len(evs) > 0 {
				id = evs[0].ID
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}

	seeds := []struct {
		method   uint8
		target   string
		ctype    uint8
		body, ua string
	}{
		{1, "/thirdparty/login", 0, "user_id=smithj0001&password=wrong", "Mozilla/5.0"},
		{1, "/thirdparty/login", 0, "user_id=smithj0001%00&password=x", "Mozilla/5.0"},
		{1, "/thirdparty/login", 0, "user_id=%FF&password=%FE", "Mozilla/5.0 \xff"},
		{1, "/thirdparty/signup", 0, "first_name=John&last_name=Smith&email=j%40example.org&user_id=smithj0002", ""},
		{1, "/thirdparty/signup", 0, "first_name=Nguy%E1%BB%85n&last_name=%00", ""},
		{1, "/thirdparty/forgot-password", 0, "user_id=smithj0001", ""},
		{1, "/thirdparty/forgot-user-id", 0, "email=%C3%28", ""},
		{1, "/thirdparty/change-password", 0, "current=a&password=b&confirm=b", ""},
		{1, "/thirdparty/signup/pin", 0, "pin=123456", ""},
		{0, "/thirdparty/continue?request=%00", 4, "", ""},
		{0, "/thirdparty/authorize?client_id=x&response_type=code&scope=openid&state=%00&nonce=%FF", 4, "", ""},
		{0, "/thirdparty/authorize?client_id=x&response_type=code&scope=openid&code_challenge=abc&code_challenge_method=S256", 4, "", ""},
		{0, "/thirdparty/end_session?id_token_hint=eyJhbGciOiJub25lIn0.e30.&client_id=x", 4, "", ""},
		{1, "/thirdparty/oauth/token", 0, "grant_type=client_credentials&client_id=a%00", ""},
		{1, "/thirdparty/oauth/token", 0, "grant_type=authorization_code&code=x&redirect_uri=%FF", ""},
		{0, "/thirdparty/scim/v2/Users?filter=userName+eq+%22smithj0001%22", 4, "", ""},
		{0, "/thirdparty/scim/v2/Users/%00", 4, "", ""},
		{0, "/thirdparty/scim/v2/Users?filter=((((", 4, "", ""},
		{2, "/thirdparty/api/v1/apps/osmis/grants/smithj0001", 1, `{"reason":"\u0000"}`, ""},
		{3, "/thirdparty/api/v1/apps/%FF/grants/x", 1, `{}`, ""},
		{0, "/thirdparty/api/v1/users?login_id=%00", 4, "", ""},
		{0, "/dev/mailbox?to=%FF", 4, "", ""},
		{1, "/thirdparty/continue/mfa/passkey/finish", 1, "{\"id\":\"\xff\"}", ""},
		{1, "/thirdparty/login", 5, "--x\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\n\x00\r\n--x--", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.ctype, s.body, s.ua)
	}
	f.Fuzz(func(t *testing.T, method uint8, target string, ctype uint8, body, ua string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Host != "" || u.Scheme != "" {
			return
		}
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		ct := fuzzTypes[int(ctype)%len(fuzzTypes)]
		req, err := http.NewRequest(m, base+u.RequestURI(), strings.NewReader(body))
		if err != nil {
			return
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("User-Agent", ua)
		// The same request as the server will see it, for the verdict.
		probe := httptest.NewRequest(m, u.RequestURI(), strings.NewReader(body))
		probe.Header = req.Header.Clone()
		malformed := wellformed.Check(probe)

		before := lastEvent(t)
		res, err := noRedirect.Do(req)
		if err != nil {
			return // the client refused to send it (e.g. a control character in the User-Agent)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q (%s) body %q: %d\n%.400s", m, target, ct, body, res.StatusCode, b)
		}
		if malformed != nil {
			want := http.StatusBadRequest
			if errors.Is(malformed, wellformed.ErrTooLarge) {
				want = http.StatusRequestEntityTooLarge
			}
			if res.StatusCode != want {
				t.Fatalf("%s %q body %q is malformed (%v) but answered %d", m, target, body, malformed, res.StatusCode)
			}
			if after := lastEvent(t); after != before {
				t.Fatalf("%s %q body %q is malformed but wrote audit event %d", m, target, body, after)
			}
		}
	})
}
