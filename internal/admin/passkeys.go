package admin

import (
	"net/http"
	"net/url"

	"milogin"
	"milogin/internal/mfa"
	"milogin/internal/passkeyweb"
)

func writeJSON(w http.ResponseWriter, status int, v any) { passkeyweb.WriteJSON(w, status, v) }

// jsonError answers the passkey script with {"code","message"}.
func (s *Server) jsonError(w http.ResponseWriter, r *http.Request, err error) {
	passkeyweb.Error(w, r, s.cfg.Logger, "console request failed", err)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return passkeyweb.ReadBody(w, r, "admin.readBody")
}

// passkeyRegistration adds passkeys to staff accounts, as the portals'
// pages do to residents' ones.
func (s *Server) passkeyRegistration() passkeyweb.Registration {
	return passkeyweb.Registration{MFA: s.svc.MFA, Op: "admin", MaxForm: maxFormBytes, Fail: s.jsonError}
}

func (s *Server) handlePasskeySignInBegin(w http.ResponseWriter, r *http.Request) {
	opts, id, err := s.svc.PasskeyBegin(r.Context(), s.cookie(r, true))
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"challenge": id, "options": opts})
}

func (s *Server) handlePasskeySignInFinish(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	token, err := s.svc.PasskeyFinish(r.Context(), s.cookie(r, true), r.URL.Query().Get("challenge"), body, meta(r))
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	s.setCookie(w, true, "")
	s.setCookie(w, false, token)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/admin/"})
}

type passkeysData struct {
	Enabled  bool
	Passkeys []mfa.Passkey
}

func (s *Server) passkeysPage(w http.ResponseWriter, r *http.Request, status int, p *page) {
	st := staffOf(r)
	d := passkeysData{Enabled: s.svc.MFA.WebAuthn != nil}
	if d.Enabled {
		var err error
		if d.Passkeys, err = s.svc.MFA.Passkeys(r.Context(), st.Account); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	p.Title, p.Staff, p.Data = "Your passkeys", st, d
	s.render(w, r, status, "passkeys", p)
}

func (s *Server) handlePasskeys(w http.ResponseWriter, r *http.Request) {
	notice := map[string]string{"added": "The passkey was added. You can use it instead of the authenticator code.", "removed": "The passkey was removed."}[r.URL.Query().Get("m")]
	s.passkeysPage(w, r, http.StatusOK, &page{Notice: notice})
}

func (s *Server) handlePasskeyAddBegin(w http.ResponseWriter, r *http.Request) {
	st := staffOf(r)
	s.passkeyRegistration().Begin(w, r, st.Account, st.Session, meta(r))
}

func (s *Server) handlePasskeyAddFinish(w http.ResponseWriter, r *http.Request) {
	st := staffOf(r)
	s.passkeyRegistration().Finish(w, r, st.Account, st.Session, meta(r), "/admin/me/passkeys?m=added")
}

func (s *Server) handlePasskeyRemove(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	st := staffOf(r)
	if err := s.svc.MFA.RemovePasskey(r.Context(), st.Account, r.PostFormValue("id"), r.PostFormValue("current_password"), meta(r)); err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		s.passkeysPage(w, r, milogin.HTTPStatus(err), &page{Error: milogin.ErrorMessage(err)})
		return
	}
	redirect(w, r, "/admin/me/passkeys?m="+url.QueryEscape("removed"))
}
