// Package passkeyweb is the HTTP side of the passkey ceremonies that the
// portals' pages and the administration console share: the JSON answers to
// the passkey script, the bounded body read, and adding a passkey to the
// signed-in account (internal/mfa does the WebAuthn work; this package only
// carries it over HTTP, so that mfa stays free of net/http).
package passkeyweb

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/mfa"
)

// MaxBody bounds a WebAuthn response; real ones are a few kilobytes.
const MaxBody = 64 << 10

// maxName bounds the name a person gives a new passkey.
const maxName = 256

// WriteJSON answers the passkey script with v.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Error answers a failed step with {"code","message"}, the message fit to
// show; internal errors are logged (as logMsg) and never shown.
func Error(w http.ResponseWriter, r *http.Request, logger *slog.Logger, logMsg string, err error) {
	if milogin.ErrorKind(err) == milogin.EINTERNAL {
		logger.Error(logMsg, "path", r.URL.Path, "err", err)
	}
	WriteJSON(w, milogin.HTTPStatus(err), map[string]string{"code": string(milogin.ErrorKind(err)), "message": milogin.ErrorMessage(err)})
}

// ReadBody reads a request body of at most MaxBody bytes; op names the
// caller in the error.
func ReadBody(w http.ResponseWriter, r *http.Request, op string) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, milogin.Errorf(op, milogin.EINVALID, "The request was too large.")
	}
	if err != nil {
		return nil, milogin.Errorf(op, milogin.EINVALID, "The request could not be read.")
	}
	return b, nil
}

// Registration adds a passkey to a signed-in account in two requests:
// Begin checks the current password (form field current_password) and
// answers the options for navigator.credentials.create; Finish verifies
// the authenticator's response and stores the passkey.
type Registration struct {
	MFA *mfa.Service
	// Op names the surface in errors ("web", "admin").
	Op string
	// MaxForm bounds Begin's form body.
	MaxForm int64
	// Fail answers a failed step (with Error and the surface's logger).
	Fail func(w http.ResponseWriter, r *http.Request, err error)
}

// Begin starts adding a passkey to acct, signed in with sess.
func (g Registration) Begin(w http.ResponseWriter, r *http.Request, acct *milogin.Account, sess *milogin.Session, m authn.Meta) {
	r.Body = http.MaxBytesReader(w, r.Body, g.MaxForm)
	if err := r.ParseForm(); err != nil {
		g.Fail(w, r, milogin.Errorf(g.Op+".passkeyBegin", milogin.EINVALID, "The request could not be read."))
		return
	}
	opts, id, err := g.MFA.BeginPasskeyRegistration(r.Context(), acct, sess, r.PostFormValue("current_password"), m)
	if err != nil {
		g.Fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"challenge": id, "options": opts})
}

// Finish stores the passkey of the challenge and name in the query and
// answers where the script goes next (redirect).
func (g Registration) Finish(w http.ResponseWriter, r *http.Request, acct *milogin.Account, sess *milogin.Session, m authn.Meta, redirect string) {
	body, err := ReadBody(w, r, g.Op+".readBody")
	if err != nil {
		g.Fail(w, r, err)
		return
	}
	q := r.URL.Query()
	name := strings.TrimSpace(q.Get("name"))
	if len(name) > maxName {
		name = name[:maxName]
	}
	if err := g.MFA.FinishPasskeyRegistration(r.Context(), acct, sess, q.Get("challenge"), name, body, m); err != nil {
		g.Fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"redirect": redirect})
}
