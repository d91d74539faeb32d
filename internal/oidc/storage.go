package oidc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"milogin"
	"milogin/internal/keys"
)

// storage implements op.Storage for one portal over milogin.Store.
type storage struct {
	p      *Provider
	portal milogin.PortalID
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.ClientCredentialsStorage  = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// errNotHere is returned for storage methods the library only calls on
// paths this package serves itself (authorize, its callback).
var errNotHere = errors.New("oidc: handled outside the library")

var (
	errCodeInvalid   = errors.New("invalid or expired authorization code")
	errCodeReused    = errors.New("authorization code reused: its tokens were revoked")
	errRefreshReused = errors.New("refresh token reused: its family was revoked")
	errTokenInvalid  = errors.New("invalid or expired token")
)

// ---- the authorization request, as the library sees it ----

type authRequest struct{ r *milogin.OAuthRequest }

var _ op.AuthRequest = authRequest{}

func (a authRequest) GetID() string          { return a.r.ID }
func (a authRequest) GetACR() string         { return a.r.ACR }
func (a authRequest) GetAMR() []string       { return a.r.AMR }
func (a authRequest) GetAudience() []string  { return []string{a.r.ClientID} }
func (a authRequest) GetAuthTime() time.Time { return a.r.AuthTime }
func (a authRequest) GetClientID() string    { return a.r.ClientID }
func (a authRequest) GetNonce() string       { return a.r.Nonce }
func (a authRequest) GetRedirectURI() string { return a.r.RedirectURI }
func (a authRequest) GetScopes() []string    { return a.r.Scopes }
func (a authRequest) GetState() string       { return a.r.State }
func (a authRequest) GetSubject() string     { return a.r.Subject }
func (a authRequest) Done() bool             { return a.r.Subject != "" }
func (a authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.r.ResponseMode)
}
func (a authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeChallengeMethod)}
}

// refreshRequest is a refresh token presented at the token endpoint.
type refreshRequest struct {
	t      *milogin.OAuthToken
	token  string // the value presented
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return r.t.AMR }
func (r *refreshRequest) GetAudience() []string       { return r.t.Audience }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.t.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.t.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.t.Subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// ccRequest is a client credentials grant: the client is the subject.
type ccRequest struct {
	clientID string
	scopes   []string
}

func (c ccRequest) GetSubject() string    { return c.clientID }
func (c ccRequest) GetAudience() []string { return []string{c.clientID} }
func (c ccRequest) GetScopes() []string   { return c.scopes }

// ---- clients ----

func (s *storage) app(ctx context.Context, clientID string) (*milogin.Application, error) {
	memo, _ := ctx.Value(appMemoKey{}).(*appMemo)
	var app *milogin.Application
	if memo != nil {
		memo.mu.Lock()
		app = memo.m[clientID]
		memo.mu.Unlock()
	}
	if app == nil {
		err := s.p.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
			app, err = tx.Apps().GetByClientID(ctx, clientID)
			return err
		})
		if err != nil {
			return nil, err
		}
		if memo != nil {
			memo.mu.Lock()
			if memo.m == nil {
				memo.m = map[string]*milogin.Application{}
			}
			memo.m[clientID] = app
			memo.mu.Unlock()
		}
	}
	if !app.InPortal(s.portal) {
		return nil, milogin.Errorf("oidc.app", milogin.ENOTFOUND, "client not offered in this portal")
	}
	return app, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	app, err := s.app(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client").WithParent(err)
	}
	if alg, ok := ctx.Value(algKey{}).(*string); ok {
		*alg = idTokenAlg(app)
	}
	return &client{app: app, portal: s.portal, p: s.p}, nil
}

// idTokenAlg is the algorithm that signs the application's ID tokens (and
// its back-channel logout tokens): RS256 unless it registered ES256.
func idTokenAlg(app *milogin.Application) string {
	if app.Client.IDTokenAlg == keys.ES256 {
		return keys.ES256
	}
	return keys.RS256
}

// AuthorizeClientIDSecret checks a confidential client's secret against
// its argon2id hash.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	_, err := s.authenticate(ctx, clientID, secret)
	return err
}

func (s *storage) authenticate(ctx context.Context, clientID, secret string) (*milogin.Application, error) {
	app, err := s.app(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("invalid client_id / client_secret")
	}
	if app.Client.Public || app.Client.SecretHash == "" || secret == "" {
		return nil, oidc.ErrInvalidClient().WithDescription("invalid client_id / client_secret")
	}
	now := s.p.now()
	key := secretCacheKey(clientID, app.Client.SecretHash, secret)
	if s.p.secrets.hit(key, now) {
		return app, nil
	}
	ok, _, err := s.p.cfg.Hasher.Verify(ctx, app.Client.SecretHash, secret)
	if err != nil || !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("invalid client_id / client_secret")
	}
	s.p.secrets.put(key, now)
	return app, nil
}

func (s *storage) ClientCredentials(ctx context.Context, clientID, secret string) (op.Client, error) {
	app, err := s.authenticate(ctx, clientID, secret)
	if err != nil {
		return nil, err
	}
	c := &client{app: app, portal: s.portal, p: s.p}
	if !c.allows(GrantClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client credentials are not allowed for this client")
	}
	return c, nil
}

// ClientCredentialsTokenRequest keeps the requested scopes, minus the
// OpenID ones, which mean nothing without a person.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	var keep []string
	for _, sc := range scopes {
		if !slices.Contains(supportedScopes, sc) && len(sc) <= 64 {
			keep = append(keep, sc)
		}
	}
	return ccRequest{clientID: clientID, scopes: keep}, nil
}

// ---- authorization requests and codes ----

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errNotHere
}

func (s *storage) SaveAuthCode(context.Context, string, string) error { return errNotHere }

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	var r *milogin.OAuthRequest
	err := s.p.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		r, err = tx.OAuthRequests().Get(ctx, id)
		return err
	})
	if err != nil || r.Portal != s.portal {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown authorization request")
	}
	return authRequest{r}, nil
}

// AuthRequestByCode returns the request of a live, unused code. A used code
// is a replay (or a stolen code racing the application): every token
// issued from it is revoked (RFC 6749 §4.1.2).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	var r *milogin.OAuthRequest
	err := s.p.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		r, err = tx.OAuthRequests().GetByCode(ctx, hashToken(code))
		return err
	})
	if err != nil || r.Portal != s.portal {
		return nil, errCodeInvalid
	}
	now := s.p.now()
	if !r.CodeUsedAt.IsZero() {
		if err := s.p.revokeFamily(ctx, r.ID, r.ClientID, r.Subject, milogin.EventOAuthCodeReuse); err != nil {
			return nil, err
		}
		return nil, errCodeReused
	}
	if !now.Before(r.CodeExpiresAt) {
		return nil, errCodeInvalid
	}
	return authRequest{r}, nil
}

// revokeFamily revokes a token family and records why.
func (p *Provider) revokeFamily(ctx context.Context, familyID, clientID, subject, event string) error {
	now := p.now()
	return p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
		n, err := tx.OAuthTokens().RevokeFamily(ctx, familyID, now)
		if err != nil {
			return err
		}
		return tx.Audit().Append(ctx, &milogin.AuditEvent{Time: now, Type: event, ActorID: clientID, SubjectID: subject,
			Detail: map[string]string{"client_id": clientID, "revoked": fmt.Sprint(n)}})
	})
}

// DeleteAuthRequest keeps the request: its used code must stay recognizable
// (reuse detection) until it expires; the sweep deletes it then.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// ---- tokens ----

// consumeCode marks the code of r used inside tx; a code used in between
// (two exchanges racing) fails the second exchange.
func consumeCode(ctx context.Context, tx milogin.Tx, id string, now time.Time) (*milogin.OAuthRequest, error) {
	return tx.OAuthRequests().Update(ctx, id, func(x *milogin.OAuthRequest) error {
		if !x.CodeUsedAt.IsZero() {
			return errCodeReused
		}
		if !now.Before(x.CodeExpiresAt) {
			return errCodeInvalid
		}
		x.CodeUsedAt = now
		return nil
	})
}

func (s *storage) accessToken(family, sessionID string, req op.TokenRequest, clientID string, amr []string, acr string, authTime, now time.Time) (string, *milogin.OAuthToken) {
	token, id := newToken()
	return token, &milogin.OAuthToken{
		ID: id, Kind: milogin.AccessToken, FamilyID: family, Portal: s.portal, ClientID: clientID,
		Subject: req.GetSubject(), SessionID: sessionID, Scopes: req.GetScopes(), Audience: req.GetAudience(),
		AMR: amr, ACR: acr, AuthTime: authTime, CreatedAt: now, ExpiresAt: now.Add(s.p.cfg.AccessTokenLifetime),
	}
}

func (s *storage) CreateAccessToken(ctx context.Context, request op.TokenRequest) (string, time.Time, error) {
	now := s.p.now()
	switch req := request.(type) {
	case authRequest:
		token, at := s.accessToken(req.r.ID, req.r.SessionID, req, req.r.ClientID, req.r.AMR, req.r.ACR, req.r.AuthTime, now)
		err := s.p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
			if _, err := consumeCode(ctx, tx, req.r.ID, now); err != nil {
				return err
			}
			return tx.OAuthTokens().Create(ctx, at)
		})
		if err != nil {
			return "", time.Time{}, s.tokenErr(ctx, req.r, err)
		}
		return token, at.ExpiresAt, nil
	case ccRequest:
		family, _ := newToken()
		token, at := s.accessToken(hashToken(family), "", req, req.clientID, nil, "", time.Time{}, now)
		// One insert: no transaction needed around it.
		err := s.p.cfg.Store.WriteOne(ctx, func(tx milogin.Tx) error { return tx.OAuthTokens().Create(ctx, at) })
		if err != nil {
			return "", time.Time{}, err
		}
		return token, at.ExpiresAt, nil
	}
	return "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// tokenErr turns a failed code exchange into the error the client sees; a
// code that turned out used revokes its family.
func (s *storage) tokenErr(ctx context.Context, r *milogin.OAuthRequest, err error) error {
	switch {
	case errors.Is(err, errCodeReused):
		if rerr := s.p.revokeFamily(ctx, r.ID, r.ClientID, r.Subject, milogin.EventOAuthCodeReuse); rerr != nil {
			return rerr
		}
		return oidc.ErrInvalidGrant().WithDescription("%s", errCodeReused.Error())
	case errors.Is(err, errCodeInvalid):
		return oidc.ErrInvalidGrant().WithDescription("%s", errCodeInvalid.Error())
	}
	return err
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, request op.TokenRequest, current string) (string, string, time.Time, error) {
	now := s.p.now()
	switch req := request.(type) {
	case authRequest:
		r := req.r
		token, at := s.accessToken(r.ID, r.SessionID, req, r.ClientID, r.AMR, r.ACR, r.AuthTime, now)
		refresh, rt := s.refreshToken(at, now, now.Add(s.p.cfg.RefreshAbsolute))
		err := s.p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
			if _, err := consumeCode(ctx, tx, r.ID, now); err != nil {
				return err
			}
			if err := tx.OAuthTokens().Create(ctx, at); err != nil {
				return err
			}
			return tx.OAuthTokens().Create(ctx, rt)
		})
		if err != nil {
			return "", "", time.Time{}, s.tokenErr(ctx, r, err)
		}
		return token, refresh, at.ExpiresAt, nil
	case *refreshRequest:
		old := req.t
		token, at := s.accessToken(old.FamilyID, old.SessionID, req, old.ClientID, old.AMR, old.ACR, old.AuthTime, now)
		refresh, rt := s.refreshToken(at, now, old.FamilyExpiresAt)
		// A narrower scope asked at refresh narrows this access token only;
		// the grant keeps its scope (RFC 6749 §6).
		rt.Scopes = old.Scopes
		err := s.p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
			_, err := tx.OAuthTokens().Update(ctx, hashToken(current), func(x *milogin.OAuthToken) error {
				if !x.UsedAt.IsZero() {
					return errRefreshReused
				}
				if !x.Usable(now) {
					return errTokenInvalid
				}
				x.UsedAt = now
				return nil
			})
			if err != nil {
				return err
			}
			if err := tx.OAuthTokens().Create(ctx, at); err != nil {
				return err
			}
			return tx.OAuthTokens().Create(ctx, rt)
		})
		if errors.Is(err, errRefreshReused) {
			if rerr := s.p.revokeFamily(ctx, old.FamilyID, old.ClientID, old.Subject, milogin.EventOAuthRefreshReuse); rerr != nil {
				return "", "", time.Time{}, rerr
			}
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("%s", errRefreshReused.Error())
		}
		if errors.Is(err, errTokenInvalid) || milogin.IsKind(err, milogin.ENOTFOUND) {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("%s", errTokenInvalid.Error())
		}
		if err != nil {
			return "", "", time.Time{}, err
		}
		return token, refresh, at.ExpiresAt, nil
	}
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// refreshToken makes the refresh token that goes with access token at, in
// its family; it never outlives the family.
func (s *storage) refreshToken(at *milogin.OAuthToken, now, familyEnd time.Time) (string, *milogin.OAuthToken) {
	token, id := newToken()
	exp := now.Add(s.p.cfg.RefreshIdle)
	if exp.After(familyEnd) {
		exp = familyEnd
	}
	rt := *at
	rt.ID, rt.Kind, rt.ExpiresAt, rt.FamilyExpiresAt = id, milogin.RefreshToken, exp, familyEnd
	return token, &rt
}

// TokenRequestByRefreshToken returns the grant behind a usable refresh
// token. A rotated token coming back means two parties hold the family:
// it is revoked whole (RFC 9700 §4.14.2).
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, err := s.token(ctx, token)
	if err != nil || t.Kind != milogin.RefreshToken {
		return nil, errTokenInvalid
	}
	now := s.p.now()
	if !t.UsedAt.IsZero() && t.RevokedAt.IsZero() {
		if err := s.p.revokeFamily(ctx, t.FamilyID, t.ClientID, t.Subject, milogin.EventOAuthRefreshReuse); err != nil {
			return nil, err
		}
		return nil, errRefreshReused
	}
	if !t.Usable(now) {
		return nil, errTokenInvalid
	}
	if _, err := s.activeAccount(ctx, t.Subject); err != nil {
		return nil, errTokenInvalid
	}
	return &refreshRequest{t: t, token: token, scopes: t.Scopes}, nil
}

// token loads the token with value v issued in this portal.
func (s *storage) token(ctx context.Context, v string) (*milogin.OAuthToken, error) {
	if !validTokenShape(v) {
		return nil, errTokenInvalid
	}
	var t *milogin.OAuthToken
	err := s.p.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		t, err = tx.OAuthTokens().Get(ctx, hashToken(v))
		return err
	})
	if err != nil {
		return nil, err
	}
	if t.Portal != s.portal {
		return nil, errTokenInvalid
	}
	return t, nil
}

// tokenWithAccount is token with the account it was issued for, read in
// one statement (userinfo needs both).
func (s *storage) tokenWithAccount(ctx context.Context, v string) (*milogin.OAuthToken, *milogin.Account, error) {
	if !validTokenShape(v) {
		return nil, nil, errTokenInvalid
	}
	var t *milogin.OAuthToken
	var a *milogin.Account
	err := s.p.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		t, a, err = tx.OAuthTokens().GetWithAccount(ctx, hashToken(v))
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if t.Portal != s.portal {
		return nil, nil, errTokenInvalid
	}
	return t, a, nil
}

// TerminateSession revokes the person's tokens of one client (the library's
// end_session, which this package does not route, would call it).
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	now := s.p.now()
	return s.p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
		_, err := tx.OAuthTokens().RevokeBySubject(ctx, userID, clientID, now)
		return err
	})
}

// RevokeToken implements RFC 7009. Unknown tokens are not an error; a
// token of another client is refused; revoking a refresh token revokes its
// family (the access tokens of the same grant included).
func (s *storage) RevokeToken(ctx context.Context, token, _, clientID string) *oidc.Error {
	t, err := s.token(ctx, token)
	if err != nil {
		return nil
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	now := s.p.now()
	err = s.p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
		if t.Kind == milogin.RefreshToken {
			_, err := tx.OAuthTokens().RevokeFamily(ctx, t.FamilyID, now)
			return err
		}
		_, err := tx.OAuthTokens().Update(ctx, t.ID, func(x *milogin.OAuthToken) error {
			if x.RevokedAt.IsZero() {
				x.RevokedAt = now
			}
			return nil
		})
		return err
	})
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// GetRefreshTokenInfo lets the revocation endpoint recognize refresh
// tokens; the "token ID" handed back is the token itself (RevokeToken
// hashes it like any other).
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, err := s.token(ctx, token)
	if err != nil || t.Kind != milogin.RefreshToken {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.Subject, token, nil
}

// ---- keys ----

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := keys.RS256
	if a, ok := ctx.Value(algKey{}).(*string); ok && *a != "" {
		alg = *a
	}
	return s.p.cfg.Keys.Signer(ctx, alg)
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return s.p.cfg.Keys.Algorithms(), nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	pubs, err := s.p.cfg.Keys.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, len(pubs))
	for i, k := range pubs {
		out[i] = k
	}
	return out, nil
}

// GetKeyByIDAndClientID would serve private_key_jwt and the JWT bearer
// grant, which MILogin does not offer.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidClient().WithDescription("JWT client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// ---- claims ----

// SetUserinfoFromScopes is deprecated in the library; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) activeAccount(ctx context.Context, id string) (*milogin.Account, error) {
	var a *milogin.Account
	err := s.p.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		a, err = tx.Accounts().Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if a.Status != milogin.StatusActive || a.Portal != s.portal {
		return nil, milogin.Errorf("oidc.activeAccount", milogin.EFORBIDDEN, "account not active")
	}
	return a, nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, request op.IDTokenRequest, scopes []string) error {
	a, err := s.activeAccount(ctx, request.GetSubject())
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("the account can no longer sign in").WithParent(err)
	}
	var sessionID, acr string
	switch r := request.(type) {
	case authRequest:
		sessionID, acr = r.r.SessionID, r.r.ACR
	case *refreshRequest:
		sessionID, acr = r.t.SessionID, r.t.ACR
	}
	fillClaims(info, a, scopes, request.GetAMR(), acr)
	if sessionID != "" {
		info.AppendClaims("sid", sidOf(sessionID))
	}
	return nil
}

// SetUserinfoFromToken serves /userinfo for a usable access token.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	t, a, err := s.tokenWithAccount(ctx, tokenID)
	// A client credentials token (no session) has no person behind it.
	if err != nil || t.Kind != milogin.AccessToken || !t.Usable(s.p.now()) || t.SessionID == "" {
		return oidc.ErrAccessDenied().WithDescription("access token invalid")
	}
	if !t.HasScope(oidc.ScopeOpenID) {
		return oidc.ErrAccessDenied().WithDescription("the token lacks the openid scope")
	}
	if a.Status != milogin.StatusActive || a.Portal != s.portal {
		return oidc.ErrAccessDenied().WithDescription("access token invalid")
	}
	fillClaims(info, a, t.Scopes, t.AMR, t.ACR)
	return nil
}

// SetIntrospectionFromToken answers RFC 7662 for the client the token was
// issued to; for anyone else the token is inactive.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	t, err := s.token(ctx, tokenID)
	if err != nil || !t.Usable(s.p.now()) || (t.ClientID != clientID && !slices.Contains(t.Audience, clientID)) {
		return errTokenInvalid
	}
	resp.Scope = t.Scopes
	resp.ClientID = t.ClientID
	resp.TokenType = "Bearer"
	if t.Kind == milogin.RefreshToken {
		resp.TokenType = "refresh_token"
	}
	resp.Expiration = oidc.FromTime(t.ExpiresAt)
	resp.IssuedAt = oidc.FromTime(t.CreatedAt)
	resp.Subject = t.Subject
	resp.Audience = t.Audience
	resp.Issuer = s.p.Issuer(s.portal)
	if t.SessionID != "" {
		a, err := s.activeAccount(ctx, t.Subject)
		if err != nil {
			return errTokenInvalid
		}
		resp.Username = a.UserID
		resp.AuthTime = oidc.FromTime(t.AuthTime)
		resp.AuthenticationMethodsReferences = t.AMR
		if t.ACR != "" {
			resp.Claims = map[string]any{"acr": t.ACR}
		}
	}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) Health(ctx context.Context) error { return s.p.cfg.Store.Ping(ctx) }

// supportedScopes are the scopes MILogin understands.
var supportedScopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone, oidc.ScopeOfflineAccess}

var supportedClaims = []string{
	"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash", "c_hash",
	"preferred_username", "name", "given_name", "family_name", "email", "email_verified", "phone_number", "phone_number_verified",
}

// fillClaims sets the profile claims that the scopes allow. amr and acr are
// always there: they tell the application whether MFA happened.
func fillClaims(info *oidc.UserInfo, a *milogin.Account, scopes, amr []string, acr string) {
	info.Subject = a.ID
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername = a.UserID
		info.GivenName = a.FirstName
		info.FamilyName = a.LastName
		info.Name = a.DisplayName()
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && a.Email != "" {
		info.Email = a.Email
		// Always present, also when false (the library omits a false Bool).
		info.AppendClaims("email_verified", a.EmailVerified)
	}
	if slices.Contains(scopes, oidc.ScopePhone) {
		// phone_number_verified is true only for a mobile number proven by
		// a PIN sent to it: an unproven number (typed into the profile,
		// never confirmed) or a work phone is released as unverified, so
		// that no application treats it as the person's.
		verified := false
		if p := e164(a.Mobile); p != "" {
			info.PhoneNumber = p
			verified = a.MobileVerified
		} else if p := e164(a.WorkPhone); p != "" {
			info.PhoneNumber = p
		}
		if info.PhoneNumber != "" {
			info.AppendClaims("phone_number_verified", verified)
		}
	}
	if len(amr) > 0 {
		info.AppendClaims("amr", amr)
	}
	if acr == "" {
		acr = acrOf(amr)
	}
	info.AppendClaims("acr", acr)
}

// acrOf names the assurance of a sign-in by its methods.
func acrOf(amr []string) string {
	if slices.Contains(amr, "mfa") {
		return ACRMFA
	}
	return ACRPassword
}

var nonDigits = regexp.MustCompile(`\D`)

// e164 formats a US number as +1NXXNXXXXXX ("" when it is not one).
func e164(phone string) string {
	d := nonDigits.ReplaceAllString(phone, "")
	if len(d) == 11 && strings.HasPrefix(d, "1") {
		d = d[1:]
	}
	if len(d) != 10 {
		return ""
	}
	return "+1" + d
}

// tokenCrypto makes the library's opaque tokens ours: the "token ID" the
// storage returns is already the random token, so "encrypting" it is
// handing it out, and "decrypting" a token yields it back (the subject is
// read from the stored row, never from the token).
type tokenCrypto struct{}

func (tokenCrypto) Encrypt(s string) (string, error) {
	id, _, _ := strings.Cut(s, ":")
	if !validTokenShape(id) {
		return "", errors.New("oidc: not a token")
	}
	return id, nil
}

func (tokenCrypto) Decrypt(s string) (string, error) {
	if !validTokenShape(s) {
		return "", errors.New("oidc: not a token")
	}
	return s + ":", nil
}

// validTokenShape reports whether v looks like one of our tokens: 43
// base64url characters (256 bits).
func validTokenShape(v string) bool {
	if len(v) != 43 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// VerifyAccessToken checks a bearer token for an application's own API use
// (the provisioning API, SCIM): a usable access token of portal issued with
// the client credentials grant, that is, to the application itself rather
// than on behalf of a person. It returns the client ID, EUNAUTHORIZED for
// any token that does not qualify, EINTERNAL when the database fails.
func (p *Provider) VerifyAccessToken(ctx context.Context, portal milogin.PortalID, token string) (string, error) {
	const op = "oidc.VerifyAccessToken"
	bad := milogin.Errorf(op, milogin.EUNAUTHORIZED, "The access token is invalid or expired.")
	if !validTokenShape(token) {
		return "", bad
	}
	t, err := (&storage{p: p, portal: portal}).token(ctx, token)
	if milogin.IsKind(err, milogin.ENOTFOUND) || errors.Is(err, errTokenInvalid) {
		return "", bad
	}
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	if t.Kind != milogin.AccessToken || !t.Usable(p.now()) || t.SessionID != "" || t.Subject != t.ClientID {
		return "", bad
	}
	return t.ClientID, nil
}
