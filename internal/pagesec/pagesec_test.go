package pagesec

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"milogin"
)

func TestHeaders(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	static := func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/static/") }
	for _, tc := range []struct {
		name   string
		policy Policy
		path   string
		want   map[string]string // "" means absent
	}{
		{"plain", Policy{CSP: "default-src 'none'", ReferrerPolicy: "no-referrer"}, "/static/a.css", map[string]string{
			"Content-Security-Policy": "default-src 'none'", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
			"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Strict-Transport-Security": "", "Permissions-Policy": "",
		}},
		{"tls page", Policy{CSP: "x", ReferrerPolicy: "same-origin", PermissionsPolicy: "camera=()", Secure: true, Cacheable: static}, "/citizen/login", map[string]string{
			"Strict-Transport-Security": HSTS, "Permissions-Policy": "camera=()", "Cache-Control": "no-store",
		}},
		{"cacheable static", Policy{CSP: "x", ReferrerPolicy: "same-origin", Cacheable: static}, "/static/a.css", map[string]string{
			"Cache-Control": "",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Headers(tc.policy, ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			for h, want := range tc.want {
				if got := rec.Header().Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
}

func TestReadForm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		status int
		ok     bool
	}{
		{"small", "a=1", 0, true},
		{"too large", "a=" + strings.Repeat("x", 100), http.StatusRequestEntityTooLarge, false},
		{"malformed", "a=%zz", http.StatusBadRequest, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			status, msg, ok := ReadForm(httptest.NewRecorder(), r, 64)
			if status != tc.status || ok != tc.ok || (ok != (msg == "")) {
				t.Errorf("ReadForm = %d, %q, %v; want %d, ok %v", status, msg, ok, tc.status, tc.ok)
			}
		})
	}
}

func TestFieldErrors(t *testing.T) {
	vs := []milogin.Violation{{Field: "email", Message: "a"}, {Field: "name", Message: "b"}, {Field: "email", Message: "c"}}
	if got := FieldErrors(vs, "email"); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("FieldErrors(email) = %v", got)
	}
	if got := FieldErrors(vs, "phone"); got != nil {
		t.Errorf("FieldErrors(phone) = %v, want none", got)
	}
}
