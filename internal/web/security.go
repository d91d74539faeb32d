package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"milogin"
	"milogin/internal/mfa"
	"milogin/internal/passkeyweb"
)

// The second-factor pages of Security Options: an authenticator app (TOTP)
// and passkeys. Adding or removing a factor asks for the current password.

var securityNotices = map[string]string{
	"totp-added":      "Your authenticator app is set up. You can use it on the MILogin Multifactor Authentication (MFA) page.",
	"totp-removed":    "Your authenticator app was removed.",
	"passkey-added":   "Your passkey was added. You can use it on the MILogin Multifactor Authentication (MFA) page.",
	"passkey-removed": "Your passkey was removed.",
}

type authenticatorData struct {
	State *mfa.TOTPState
	// QR is the set-up QR code as a data: URL, generated here (never from
	// input), so it is marked safe for the img src.
	QR template.URL
}

func (s *Server) handleAuthenticatorPage(w http.ResponseWriter, r *http.Request) {
	si := sessionOf(r)
	s.renderAuthenticator(w, r, http.StatusOK, &page{Portal: portalOf(r), Account: si.Account, Notice: securityNotices[r.URL.Query().Get("m")]})
}

func (s *Server) renderAuthenticator(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	st, err := s.cfg.MFA.TOTPStatus(r.Context(), pg.Account)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg.Title = "Authenticator App"
	d := authenticatorData{State: st}
	if st.Pending != nil && strings.HasPrefix(st.Pending.QR, "data:image/png;base64,") {
		d.QR = template.URL(st.Pending.QR)
	}
	pg.Data = d
	s.render(w, r, status, "authenticator", pg)
}

// handleAuthenticator runs the page's forms: start (a new secret and QR
// code), confirm (password and a code from the app), remove (password).
func (s *Server) handleAuthenticator(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	si := sessionOf(r)
	self := "/" + string(p.ID) + "/security-options/authenticator"
	var err error
	var done string
	switch r.PostFormValue("action") {
	case "start":
		err = s.cfg.MFA.BeginTOTP(r.Context(), si.Account)
	case "confirm":
		err, done = s.cfg.MFA.ConfirmTOTP(r.Context(), si.Account, r.PostFormValue("current_password"), trimmed(r.PostFormValue("code"), 32), meta(r)), "totp-added"
	case "remove":
		err, done = s.cfg.MFA.RemoveTOTP(r.Context(), si.Account, r.PostFormValue("current_password"), meta(r)), "totp-removed"
	default:
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read. Please go back and try again.")
		return
	}
	if err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		pg := &page{Portal: p, Account: si.Account, Error: milogin.ErrorMessage(err)}
		s.renderAuthenticator(w, r, milogin.HTTPStatus(err), pg)
		return
	}
	if done != "" {
		self += "?m=" + done
	}
	redirect(w, r, self)
}

type passkeysData struct {
	Enabled  bool
	Passkeys []mfa.Passkey
}

func (s *Server) handlePasskeysPage(w http.ResponseWriter, r *http.Request) {
	si := sessionOf(r)
	s.renderPasskeys(w, r, http.StatusOK, &page{Portal: portalOf(r), Account: si.Account, Notice: securityNotices[r.URL.Query().Get("m")]})
}

func (s *Server) renderPasskeys(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	pks, err := s.cfg.MFA.Passkeys(r.Context(), pg.Account)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg.Title = "Passkeys"
	pg.Data = passkeysData{Enabled: s.cfg.MFA.WebAuthn != nil, Passkeys: pks}
	s.render(w, r, status, "passkeys", pg)
}

// handlePasskeyRegisterBegin checks the password (form field) and returns
// the options for navigator.credentials.create.
func (s *Server) handlePasskeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	si := sessionOf(r)
	s.passkeyRegistration().Begin(w, r, si.Account, si.Session, meta(r))
}

// handlePasskeyRegisterFinish stores the new passkey.
func (s *Server) handlePasskeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	si := sessionOf(r)
	s.passkeyRegistration().Finish(w, r, si.Account, si.Session, meta(r), "/"+string(portalOf(r).ID)+"/security-options/passkeys?m=passkey-added")
}

// passkeyRegistration adds passkeys to residents' accounts, as the
// console does to staff ones.
func (s *Server) passkeyRegistration() passkeyweb.Registration {
	return passkeyweb.Registration{MFA: s.cfg.MFA, Op: "web", MaxForm: maxFormBytes, Fail: s.jsonError}
}

func (s *Server) handlePasskeyRemove(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	si := sessionOf(r)
	if err := s.cfg.MFA.RemovePasskey(r.Context(), si.Account, r.PostFormValue("id"), r.PostFormValue("current_password"), meta(r)); err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		s.renderPasskeys(w, r, milogin.HTTPStatus(err), &page{Portal: p, Account: si.Account, Error: milogin.ErrorMessage(err)})
		return
	}
	redirect(w, r, "/"+string(p.ID)+"/security-options/passkeys?m="+url.QueryEscape("passkey-removed"))
}
