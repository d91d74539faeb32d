package cars

import "net/http"

// routes is the whole URL surface of CARS e-Services in one place.
func (s *Server) routes() {
	m := s.mux
	m.Handle("GET /static/", http.FileServerFS(staticFS))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })

	// Public pages: the e-Services menu and the mechanic services.
	m.HandleFunc("GET /{$}", s.handleHome)
	m.HandleFunc("GET /mechanic-services", s.handleMechanicServices)
	m.HandleFunc("GET /service/{slug}", s.handleService)
	m.HandleFunc("GET /logged-off", s.handleLoggedOff)

	// Sign-in with MILogin (OpenID Connect) and Log Off.
	m.HandleFunc("GET /login", s.handleLogin)
	m.HandleFunc("GET /callback", s.handleCallback)
	m.HandleFunc("POST /logoff", s.handleLogoff)
	m.HandleFunc("POST /backchannel-logout", s.handleBackchannelLogout)

	// Signed-in pages.
	m.HandleFunc("GET /account-access", s.requireSession(s.handleAccountAccess))
	m.HandleFunc("GET /request-code/{step}", s.requireSession(s.handleRequestStep))
	m.HandleFunc("POST /request-code/{step}", s.requireSession(s.handleRequestPost))
	m.HandleFunc("GET /request-code/confirmation/{conf}", s.requireSession(s.handleConfirmation))
	m.HandleFunc("GET /request-code/confirmation/{conf}/print", s.requireSession(s.handleConfirmationPrint))
	m.HandleFunc("GET /add-access/{step}", s.requireSession(s.handleAccessStep))
	m.HandleFunc("POST /add-access/{step}", s.requireSession(s.handleAccessPost))
	m.HandleFunc("GET /springboard", s.requireSession(s.handleSpringboard))
	m.HandleFunc("GET /accounts", s.requireSession(s.handleViewAccounts))
	m.HandleFunc("GET /alerts", s.requireSession(s.handleAlerts))
	m.HandleFunc("POST /alerts/{id}/read", s.requireSession(s.handleMarkRead))
	m.HandleFunc("GET /settings", s.requireSession(s.handleSettings))
	m.HandleFunc("POST /settings", s.requireSession(s.handleSettingsPost))

	if s.cfg.Demo {
		m.HandleFunc("GET /dev/mailbox", s.handleMailbox)
	}
}
