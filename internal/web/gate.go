package web

import (
	"net/http"

	"milogin"
)

// appGate decides whether the signed-in person may enter the application of
// a parked sign-in. It returns the authentication methods used ("pwd", and
// the second factor when one was asked) and true to proceed; false when it
// has answered the request itself.
func (s *Server) appGate(w http.ResponseWriter, r *http.Request, p milogin.Portal, req *milogin.LoginRequest, si *signedIn) ([]string, bool) {
	var app *milogin.Application
	err := s.cfg.Store.Read(r.Context(), func(tx milogin.Tx) error {
		var err error
		app, err = tx.Apps().Get(r.Context(), req.AppID)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if !app.InPortal(p.ID) {
		s.errorPage(w, r, http.StatusForbidden, "This application is not offered in "+p.Name+".")
		return nil, false
	}
	return []string{"pwd"}, true
}
