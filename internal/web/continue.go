package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"milogin"
	"milogin/internal/access"
)

// handleContinue finishes a protocol's parked sign-in (an OpenID Connect
// authorization request, later a SAML AuthnRequest). The protocol package
// created the LoginRequest and sent the browser here; this page makes sure
// the person is signed in, lets the application's rules decide (gate.go),
// records the outcome on the request and sends the browser back to the
// protocol's callback.
func (s *Server) handleContinue(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	id := r.URL.Query().Get("login")
	now := s.cfg.Auth.Now().UTC()
	var req *milogin.LoginRequest
	err := s.cfg.Store.Read(r.Context(), func(tx milogin.Tx) error {
		var err error
		req, err = tx.LoginRequests().Get(r.Context(), id)
		return err
	})
	if err == nil && req.Refusal != "" && req.Portal == p.ID && strings.HasPrefix(req.CallbackURL, "/") {
		// Already refused (CANCEL on the terms): the protocol tells the
		// application.
		redirect(w, r, req.CallbackURL)
		return
	}
	if err == nil && (req.Portal != p.ID || !now.Before(req.ExpiresAt) || req.Done() || !strings.HasPrefix(req.CallbackURL, "/")) {
		err = milogin.Errorf("web.handleContinue", milogin.ENOTFOUND, "This sign-in request has expired. Please return to the application and try again.")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	token := s.sessionToken(r, p.ID)
	sess, acct, err := s.cfg.Auth.Authenticate(r.Context(), p.ID, token)
	if err != nil {
		s.notSignedIn(w, r, p, token, err)
		return
	}
	if req.ForceLogin && sess.CreatedAt.Before(req.CreatedAt) {
		// The application asked for a fresh sign-in (prompt=login, max_age):
		// a session from before the request does not do.
		redirect(w, r, "/"+string(p.ID)+"/login?reauth=1&next="+queryEscape(r.URL.RequestURI()))
		return
	}
	si := &signedIn{Session: sess, Account: acct, Token: token}
	amr, ok := s.appGate(w, r, p, req, si)
	if !ok {
		return // the gate answered: terms, second factor or access denied
	}
	if f := s.finish[req.Protocol]; f != nil {
		// The protocol records the sign-in in the write that answers it.
		now := s.cfg.Auth.Now().UTC()
		done := *req
		completed(&done, si, amr, now)
		f(w, r, &done, func(ctx context.Context, tx milogin.Tx) error {
			_, err := completeIn(ctx, tx, req.ID, si, amr, now)
			return err
		})
		return
	}
	if _, err := s.completeLogin(r, req.ID, si, amr); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, req.CallbackURL)
}

// completeLogin records who signed in on the parked request.
func (s *Server) completeLogin(r *http.Request, id string, si *signedIn, amr []string) (*milogin.LoginRequest, error) {
	now := s.cfg.Auth.Now().UTC()
	var out *milogin.LoginRequest
	err := s.cfg.Store.Write(r.Context(), func(tx milogin.Tx) (err error) {
		out, err = completeIn(r.Context(), tx, id, si, amr, now)
		return err
	})
	return out, err
}

// completeIn records who signed in on the parked request id, in tx; a
// request already completed is refused (ECONFLICT).
func completeIn(ctx context.Context, tx milogin.Tx, id string, si *signedIn, amr []string, now time.Time) (*milogin.LoginRequest, error) {
	return tx.LoginRequests().Update(ctx, id, func(req *milogin.LoginRequest) error {
		if req.Done() {
			return milogin.Errorf("web.completeLogin", milogin.ECONFLICT, "This sign-in request was already used. Please return to the application and try again.")
		}
		completed(req, si, amr, now)
		return nil
	})
}

// completed marks req as signed in by si with the methods amr at now.
func completed(req *milogin.LoginRequest, si *signedIn, amr []string, now time.Time) {
	req.AccountID = si.Account.ID
	req.SessionID = si.Session.ID
	req.AuthTime = si.Session.CreatedAt
	req.AMR = amr
	req.DoneAt = now
}

// Silent answers a protocol's request that must not show a page
// (OpenID Connect prompt=none): it applies what /continue would, and where
// /continue would show a page it returns the reason instead, as the OpenID
// Connect error code — login_required (no live session, or a fresh sign-in
// was asked for), access_denied, consent_required (terms to agree to) or
// interaction_required (a second factor). On "" the request is completed.
func (s *Server) Silent(r *http.Request, req *milogin.LoginRequest) (string, error) {
	token := s.sessionToken(r, req.Portal)
	sess, acct, err := s.cfg.Auth.Authenticate(r.Context(), req.Portal, token)
	if err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			return "", err
		}
		return "login_required", nil
	}
	if req.ForceLogin && sess.CreatedAt.Before(req.CreatedAt) {
		return "login_required", nil
	}
	_, d, err := s.cfg.Access.Decide(r.Context(), req, acct, sess)
	if err != nil {
		return "", err
	}
	switch d.Step {
	case access.Enter:
	case access.Denied:
		return "access_denied", nil
	case access.Terms, access.Enrol:
		// Enrolling, even without terms, is the person's choice to make.
		return "consent_required", nil
	default:
		return "interaction_required", nil
	}
	_, err = s.completeLogin(r, req.ID, &signedIn{Session: sess, Account: acct, Token: token}, d.AMR)
	return "", err
}
