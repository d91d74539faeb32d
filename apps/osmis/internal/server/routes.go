package server

import "net/http"

// Handler returns OSMIS's whole URL surface. Every state-changing form is
// behind http.CrossOriginProtection; the back-channel logout endpoint is a
// server-to-server POST (no browser headers), authenticated by the logout
// token's signature.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	page := func(admin bool, h func(http.ResponseWriter, *http.Request, *current)) http.Handler {
		return s.signedIn(admin, h)
	}

	// Public.
	mux.HandleFunc("GET /{$}", s.handleOldURL)
	mux.HandleFunc("GET /login", s.handleLogin)
	mux.HandleFunc("GET /callback", s.handleCallback)
	mux.HandleFunc("GET /signed-out", s.handleSignedOut)
	mux.HandleFunc("POST /backchannel-logout", s.handleBackchannelLogout)
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /static/", handleStatic())

	// Any signed-in staff member.
	mux.Handle("GET /dashboard", page(false, s.handleDashboard))
	mux.Handle("POST /tasks", page(false, s.handleAddTask))
	mux.Handle("POST /tasks/{id}/done", page(false, s.handleTaskDone))
	mux.Handle("GET /systems", page(false, s.handleSystems))
	mux.Handle("GET /search", page(false, s.handleSearch))
	mux.Handle("POST /logout", page(false, s.handleLogout))

	// MWA Administrators: the Staff Account Admin Utility.
	mux.Handle("GET /admin", page(true, s.handleAdmin))
	mux.Handle("GET /admin/staff/new", page(true, s.handleNewStaff))
	mux.Handle("POST /admin/staff", page(true, s.handleCreateStaff))
	mux.Handle("GET /admin/staff/{id}", page(true, s.handleEditStaff))
	mux.Handle("POST /admin/staff/{id}", page(true, s.handleUpdateStaff))
	mux.Handle("GET /admin/mwas", page(true, s.handleMWAs))
	mux.Handle("POST /admin/mwas/{id}/domains", page(true, s.handleAddDomain))
	mux.Handle("POST /admin/mwas/{id}/domains/remove", page(true, s.handleRemoveDomain))
	mux.Handle("GET /admin/links", page(true, s.handleLinks))
	mux.Handle("POST /admin/links", page(true, s.handleAddLink))
	mux.Handle("POST /admin/links/{id}/delete", page(true, s.handleDeleteLink))

	mux.HandleFunc("/", s.notFound)

	var h http.Handler = mux
	h = http.NewCrossOriginProtection().Handler(h)
	return limitBody(h)
}

// limitBody caps form bodies at 64 KiB.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r)
	})
}
