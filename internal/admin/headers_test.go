package admin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"milogin/internal/admin"
)

// TestConsoleHeaders pins the console's security headers, which are
// stricter than the portals' pages: form-action 'self', no referrer and
// nothing cached; HSTS only when the console is served over HTTPS.
func TestConsoleHeaders(t *testing.T) {
	e := newEnv(t)
	const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	for _, tc := range []struct {
		base, hsts string
	}{
		{"http://admin.example", ""},
		{"https://admin.example", "max-age=63072000; includeSubDomains"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			h, err := admin.NewServer(admin.Config{Service: e.svc, BaseURL: tc.base})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/login", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /admin/login = %d", rec.Code)
			}
			for name, want := range map[string]string{
				"Content-Security-Policy":   csp,
				"X-Content-Type-Options":    "nosniff",
				"Referrer-Policy":           "no-referrer",
				"X-Frame-Options":           "DENY",
				"Cache-Control":             "no-store",
				"Strict-Transport-Security": tc.hsts,
				"Permissions-Policy":        "",
			} {
				if got := rec.Header().Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}
