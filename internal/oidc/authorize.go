package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"milogin"
	"milogin/internal/authn"
)

// Bounds on what an authorization request may carry into the database.
const (
	maxStateLen = 2048
	maxNonceLen = 512
)

// authzError is an error answered to the client's redirect URI (RFC 6749
// §4.1.2.1) once the client and its redirect URI are known to be good.
type authzError struct{ code, desc string }

func (e *authzError) Error() string { return e.code + ": " + e.desc }

// handleAuthorize checks an authorization request, parks it and sends the
// browser to the portal's sign-in pages.
//
// Until the client and the redirect URI are known to be registered, errors
// are shown as plain text here and never redirected (no open redirector).
// After that they go back to the client with state and iss.
func (p *Provider) handleAuthorize(portal milogin.PortalID) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			plainError(w, http.StatusBadRequest, "The authorization request could not be read.")
			return
		}
		q := r.Form
		for k, v := range q {
			if len(v) > 1 {
				plainError(w, http.StatusBadRequest, "The authorization request repeats the parameter "+k+".")
				return
			}
		}
		ctx := r.Context()
		clientID := q.Get("client_id")
		st := &storage{p: p, portal: portal}
		app, err := st.app(ctx, clientID)
		if clientID == "" || err != nil {
			plainError(w, http.StatusBadRequest, "Unknown application (client_id). Please return to the application and try again.")
			return
		}
		c := &client{app: app, portal: portal, p: p}
		redirectURI := q.Get("redirect_uri")
		// Exact string comparison: no unescaping, no normalization, no
		// pattern. A percent-encoded variant is a different string.
		if redirectURI == "" || !slices.Contains(app.Client.RedirectURIs, redirectURI) {
			plainError(w, http.StatusBadRequest, "The redirect_uri is not registered for this application.")
			return
		}
		state := q.Get("state")
		fail := func(e *authzError) { p.redirectError(w, r, portal, redirectURI, state, e) }

		req, lr, aerr := p.checkAuthorize(q, c, portal)
		if aerr != nil {
			fail(aerr)
			return
		}
		err = p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
			if err := tx.LoginRequests().Create(ctx, lr); err != nil {
				return err
			}
			return tx.OAuthRequests().Create(ctx, req)
		})
		if err != nil {
			p.cfg.Logger.Error("oidc: parking authorization request", "err", err)
			fail(&authzError{"server_error", "The request could not be saved. Please try again."})
			return
		}
		if slices.Contains(strings.Fields(q.Get("prompt")), "none") {
			p.answerSilently(w, r, lr, fail)
			return
		}
		to := continueURL(portal, lr.ID)
		if !hasSessionCookie(r, portal) {
			// No MILogin session in this browser: /continue would only send
			// it on to the sign-in page, so go there at once, with the same
			// address /continue would give (one round trip fewer for every
			// first sign-in). With a cookie, /continue judges the session.
			to = "/" + string(portal) + "/login?" + url.Values{"next": {to}}.Encode()
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// continueURL is the pages' address that carries on the parked sign-in id
// (internal/web's /continue).
func continueURL(portal milogin.PortalID, id string) string {
	return "/" + string(portal) + "/continue?login=" + url.QueryEscape(id)
}

// hasSessionCookie reports whether the browser sent the portal's session
// cookie at all (see sameBrowser for the names), live or not.
func hasSessionCookie(r *http.Request, portal milogin.PortalID) bool {
	for _, name := range authn.SessionCookieNames(portal) {
		if _, err := r.Cookie(name); err == nil {
			return true
		}
	}
	return false
}

// SilentFunc answers a silent request (prompt=none) without any page: from
// the browser's MILogin session it completes the parked sign-in and returns
// "", or returns the OpenID Connect error code to send the application
// (login_required, consent_required, interaction_required, access_denied).
// The pages provide it (web.Server.Silent): the provider never looks at
// sessions or access rules itself.
type SilentFunc func(r *http.Request, lr *milogin.LoginRequest) (errCode string, err error)

// SetSilent installs the answer to prompt=none; without one, every silent
// request gets login_required.
func (p *Provider) SetSilent(f SilentFunc) { p.silent = f }

var silentErrors = map[string]string{
	"login_required":       "The person is not signed in to MILogin.",
	"consent_required":     "The person must first agree to this application's terms.",
	"interaction_required": "The person must first complete a second factor.",
	"access_denied":        "The person does not have access to this application.",
}

// answerSilently completes a prompt=none request from the live session, or
// tells the application why it cannot, never showing a page.
func (p *Provider) answerSilently(w http.ResponseWriter, r *http.Request, lr *milogin.LoginRequest, fail func(*authzError)) {
	if p.silent == nil {
		fail(&authzError{"login_required", silentErrors["login_required"]})
		return
	}
	code, err := p.silent(r, lr)
	if err != nil {
		p.cfg.Logger.Error("oidc: silent authorization", "err", err)
		fail(&authzError{"server_error", "The request could not be answered. Please try again."})
		return
	}
	if code != "" {
		desc, ok := silentErrors[code]
		if !ok {
			code, desc = "interaction_required", "The person must first sign in interactively."
		}
		fail(&authzError{code, desc})
		return
	}
	// Completed from this browser's session: the code goes to it at once,
	// with the callback's checks (no round trip through the callback).
	p.answer(w, r, lr.Portal, lr.ID)
}

// checkAuthorize validates the parameters of an authorization request from
// a known client with a registered redirect URI and returns what to park.
func (p *Provider) checkAuthorize(q url.Values, c *client, portal milogin.PortalID) (*milogin.OAuthRequest, *milogin.LoginRequest, *authzError) {
	if q.Has("request") {
		return nil, nil, &authzError{"request_not_supported", "Request objects are not supported."}
	}
	if q.Has("request_uri") {
		return nil, nil, &authzError{"request_uri_not_supported", "request_uri is not supported."}
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return nil, nil, &authzError{"invalid_request", "response_type is missing."}
	default:
		// No implicit or hybrid flow: tokens never travel in the URL.
		return nil, nil, &authzError{"unsupported_response_type", "Only response_type=code is supported."}
	}
	switch q.Get("response_mode") {
	case "", "query":
	default:
		return nil, nil, &authzError{"invalid_request", "Only response_mode=query is supported."}
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, "openid") {
		return nil, nil, &authzError{"invalid_scope", "The openid scope is required."}
	}
	var keep []string
	for _, s := range scopes {
		if !slices.Contains(supportedScopes, s) || slices.Contains(keep, s) {
			continue // unknown scopes are ignored (RFC 6749 §3.3)
		}
		if s == "offline_access" && !c.allows(GrantRefreshToken) {
			continue
		}
		keep = append(keep, s)
	}
	// PKCE with S256 for every client, public or confidential (RFC 9700
	// §2.1.1); "plain" (also the default when the method is left out) is
	// refused.
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge == "" {
		return nil, nil, &authzError{"invalid_request", "code_challenge is required (PKCE with S256)."}
	}
	if method != "S256" {
		return nil, nil, &authzError{"invalid_request", "code_challenge_method must be S256; plain is not accepted."}
	}
	if len(challenge) != 43 || !validB64URL(challenge) {
		return nil, nil, &authzError{"invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)."}
	}
	state, nonce := q.Get("state"), q.Get("nonce")
	if len(state) > maxStateLen || len(nonce) > maxNonceLen {
		return nil, nil, &authzError{"invalid_request", "state or nonce is too long."}
	}
	prompts := strings.Fields(q.Get("prompt"))
	if slices.Contains(prompts, "none") && len(prompts) > 1 {
		return nil, nil, &authzError{"invalid_request", "prompt=none cannot be combined with other prompt values."}
	}
	maxAge := -1
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, nil, &authzError{"invalid_request", "max_age must be a non-negative number of seconds."}
		}
		maxAge = n
	}
	acrValues := strings.Fields(q.Get("acr_values"))
	if len(acrValues) > 8 {
		acrValues = acrValues[:8]
	}

	now := p.now()
	id := authn.NewID()
	lr := &milogin.LoginRequest{
		ID: id, Protocol: "oidc", Portal: portal, AppID: c.app.ID,
		CallbackURL: "/" + string(portal) + "/authorize/callback?id=" + id,
		ForceLogin:  slices.Contains(prompts, "login") || maxAge == 0,
		ForceMFA:    slices.Contains(acrValues, ACRMFA),
		CreatedAt:   now, ExpiresAt: now.Add(p.cfg.RequestLifetime),
	}
	req := &milogin.OAuthRequest{
		ID: id, Portal: portal, ClientID: c.app.Client.ID, RedirectURI: q.Get("redirect_uri"),
		State: state, Nonce: nonce, Scopes: keep, ResponseMode: q.Get("response_mode"),
		CodeChallenge: challenge, CodeChallengeMethod: method, ACRValues: acrValues, MaxAge: maxAge,
		CreatedAt: now, ExpiresAt: lr.ExpiresAt,
	}
	return req, lr, nil
}

func validB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// redirectError answers the client with an error (RFC 6749 §4.1.2.1) plus
// iss (RFC 9207), with a 303.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, portal milogin.PortalID, redirectURI, state string, e *authzError) {
	v := url.Values{"error": {e.code}, "error_description": {e.desc}, "iss": {p.Issuer(portal)}}
	if state != "" {
		v.Set("state", state)
	}
	http.Redirect(w, r, withQuery(redirectURI, v), http.StatusSeeOther)
}

// withQuery adds v to the query of a registered redirect URI, keeping the
// query it already has.
func withQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + v.Encode()
}

func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// handleCallback is where the pages send the browser once the person is
// through: it issues the authorization code and returns to the client.
func (p *Provider) handleCallback(portal milogin.PortalID) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.answer(w, r, portal, r.URL.Query().Get("id"))
	})
}

// answer reads the parked request id and its sign-in and answers the
// browser as the callback does (issueCode).
func (p *Provider) answer(w http.ResponseWriter, r *http.Request, portal milogin.PortalID, id string) {
	ctx := r.Context()
	var lr *milogin.LoginRequest
	var req *milogin.OAuthRequest
	err := p.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		if lr, err = tx.LoginRequests().Get(ctx, id); err != nil {
			return err
		}
		req, err = tx.OAuthRequests().Get(ctx, id)
		return err
	})
	if err != nil || lr.Protocol != "oidc" || lr.Portal != portal || req.Portal != portal {
		plainError(w, http.StatusBadRequest, "This sign-in request has expired. Please return to the application and try again.")
		return
	}
	p.issueCode(w, r, portal, lr, req, nil)
}

// Finish answers a sign-in that the pages' /continue has just let
// through, in place of their redirect to the callback: the same checks and
// the same code, one round trip fewer (web.Server.SetFinish). lr is the
// request as completed; complete records that on the stored request in
// the write that issues the code.
func (p *Provider) Finish(w http.ResponseWriter, r *http.Request, lr *milogin.LoginRequest, complete func(context.Context, milogin.Tx) error) {
	ctx := r.Context()
	var req *milogin.OAuthRequest
	err := p.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		req, err = tx.OAuthRequests().Get(ctx, lr.ID)
		return err
	})
	if err != nil || lr.Protocol != "oidc" || req.Portal != lr.Portal {
		plainError(w, http.StatusBadRequest, "This sign-in request has expired. Please return to the application and try again.")
		return
	}
	p.issueCode(w, r, lr.Portal, lr, req, complete)
}

// issueCode is the callback's work once the parked request and its
// sign-in are read: unless something says otherwise (expired, refused,
// not through yet, another browser, a fresh sign-in needed), it issues the
// authorization code and returns the browser to the client. complete, when
// not nil, records the sign-in on the stored request first, in the same
// transaction (Finish).
func (p *Provider) issueCode(w http.ResponseWriter, r *http.Request, portal milogin.PortalID, lr *milogin.LoginRequest, req *milogin.OAuthRequest, complete func(context.Context, milogin.Tx) error) {
	ctx := r.Context()
	id := req.ID
	if req.CodeHash != "" {
		plainError(w, http.StatusBadRequest, "This sign-in request was already used. Please return to the application and try again.")
		return
	}
	now := p.now()
	fail := func(code, desc string) {
		p.redirectError(w, r, portal, req.RedirectURI, req.State, &authzError{code, desc})
	}
	if !now.Before(req.ExpiresAt) {
		fail("access_denied", "The sign-in took too long. Please try again.")
		return
	}
	if lr.Refusal != "" {
		// The person ended the sign-in without access (CANCEL on the
		// terms): the application hears why.
		fail(lr.Refusal, "The person did not agree to the application's Terms & Conditions.")
		return
	}
	if !lr.Done() {
		// Not through yet: back to the pages.
		http.Redirect(w, r, continueURL(portal, id), http.StatusSeeOther)
		return
	}
	// The code goes only to the browser that signed in. Without this, an
	// attacker could park a request, get a victim to complete it (a link
	// to /continue) and collect the victim's code at this callback.
	if !sameBrowser(r, portal, lr.SessionID) {
		plainError(w, http.StatusForbidden, "This sign-in was completed in another browser. Please return to the application and try again.")
		return
	}
	// max_age: a sign-in older than asked needs a fresh password. Park
	// the request again with ForceLogin; the pages honour it.
	if req.MaxAge > 0 && !lr.ForceLogin && now.Sub(lr.AuthTime) > time.Duration(req.MaxAge)*time.Second {
		if err := p.repark(w, r, portal, req, lr); err != nil {
			p.cfg.Logger.Error("oidc: re-parking for max_age", "err", err)
			fail("server_error", "Please try again.")
			return
		}
		return
	}
	// prompt=login / max_age: the pages were asked for a fresh sign-in.
	// A sign-in older than the request means they did not give one:
	// say so (OpenID Connect Core §3.1.2.1) rather than pass an old
	// authentication off as fresh.
	if lr.ForceLogin && lr.AuthTime.Before(lr.CreatedAt) {
		fail("login_required", "A fresh sign-in was asked for and did not happen.")
		return
	}
	code, codeHash := newToken()
	app, err := (&storage{p: p, portal: portal}).app(ctx, req.ClientID)
	if err != nil {
		fail("unauthorized_client", "The application is no longer registered.")
		return
	}
	err = p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
		if complete != nil {
			if err := complete(ctx, tx); milogin.IsKind(err, milogin.ECONFLICT) {
				return errAlreadyUsed
			} else if err != nil {
				return err
			}
		}
		sess, acct, err := tx.Sessions().GetWithAccount(ctx, lr.SessionID)
		if err != nil || sess.AccountID != lr.AccountID || sess.Stage != milogin.StageActive || !now.Before(sess.ExpiresAt) ||
			acct.Status != milogin.StatusActive || acct.Portal != portal {
			return errSessionGone
		}
		if _, err := tx.OAuthRequests().Update(ctx, id, func(x *milogin.OAuthRequest) error {
			if x.CodeHash != "" {
				return errAlreadyUsed
			}
			x.Subject, x.SessionID, x.AuthTime = lr.AccountID, lr.SessionID, lr.AuthTime
			x.AMR = lr.AMR
			if len(x.AMR) == 0 {
				x.AMR = []string{"pwd"}
			}
			x.ACR = acrOf(x.AMR)
			x.CodeHash, x.CodeExpiresAt = codeHash, now.Add(p.cfg.CodeLifetime)
			return nil
		}); err != nil {
			return err
		}
		return tx.SessionClients().Put(ctx, &milogin.SessionClient{
			SessionID: lr.SessionID, ClientID: app.Client.ID, AccountID: lr.AccountID, SID: sidOf(lr.SessionID), CreatedAt: now,
		})
	})
	switch {
	case errors.Is(err, errAlreadyUsed):
		plainError(w, http.StatusBadRequest, "This sign-in request was already used. Please return to the application and try again.")
		return
	case errors.Is(err, errSessionGone):
		fail("login_required", "The MILogin session ended. Please sign in again.")
		return
	case err != nil:
		p.cfg.Logger.Error("oidc: issuing code", "err", err)
		fail("server_error", "Please try again.")
		return
	}
	v := url.Values{"code": {code}, "iss": {p.Issuer(portal)}}
	if req.State != "" {
		v.Set("state", req.State)
	}
	http.Redirect(w, r, withQuery(req.RedirectURI, v), http.StatusSeeOther)
}

// sameBrowser reports whether the request carries the sign-in session
// cookie of the session that completed the login. Its value is the token
// whose authn.TokenID is Session.ID.
func sameBrowser(r *http.Request, portal milogin.PortalID, sessionID string) bool {
	if sessionID == "" {
		return false
	}
	for _, name := range authn.SessionCookieNames(portal) {
		if c, err := r.Cookie(name); err == nil &&
			subtle.ConstantTimeCompare([]byte(authn.TokenID(c.Value)), []byte(sessionID)) == 1 {
			return true
		}
	}
	return false
}

var (
	errAlreadyUsed = errors.New("authorization request already answered")
	errSessionGone = errors.New("session ended")
)

// repark copies an authorization request under a new ID with a
// LoginRequest that asks for a fresh sign-in, and sends the browser to the
// pages. The old request is left to expire.
func (p *Provider) repark(w http.ResponseWriter, r *http.Request, portal milogin.PortalID, req *milogin.OAuthRequest, lr *milogin.LoginRequest) error {
	ctx := r.Context()
	now := p.now()
	id := authn.NewID()
	nlr := &milogin.LoginRequest{
		ID: id, Protocol: "oidc", Portal: portal, AppID: lr.AppID,
		CallbackURL: "/" + string(portal) + "/authorize/callback?id=" + id,
		ForceLogin:  true, ForceMFA: lr.ForceMFA,
		CreatedAt: now, ExpiresAt: now.Add(p.cfg.RequestLifetime),
	}
	nreq := *req
	nreq.ID, nreq.CreatedAt, nreq.ExpiresAt = id, now, nlr.ExpiresAt
	err := p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.LoginRequests().Create(ctx, nlr); err != nil {
			return err
		}
		return tx.OAuthRequests().Create(ctx, &nreq)
	})
	if err != nil {
		return err
	}
	http.Redirect(w, r, continueURL(portal, id), http.StatusSeeOther)
	return nil
}
