package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"milogin"
	"milogin/internal/mfa"
)

// maxPasskeyBody bounds a WebAuthn response; real ones are a few KB.
const maxPasskeyBody = 64 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// jsonError answers the passkey script with {"code","message"}.
func (s *Server) jsonError(w http.ResponseWriter, r *http.Request, err error) {
	if milogin.ErrorKind(err) == milogin.EINTERNAL {
		s.cfg.Logger.Error("console request failed", "path", r.URL.Path, "err", err)
	}
	writeJSON(w, milogin.HTTPStatus(err), map[string]string{"code": string(milogin.ErrorKind(err)), "message": milogin.ErrorMessage(err)})
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPasskeyBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, milogin.Errorf("admin.readBody", milogin.EINVALID, "The request was too large.")
	}
	if err != nil {
		return nil, milogin.Errorf("admin.readBody", milogin.EINVALID, "The request could not be read.")
	}
	return b, nil
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
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.jsonError(w, r, milogin.Errorf("admin.passkeyBegin", milogin.EINVALID, "The request could not be read."))
		return
	}
	st := staffOf(r)
	opts, id, err := s.svc.MFA.BeginPasskeyRegistration(r.Context(), st.Account, st.Session, r.PostFormValue("current_password"), meta(r))
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"challenge": id, "options": opts})
}

func (s *Server) handlePasskeyAddFinish(w http.ResponseWriter, r *http.Request) {
	st := staffOf(r)
	body, err := readBody(w, r)
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	q := r.URL.Query()
	name := strings.TrimSpace(q.Get("name"))
	if len(name) > 256 {
		name = name[:256]
	}
	if err := s.svc.MFA.FinishPasskeyRegistration(r.Context(), st.Account, st.Session, q.Get("challenge"), name, body, meta(r)); err != nil {
		s.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/admin/me/passkeys?m=added"})
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
