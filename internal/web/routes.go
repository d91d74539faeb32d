package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes is the whole URL surface of the pages, in one place: the checklist
// for a security review. {portal} is citizen, thirdparty or workforce.
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.handleRoot)
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(Static())))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	m.HandleFunc("GET /readyz", s.handleReady)
	if s.cfg.Registry != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	}

	m.HandleFunc("GET /{portal}/{$}", s.withPortal(s.handlePortalRoot))
	m.HandleFunc("GET /{portal}/login", s.withPortal(s.handleLoginPage))
	m.HandleFunc("POST /{portal}/login", s.withPortal(s.handleLogin))
	m.HandleFunc("GET /{portal}/login/active-session", s.withPortal(s.handleTakeoverPage))
	m.HandleFunc("POST /{portal}/login/active-session", s.withPortal(s.handleTakeover))
	m.HandleFunc("POST /{portal}/logout", s.withPortal(s.handleLogout))
	m.HandleFunc("GET /{portal}/help", s.withPortal(s.handleHelp))

	m.HandleFunc("GET /{portal}/home", s.withPortal(s.requireSession(s.handleHome)))
	m.HandleFunc("GET /{portal}/change-password", s.withPortal(s.handleChangePasswordPage))
	m.HandleFunc("POST /{portal}/change-password", s.withPortal(s.handleChangePassword))
	m.HandleFunc("GET /{portal}/change-password/done", s.withPortal(s.requireSession(s.handleChangePasswordDone)))

	if s.cfg.Demo {
		m.HandleFunc("GET /dev/mailbox", s.handleMailbox)
	}
}
