// Package provision is the provisioning API: applications look a
// person up by MILogin ID or email and grant or revoke their own access,
// over JSON, and read their users over SCIM 2.0 for directory sync. It
// replaces the nightly "file drop / file pickup".
//
//	GET    /{portal}/api/v1/users?login_id=ID | ?email=ADDRESS
//	GET    /{portal}/api/v1/apps/{app}/grants/{login_id}
//	PUT    /{portal}/api/v1/apps/{app}/grants/{login_id}   body: {"reason": "…"} (optional)
//	DELETE /{portal}/api/v1/apps/{app}/grants/{login_id}   body: {"reason": "…"} (optional)
//	GET    /{portal}/scim/v2/Users[?filter=userName eq "…" | emails.value eq "…"][&startIndex=&count=]
//	GET    /{portal}/scim/v2/Users/{id}
//	GET    /{portal}/scim/v2/ServiceProviderConfig, /Schemas, /ResourceTypes
//
// What it promises:
//
//   - Every call is authenticated as an application by its OpenID Connect
//     client credentials: HTTP Basic client_id:client_secret (checked
//     against the argon2id hash in the catalog), or a Bearer access token
//     from the token endpoint's client_credentials grant (TokenVerifier).
//     The client must be confidential, allowed client_credentials, and its
//     application offered in the portal of the URL.
//   - An application may only read and change its own grants (403
//     otherwise). Grants and revocations go through internal/access, so
//     each is written with its audit event and the person's email.
//   - Every call is audited (milogin.EventAPICall) with the application, the
//     operation, the outcome and the person concerned.
//   - Every error is JSON: {"code": "…", "message": "…"} with the status of
//     milogin.HTTPStatus (SCIM answers use the SCIM error schema of RFC 7644
//     §3.12). A malformed request gets a 4xx and changes nothing.
//   - Repeated failed authentications from one address are refused (429)
//     before any hash is computed.
package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
	"milogin/internal/clientip"
	"milogin/internal/httplog"
	"milogin/internal/wellformed"
)

// TokenVerifier checks a Bearer access token issued to an application by
// the OpenID Provider (client_credentials grant) for portal and returns the
// client it was issued to. cmd/milogin wires it to internal/oidc.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, portal milogin.PortalID, token string) (clientID string, err error)
}

// Config holds what the handler needs.
type Config struct {
	Store  milogin.Store
	Access *access.Service
	// Hasher verifies client secrets presented with HTTP Basic.
	Hasher *authn.Hasher
	// Tokens verifies Bearer tokens; nil refuses them (Basic only).
	Tokens  TokenVerifier
	Portals map[milogin.PortalID]milogin.Portal
	// BaseURL is the public URL, for SCIM's meta.location.
	BaseURL string
	Now     func() time.Time
	Logger  *slog.Logger
	// AuthFailureLimit is how many failed authentications one IP address
	// may make per AuthFailureWindow (defaults 20 per 15 minutes).
	AuthFailureLimit  int
	AuthFailureWindow time.Duration
}

// Handler serves the provisioning API and SCIM of every portal.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// GrantTypeClientCredentials is the grant type a client needs for the API.
const GrantTypeClientCredentials = "client_credentials"

// maxBody bounds request bodies: a reason is all they carry.
const maxBody = 16 << 10

// NewHandler returns the handler; mount it at /{portal}/api/ and
// /{portal}/scim/ (or at / under a mux that sends those paths here).
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Portals == nil {
		cfg.Portals = map[milogin.PortalID]milogin.Portal{}
		for _, p := range milogin.DefaultPortals() {
			cfg.Portals[p.ID] = p
		}
	}
	if cfg.AuthFailureLimit == 0 {
		cfg.AuthFailureLimit = 20
	}
	if cfg.AuthFailureWindow == 0 {
		cfg.AuthFailureWindow = 15 * time.Minute
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	for id := range cfg.Portals {
		base := "/" + string(id)
		h.mux.Handle("GET "+base+"/api/v1/users", h.api(id, "users.lookup", h.lookup))
		h.mux.Handle("GET "+base+"/api/v1/apps/{app}/grants/{login_id}", h.api(id, "grants.get", h.getGrant))
		h.mux.Handle("PUT "+base+"/api/v1/apps/{app}/grants/{login_id}", h.api(id, "grants.put", h.putGrant))
		h.mux.Handle("DELETE "+base+"/api/v1/apps/{app}/grants/{login_id}", h.api(id, "grants.delete", h.deleteGrant))
		h.mux.Handle(base+"/api/", h.api(id, "unknown", func(*call) error {
			return milogin.Errorf("provision", milogin.ENOTFOUND, "No such API endpoint.")
		}))
		sc, err := h.scimServer(id)
		if err != nil {
			return nil, err
		}
		h.mux.Handle(base+"/scim/", h.scim(id, http.StripPrefix(base+"/scim", sc)))
	}
	return h, nil
}

// ServeHTTP answers every request; nothing here is a page, so nothing is
// cached and nothing may be framed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	// Served over TLS (directly or behind a proxy that terminates it, as the
	// public URL says), the API keeps browsers on HTTPS like the pages do.
	if r.TLS != nil || strings.HasPrefix(h.cfg.BaseURL, "https://") {
		hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	h.mux.ServeHTTP(w, r)
}

// call is one authenticated API request.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	portal  milogin.PortalID
	app     *milogin.Application
	subject string // the account concerned, for the audit trail
	detail  map[string]string
}

func (h *Handler) now() time.Time { return h.cfg.Now().UTC() }

// writeJSON answers with v.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody is every error of the JSON API.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := milogin.ErrorKind(err)
	if kind == milogin.EINTERNAL {
		h.cfg.Logger.Error("provisioning call failed", "path", r.URL.Path, "err", err)
	}
	if kind == milogin.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Basic realm="MILogin provisioning", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="MILogin provisioning"`)
	}
	writeJSON(w, milogin.HTTPStatus(err), errorBody{Code: string(kind), Message: milogin.ErrorMessage(err)})
}

// clientIP is the address the limits and audit events record (see package
// clientip: X-Forwarded-For only from trusted proxies).
func clientIP(r *http.Request) string { return clientip.From(r) }

func metaOf(r *http.Request) authn.Meta {
	return authn.Meta{IP: clientIP(r), UserAgent: wellformed.UserAgent(r)}
}

// authenticate returns the application behind the request's credentials.
// The client ID claimed is returned even on failure, for the audit trail.
func (h *Handler) authenticate(r *http.Request, portal milogin.PortalID) (*milogin.Application, string, error) {
	const op = "provision.authenticate"
	ctx := r.Context()
	failKey := "api-auth-fail:" + clientIP(r)
	// The attempt is counted before the credentials are checked, in the
	// statement that reads the count, so a concurrent burst from one address
	// gets at most the limit judged; all but a failed authentication give
	// the hit back.
	at := h.now()
	var allowed bool
	if err := h.cfg.Store.Write(ctx, func(tx milogin.Tx) (err error) {
		_, allowed, err = tx.Limits().Reserve(ctx, failKey, h.cfg.AuthFailureWindow, h.cfg.AuthFailureLimit, at)
		return err
	}); err != nil {
		return nil, "", milogin.Wrap(op, err)
	}
	if !allowed {
		return nil, "", milogin.Errorf(op, milogin.ERATELIMIT, "Too many failed authentications from this address. Please wait 15 minutes.")
	}
	app, clientID, err := h.checkCredentials(r, portal)
	if milogin.ErrorKind(err) != milogin.EUNAUTHORIZED {
		// Not judged a failure. The request may be ending: not its context.
		rctx := context.WithoutCancel(ctx)
		if werr := h.cfg.Store.Write(rctx, func(tx milogin.Tx) error {
			return tx.Limits().Refund(rctx, failKey, h.cfg.AuthFailureWindow, at)
		}); werr != nil && err == nil {
			return nil, clientID, milogin.Wrap(op, werr)
		}
	}
	return app, clientID, err
}

// checkCredentials returns the application behind the request's
// credentials: EUNAUTHORIZED when they are missing or wrong.
func (h *Handler) checkCredentials(r *http.Request, portal milogin.PortalID) (*milogin.Application, string, error) {
	const op = "provision.authenticate"
	ctx := r.Context()
	bad := milogin.Errorf(op, milogin.EUNAUTHORIZED, "The application's credentials are missing or wrong.")
	fail := func(clientID string, err error) (*milogin.Application, string, error) {
		return nil, clientID, err
	}

	var clientID string
	authz := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(authz, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		if h.cfg.Tokens == nil {
			return fail("", bad)
		}
		id, err := h.cfg.Tokens.VerifyAccessToken(ctx, portal, strings.TrimSpace(cred))
		if err != nil {
			if milogin.ErrorKind(err) == milogin.EINTERNAL {
				return nil, "", milogin.Wrap(op, err)
			}
			return fail("", bad)
		}
		clientID = id
	case strings.EqualFold(scheme, "Basic"):
		id, secret, ok := r.BasicAuth()
		if !ok || id == "" || secret == "" || len(secret) > 1024 {
			return fail(id, bad)
		}
		clientID = id
		app, err := h.appByClient(ctx, id)
		if err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
			return nil, id, milogin.Wrap(op, err)
		}
		if app == nil || app.Client.SecretHash == "" {
			// The same hash work for an unknown client.
			if err := h.cfg.Hasher.VerifyDummy(ctx, secret); err != nil {
				return nil, id, milogin.Wrap(op, err)
			}
			return fail(id, bad)
		}
		ok, _, err = h.cfg.Hasher.Verify(ctx, app.Client.SecretHash, secret)
		if err != nil {
			return nil, id, milogin.Wrap(op, err)
		}
		if !ok {
			return fail(id, bad)
		}
	default:
		return fail("", bad)
	}
	app, err := h.appByClient(ctx, clientID)
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return fail(clientID, bad)
	}
	if err != nil {
		return nil, clientID, milogin.Wrap(op, err)
	}
	if app.Client.Public || !slices.Contains(app.Client.GrantTypes, GrantTypeClientCredentials) {
		return nil, clientID, milogin.Errorf(op, milogin.EFORBIDDEN, "This application is not allowed to use the provisioning API (it needs the client_credentials grant).")
	}
	if !app.InPortal(portal) {
		return nil, clientID, milogin.Errorf(op, milogin.EFORBIDDEN, "This application is not offered in this portal.")
	}
	return app, clientID, nil
}

func (h *Handler) appByClient(ctx context.Context, clientID string) (*milogin.Application, error) {
	var app *milogin.Application
	err := h.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		app, err = tx.Apps().GetByClientID(ctx, clientID)
		return err
	})
	return app, err
}

// audit records one call. The trail outlives the response: a failure to
// write it is logged (the call's own change, if any, was audited in its
// transaction already).
func (h *Handler) audit(r *http.Request, portal milogin.PortalID, operation, clientID string, app *milogin.Application, subject string, status int, detail map[string]string) {
	d := map[string]string{"operation": operation, "status": strconv.Itoa(status), "method": r.Method}
	for k, v := range detail {
		d[k] = v
	}
	actor := "client:" + clientID
	if clientID == "" {
		actor = "client:unknown"
	}
	if app != nil {
		actor = "app:" + app.ID
		d["client_id"] = app.Client.ID
	}
	m := metaOf(r)
	ctx := context.WithoutCancel(r.Context())
	err := h.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
		return tx.Audit().Append(ctx, &milogin.AuditEvent{Time: h.now(), Type: milogin.EventAPICall, Portal: portal,
			ActorID: actor, SubjectID: subject, IP: m.IP, UserAgent: m.UserAgent, Detail: d})
	})
	if err != nil {
		h.cfg.Logger.Error("auditing a provisioning call", "err", err)
	}
}

// api wraps a JSON endpoint: authentication, the error format, the audit.
func (h *Handler) api(portal milogin.PortalID, operation string, fn func(*call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &httplog.StatusWriter{ResponseWriter: w}
		app, clientID, err := h.authenticate(r, portal)
		c := &call{w: sw, r: r, portal: portal, app: app, detail: map[string]string{}}
		if err == nil {
			err = fn(c)
		}
		if err != nil {
			c.detail["code"] = string(milogin.ErrorKind(err))
			h.writeError(sw, r, err)
		}
		h.audit(r, portal, operation, clientID, app, c.subject, sw.Status, c.detail)
	})
}

// User is a person as the API shows them.
type User struct {
	ID            string `json:"id"` // stable: the OpenID Connect "sub"
	LoginID       string `json:"login_id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
	Status        string `json:"status"` // active, disabled, deactivated
	// Access is the calling application's grant: none, pending, granted,
	// denied, revoked.
	Access string `json:"access"`
}

// Grant is an application's grant as the API shows it.
type Grant struct {
	App       string    `json:"app"`
	LoginID   string    `json:"login_id"`
	UserID    string    `json:"user_id"`
	Status    string    `json:"status"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	DecidedBy string    `json:"decided_by,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	// Changed is false when the grant already was as asked.
	Changed *bool `json:"changed,omitempty"`
}

// accessOf returns the grant status of app for an account ("none").
func accessOf(ctx context.Context, tx milogin.Tx, appID, accountID string) (*milogin.Grant, string, error) {
	g, err := tx.Grants().Get(ctx, appID, accountID)
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, "none", nil
	}
	if err != nil {
		return nil, "", err
	}
	return g, string(g.Status), nil
}

func userOf(a *milogin.Account, accessStatus string) User {
	return User{ID: a.ID, LoginID: a.UserID, Email: a.Email, EmailVerified: a.EmailVerified,
		GivenName: a.FirstName, FamilyName: a.LastName, Status: string(a.Status), Access: accessStatus}
}

// lookup finds one person by login_id or email.
func (h *Handler) lookup(c *call) error {
	const op = "provision.lookup"
	q := c.r.URL.Query()
	loginID, email := strings.TrimSpace(q.Get("login_id")), strings.TrimSpace(q.Get("email"))
	if (loginID == "") == (email == "") || len(q) != 1 {
		return milogin.Errorf(op, milogin.EINVALID, "Give exactly one of the query parameters login_id and email.")
	}
	if len(loginID) > 254 || len(email) > 254 {
		return milogin.Errorf(op, milogin.EINVALID, "The value is too long.")
	}
	ctx := c.r.Context()
	var u User
	err := h.cfg.Store.Read(ctx, func(tx milogin.Tx) error {
		var a *milogin.Account
		var err error
		if loginID != "" {
			c.detail["by"] = "login_id"
			a, err = tx.Accounts().GetByUserID(ctx, c.portal, loginID)
		} else {
			c.detail["by"] = "email"
			a, err = tx.Accounts().GetByEmail(ctx, c.portal, email)
		}
		if milogin.IsKind(err, milogin.ENOTFOUND) {
			return milogin.Errorf(op, milogin.ENOTFOUND, "No MILogin account has that %s in this portal.", map[bool]string{true: "login ID", false: "email address"}[loginID != ""])
		}
		if err != nil {
			return err
		}
		c.subject = a.ID
		_, st, err := accessOf(ctx, tx, c.app.ID, a.ID)
		u = userOf(a, st)
		return err
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	writeJSON(c.w, http.StatusOK, u)
	return nil
}

// target resolves {app} and {login_id}: the application must be the
// caller's own, the person must exist in the portal.
func (h *Handler) target(c *call) (*milogin.Account, error) {
	const op = "provision.target"
	appID, loginID := c.r.PathValue("app"), c.r.PathValue("login_id")
	c.detail["app"] = appID
	if appID != c.app.ID {
		return nil, milogin.Errorf(op, milogin.EFORBIDDEN, "An application may only read or change its own grants.")
	}
	ctx := c.r.Context()
	var a *milogin.Account
	err := h.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		a, err = tx.Accounts().GetByUserID(ctx, c.portal, loginID)
		return err
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, milogin.Errorf(op, milogin.ENOTFOUND, "No MILogin account has that login ID in this portal.")
	}
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	c.subject = a.ID
	return a, nil
}

func grantOf(app string, a *milogin.Account, g *milogin.Grant, status string, changed *bool) Grant {
	out := Grant{App: app, LoginID: a.UserID, UserID: a.ID, Status: status, Changed: changed}
	if g != nil {
		out.DecidedAt, out.DecidedBy, out.Reason = g.DecidedAt, g.DecidedBy, g.Reason
	}
	return out
}

func (h *Handler) getGrant(c *call) error {
	a, err := h.target(c)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	var g *milogin.Grant
	var st string
	if err := h.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		g, st, err = accessOf(ctx, tx, c.app.ID, a.ID)
		return err
	}); err != nil {
		return milogin.Wrap("provision.getGrant", err)
	}
	writeJSON(c.w, http.StatusOK, grantOf(c.app.ID, a, g, st, nil))
	return nil
}

// ChangeBody is the optional body of PUT and DELETE.
type ChangeBody struct {
	Reason string `json:"reason"`
}

// readChange reads the optional JSON body strictly: unknown fields, a
// second value or a wrong content type are refused.
func readChange(c *call) (ChangeBody, error) {
	const op = "provision.readChange"
	var b ChangeBody
	r := c.r
	buf, err := io.ReadAll(http.MaxBytesReader(c.w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return b, milogin.Errorf(op, milogin.EINVALID, "The request body is too large.")
		}
		return b, milogin.Errorf(op, milogin.EINVALID, "The request body could not be read.")
	}
	return DecodeChange(r.Header.Get("Content-Type"), buf)
}

// DecodeChange reads the optional body of PUT and DELETE: empty, or one
// JSON object with at most the field "reason", sent as application/json.
func DecodeChange(contentType string, buf []byte) (ChangeBody, error) {
	const op = "provision.DecodeChange"
	var b ChangeBody
	if len(bytes.TrimSpace(buf)) == 0 {
		return b, nil
	}
	if mt, _, _ := strings.Cut(contentType, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/json" {
		return b, milogin.Errorf(op, milogin.EINVALID, "The request body must be JSON (Content-Type: application/json).")
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, milogin.Errorf(op, milogin.EINVALID, "The request body is not valid JSON: %s.", jsonProblem(err))
	}
	if dec.More() {
		return b, milogin.Errorf(op, milogin.EINVALID, "The request body is not valid JSON: more than one value.")
	}
	if !utf8.ValidString(b.Reason) {
		return b, milogin.Errorf(op, milogin.EINVALID, "The reason is not valid UTF-8.")
	}
	return b, nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return "syntax error at byte " + strconv.FormatInt(e.Offset, 10)
	case *json.UnmarshalTypeError:
		return "wrong type for field " + strconv.Quote(e.Field)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if len(f) > 40 {
			f = f[:40] + "…"
		}
		return "unknown field " + strings.ToValidUTF8(f, "?")
	}
	return "unexpected end of input"
}

func (h *Handler) change(c *call, grant bool) error {
	a, err := h.target(c)
	if err != nil {
		return err
	}
	body, err := readChange(c)
	if err != nil {
		return err
	}
	actor := access.Actor{ID: "app:" + c.app.ID, Meta: metaOf(c.r)}
	var res *access.Result
	if grant {
		res, err = h.cfg.Access.Grant(c.r.Context(), c.app.ID, a.ID, body.Reason, actor)
	} else {
		res, err = h.cfg.Access.Revoke(c.r.Context(), c.app.ID, a.ID, body.Reason, actor)
	}
	if err != nil {
		return err
	}
	st := "none"
	if res.Grant != nil {
		st = string(res.Grant.Status)
	}
	c.detail["changed"] = strconv.FormatBool(res.Changed)
	changed := res.Changed
	writeJSON(c.w, http.StatusOK, grantOf(c.app.ID, a, res.Grant, st, &changed))
	return nil
}

func (h *Handler) putGrant(c *call) error    { return h.change(c, true) }
func (h *Handler) deleteGrant(c *call) error { return h.change(c, false) }
