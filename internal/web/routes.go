package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes is the whole URL surface of the pages, in one place: the checklist
// for a security review. s.portal registers a route under every portal's
// prefix (/citizen, /thirdparty, /workforce).
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.handleRoot)
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(Static())))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	m.HandleFunc("GET /readyz", s.handleReady)
	if s.cfg.Registry != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	}

	s.portal("GET /{$}", s.handlePortalRoot)
	s.portal("GET /login", s.handleLoginPage)
	s.portal("POST /login", s.handleLogin)
	s.portal("GET /login/active-session", s.handleTakeoverPage)
	s.portal("POST /login/active-session", s.handleTakeover)
	s.portal("POST /logout", s.handleLogout)
	s.portal("GET /help", s.handleHelp)

	s.portal("GET /continue", s.handleContinue)

	s.portal("GET /home", s.requireSession(s.handleHome))
	s.portal("GET /change-password", s.handleChangePasswordPage)
	s.portal("POST /change-password", s.handleChangePassword)
	s.portal("GET /change-password/done", s.requireSession(s.handleChangePasswordDone))

	if s.cfg.Demo {
		m.HandleFunc("GET /dev/mailbox", s.handleMailbox)
	}
}

// portal registers pattern ("GET /login") under each portal's path prefix,
// with the portal in the request context.
func (s *Server) portal(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	if method == http.MethodGet {
		s.pages[path] = true
	}
	for id, p := range s.cfg.Auth.Portals {
		s.mux.HandleFunc(method+" /"+string(id)+path, func(w http.ResponseWriter, r *http.Request) {
			h(w, r.WithContext(context.WithValue(r.Context(), portalKey, p)))
		})
	}
}
