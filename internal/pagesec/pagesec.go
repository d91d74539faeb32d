// Package pagesec is what every server-rendered surface of MILogin (the
// portals' pages and the administration console) shares to send a page:
// the security headers, the template set, rendering without half-pages and
// bounded form reading. Each surface keeps its own policy values; this
// package only makes sure they are applied the same way.
package pagesec

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"

	"milogin"
)

// HSTS is the Strict-Transport-Security value sent over HTTPS: two years,
// subdomains included.
const HSTS = "max-age=63072000; includeSubDomains"

// Policy is one surface's header values.
type Policy struct {
	CSP            string // Content-Security-Policy
	ReferrerPolicy string // Referrer-Policy
	// PermissionsPolicy is sent when not empty.
	PermissionsPolicy string
	// Secure adds HSTS (the surface is served over HTTPS).
	Secure bool
	// Cacheable reports the requests that may be cached (static files);
	// every other answer carries Cache-Control: no-store. Nil: none.
	Cacheable func(*http.Request) bool
}

// Headers sets the policy's headers on every answer of next, together with
// the ones every surface sends alike (nosniff, X-Frame-Options DENY).
func Headers(p Policy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", p.CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", p.ReferrerPolicy)
		h.Set("X-Frame-Options", "DENY")
		if p.PermissionsPolicy != "" {
			h.Set("Permissions-Policy", p.PermissionsPolicy)
		}
		if p.Secure {
			h.Set("Strict-Transport-Security", HSTS)
		}
		if p.Cacheable == nil || !p.Cacheable(r) {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// ParseTemplates parses every templates/*.html of fsys as a page of its
// own on top of templates/layout.html and the shared partials (the glob
// patterns in partials), keyed by the name without .html. Files whose name
// starts with "_" are partials, never pages.
func ParseTemplates(fsys fs.FS, funcs template.FuncMap, partials ...string) (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, append([]string{"templates/layout.html"}, partials...)...)
	if err != nil {
		return nil, fmt.Errorf("parsing layout: %w", err)
	}
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", name, err)
		}
		out[strings.TrimSuffix(name, ".html")] = t
	}
	return out, nil
}

// Render writes the page t renders from layout.html with data. It renders
// into a buffer first, so that a template error becomes a clean 500, never
// half a page; the error is returned for the caller to log.
func Render(w http.ResponseWriter, status int, t *template.Template, data any) error {
	return Write(w, status, func(buf *bytes.Buffer) error { return t.ExecuteTemplate(buf, "layout.html", data) })
}

// Write answers with the HTML page build writes into a buffer, or with a
// clean 500 when build fails (its error is returned for the caller to log).
// The buffers are reused: a page is a few kilobytes, grown anew each time.
func Write(w http.ResponseWriter, status int, build func(*bytes.Buffer) error) error {
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			buffers.Put(buf)
		}
	}()
	buf.Reset()
	if err := build(buf); err != nil {
		InternalError(w)
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// InternalError answers a plain 500 that says nothing of the cause.
func InternalError(w http.ResponseWriter) {
	http.Error(w, "An internal error has occurred.", http.StatusInternalServerError)
}

// ReadForm reads a form body of at most maxBytes. When it cannot, it
// returns ok false with the status and message of the error page to show.
func ReadForm(w http.ResponseWriter, r *http.Request, maxBytes int64) (status int, msg string, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, "The form was too large to accept.", false
		}
		return http.StatusBadRequest, "The form could not be read. Please go back and try again.", false
	}
	return 0, "", true
}

// FieldErrors returns the messages of the violations of one form field,
// for the pages' per-field error lists.
func FieldErrors(vs []milogin.Violation, field string) []string {
	var out []string
	for _, v := range vs {
		if v.Field == field {
			out = append(out, v.Message)
		}
	}
	return out
}
