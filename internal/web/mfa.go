package web

import (
	"net/http"
	"net/url"

	"milogin"
	"milogin/internal/mfa"
	"milogin/internal/passkeyweb"
)

// mfaData is what the MFA pages receive.
type mfaData struct {
	LoginID string
	App     *milogin.Application
	Options mfa.Options
	// Method is the option chosen on the passcode page: "email", "sms",
	// "totp".
	Method string
	CodeID string // the passcode's handle (email, sms)
	Sent   string // the masked address or number the passcode went to
}

// renderMFA shows "MILogin Multifactor Authentication (MFA)": Hello NAME
// and the options the account has.
func (s *Server) renderMFA(w http.ResponseWriter, r *http.Request, status int, pg *page, f *loginFlow, app *milogin.Application) {
	opts, err := s.cfg.MFA.OptionsFor(r.Context(), f.si.Account)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !opts.Any() {
		s.errorPage(w, r, http.StatusForbidden, "Your account has no way to receive a passcode. Please call the help desk.")
		return
	}
	pg.Title = "MILogin Multifactor Authentication (MFA)"
	pg.Data = mfaData{LoginID: f.req.ID, App: app, Options: opts}
	s.render(w, r, status, "mfa", pg)
}

// appOf returns the parked sign-in's application.
func (s *Server) appOf(r *http.Request, f *loginFlow) (*milogin.Application, error) {
	var app *milogin.Application
	err := s.cfg.Store.Read(r.Context(), func(tx milogin.Tx) (err error) {
		app, err = tx.Apps().Get(r.Context(), f.req.AppID)
		return err
	})
	return app, err
}

func (s *Server) flowFor(f *loginFlow, app *milogin.Application) mfa.Flow {
	return mfa.Flow{Account: f.si.Account, Session: f.si.Session, LoginID: f.req.ID, AppName: app.Name}
}

// handleContinueMFA is an option button of the MFA page: Email and Text
// send a passcode and show the passcode page; Authenticator app shows it
// without sending anything.
func (s *Server) handleContinueMFA(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f, ok := s.loginFlowOf(w, r, r.PostFormValue("login"))
	if !ok {
		return
	}
	p := portalOf(r)
	app, err := s.appOf(r, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	base := "/" + string(p.ID) + "/continue/mfa/passcode?login=" + url.QueryEscape(f.req.ID)
	method := r.PostFormValue("method")
	switch method {
	case "totp":
		redirect(w, r, base+"&method=totp")
		return
	case "email", "sms":
	default:
		pg := &page{Portal: p, Account: f.si.Account, Errors: []milogin.Violation{{Field: "method", Rule: milogin.RuleRequired, Message: "Please select one of the options."}}}
		s.renderMFA(w, r, http.StatusBadRequest, pg, f, app)
		return
	}
	ch := milogin.ChannelEmail
	if method == "sms" {
		ch = milogin.ChannelSMS
	}
	id, err := s.cfg.MFA.SendPasscode(r.Context(), s.flowFor(f, app), ch, meta(r))
	if err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		s.renderMFA(w, r, milogin.HTTPStatus(err), &page{Portal: p, Account: f.si.Account, Error: milogin.ErrorMessage(err)}, f, app)
		return
	}
	redirect(w, r, base+"&method="+method+"&code="+url.QueryEscape(id))
}

// passcodePage builds the passcode page for the chosen method.
func (s *Server) passcodePage(r *http.Request, f *loginFlow, app *milogin.Application, method, codeID string) (*page, bool) {
	d := mfaData{LoginID: f.req.ID, App: app, Method: method, CodeID: codeID}
	switch method {
	case "email":
		d.Sent = milogin.MaskEmail(f.si.Account.Email)
	case "sms":
		d.Sent = milogin.MaskPhone(f.si.Account.Mobile)
	case "totp":
	default:
		return nil, false
	}
	if method != "totp" && codeID == "" {
		return nil, false
	}
	return &page{Title: "MILogin Multifactor Authentication (MFA)", Portal: portalOf(r), Account: f.si.Account, Data: d}, true
}

func (s *Server) handlePasscodePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, ok := s.loginFlowOf(w, r, q.Get("login"))
	if !ok {
		return
	}
	app, err := s.appOf(r, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg, ok := s.passcodePage(r, f, app, q.Get("method"), q.Get("code"))
	if !ok {
		redirect(w, r, continueURL(f.req.Portal, f.req.ID))
		return
	}
	s.render(w, r, http.StatusOK, "mfa-passcode", pg)
}

// handlePasscode is the passcode page's Submit.
func (s *Server) handlePasscode(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f, ok := s.loginFlowOf(w, r, r.PostFormValue("login"))
	if !ok {
		return
	}
	app, err := s.appOf(r, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	method, codeID := r.PostFormValue("method"), r.PostFormValue("code")
	pg, ok := s.passcodePage(r, f, app, method, codeID)
	if !ok {
		redirect(w, r, continueURL(f.req.Portal, f.req.ID))
		return
	}
	passcode := trimmed(r.PostFormValue("passcode"), 32)
	if passcode == "" {
		pg.Errors = []milogin.Violation{{Field: "passcode", Rule: milogin.RuleRequired, Message: "Passcode is required."}}
		s.render(w, r, http.StatusBadRequest, "mfa-passcode", pg)
		return
	}
	if method == "totp" {
		err = s.cfg.MFA.VerifyTOTP(r.Context(), s.flowFor(f, app), passcode, meta(r))
	} else {
		err = s.cfg.MFA.VerifyPasscode(r.Context(), s.flowFor(f, app), codeID, passcode, meta(r))
	}
	if err != nil {
		switch milogin.ErrorKind(err) {
		case milogin.EINTERNAL:
			s.fail(w, r, err)
		case milogin.EUNAUTHORIZED:
			pg.Errors = []milogin.Violation{{Field: "passcode", Rule: "passcode", Message: milogin.ErrorMessage(err)}}
			s.render(w, r, http.StatusUnauthorized, "mfa-passcode", pg)
		default:
			// Expired, used up, too many tries: back to the options, with why.
			s.renderMFA(w, r, milogin.HTTPStatus(err), &page{Portal: portalOf(r), Account: f.si.Account, Error: milogin.ErrorMessage(err)}, f, app)
		}
		return
	}
	if err := s.rotateAfterStepUp(w, r, f); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, continueURL(f.req.Portal, f.req.ID))
}

// rotateAfterStepUp gives the session a new token once a second factor is
// done (SECURITY-TESTS.md: a new token at sign-in and step-up), and moves the
// parked sign-in's second-factor mark to it.
func (s *Server) rotateAfterStepUp(w http.ResponseWriter, r *http.Request, f *loginFlow) error {
	res, err := s.cfg.Auth.RotateSession(r.Context(), f.req.Portal, f.si.Token, f.req.ID, meta(r))
	if err != nil {
		return err
	}
	s.setSessionCookie(w, f.req.Portal, res.Token)
	f.si = &signedIn{Session: res.Session, Account: res.Account, Token: res.Token}
	return nil
}

// writeJSON answers a script of our pages.
func writeJSON(w http.ResponseWriter, status int, v any) { passkeyweb.WriteJSON(w, status, v) }

// jsonError answers a failed passkey step with a message the page shows.
func (s *Server) jsonError(w http.ResponseWriter, r *http.Request, err error) {
	passkeyweb.Error(w, r, s.cfg.Logger, "request failed", err)
}

// readBody reads a bounded request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return passkeyweb.ReadBody(w, r, "web.readBody")
}

// jsonFlow is loginFlowOf for the passkey script: failures answer JSON.
func (s *Server) jsonFlow(w http.ResponseWriter, r *http.Request) (*loginFlow, *milogin.Application, bool) {
	p := portalOf(r)
	loginID := r.URL.Query().Get("login")
	now := s.cfg.Auth.Now().UTC()
	var req *milogin.LoginRequest
	err := s.cfg.Store.Read(r.Context(), func(tx milogin.Tx) (err error) {
		req, err = tx.LoginRequests().Get(r.Context(), loginID)
		return err
	})
	if err == nil && (req.Portal != p.ID || !now.Before(req.ExpiresAt) || req.Done()) {
		err = milogin.Errorf("web.jsonFlow", milogin.ENOTFOUND, "This sign-in request has expired. Please return to the application and try again.")
	}
	if err != nil {
		s.jsonError(w, r, err)
		return nil, nil, false
	}
	token := s.sessionToken(r, p.ID)
	sess, acct, err := s.cfg.Auth.Authenticate(r.Context(), p.ID, token)
	if err != nil {
		s.jsonError(w, r, err)
		return nil, nil, false
	}
	f := &loginFlow{req: req, si: &signedIn{Session: sess, Account: acct, Token: token}}
	app, err := s.appOf(r, f)
	if err != nil {
		s.jsonError(w, r, err)
		return nil, nil, false
	}
	return f, app, true
}

// handlePasskeyLoginBegin returns the options for navigator.credentials.get.
func (s *Server) handlePasskeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	f, app, ok := s.jsonFlow(w, r)
	if !ok {
		return
	}
	opts, id, err := s.cfg.MFA.BeginPasskeyLogin(r.Context(), s.flowFor(f, app))
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"challenge": id, "options": opts})
}

// handlePasskeyLoginFinish verifies the assertion; the page then goes where
// the answer's "redirect" says.
func (s *Server) handlePasskeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	f, app, ok := s.jsonFlow(w, r)
	if !ok {
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	if err := s.cfg.MFA.FinishPasskeyLogin(r.Context(), s.flowFor(f, app), r.URL.Query().Get("challenge"), body, meta(r)); err != nil {
		s.jsonError(w, r, err)
		return
	}
	if err := s.rotateAfterStepUp(w, r, f); err != nil {
		s.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": continueURL(f.req.Portal, f.req.ID)})
}
