package server

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"milogin/apps/osmis/internal/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pages are parsed once: the layout plus one content file each.
var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"thousands": thousands,
		"date":      func(t time.Time) string { return t.Format("01/02/2006 3:04 PM") },
		"isoDate":   func(t time.Time) string { return t.Format("2006-01-02") },
		"add":       func(a, b int) int { return a + b },
		"eq64":      func(a, b int64) bool { return a == b },
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html"))
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(layout.Clone()).ParseFS(assets, n))
	}
	return out
}()

// thousands writes 6848 as 6,848.
func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// pageData is what every template gets; Data holds the page's own.
type pageData struct {
	Title  string
	Staff  *store.Staff // the signed-in staff member, or nil
	Nav    string       // the menu item of this page
	Flash  string
	Errors map[string]string // field name → the rule it failed
	Data   any
	// Query is what the header's search bar shows (the search page's).
	Query string
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	t, ok := pages[name]
	if !ok {
		panic("server: no template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", d); err != nil {
		s.log.Error("rendering", "page", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' "+s.formTargets()+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// formTargets lets a redirect after Log Off (a form post) go to MILogin.
func (s *Server) formTargets() string {
	i := strings.Index(s.cfg.Issuer, "://")
	if i < 0 {
		return ""
	}
	host, _, _ := strings.Cut(s.cfg.Issuer[i+3:], "/")
	return s.cfg.Issuer[:i+3] + host
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.page(w, r, status, "error", pageData{Title: title, Data: msg})
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("internal error", "path", r.URL.Path, "err", err)
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "OSMIS could not complete the request. Please try again.")
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "Page not found", "There is no such page in OSMIS.")
}

func handleStatic() http.Handler {
	sub, _ := fs.Sub(assets, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
