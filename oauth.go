package milogin

import (
	"context"
	"slices"
	"time"
)

// OpenID Connect / OAuth 2.0 vocabulary. The OpenID Provider
// (internal/oidc) keeps its state in these records; the signing keys
// (internal/keys) in SigningKey. Nothing here is usable from a copy of the
// database: codes and tokens are stored as SHA-256 hashes of the values the
// applications hold, private keys are sealed with the key-encryption key.

// Audit event types of the OpenID Provider.
const (
	EventOAuthCodeReuse    = "oauth.code_reuse"    // a code was presented twice: its tokens were revoked
	EventOAuthRefreshReuse = "oauth.refresh_reuse" // a rotated refresh token came back: its family was revoked
	EventOAuthLogout       = "oauth.logout"        // RP-initiated logout ended a session
	EventKeysRotated       = "keys.rotated"
)

// SigningKey is one asymmetric key that signs ID tokens and logout tokens.
// A key is published in the JWKS from its creation (so that every node and
// every relying party's cache has it before it signs anything), signs from
// ActivatesAt, and stays published after it is retired until every token it
// signed has expired.
type SigningKey struct {
	ID          string // the JWK "kid"
	Alg         string // "RS256", "ES256"
	Private     []byte // PKCS#8 DER, sealed with secrets.KEK.AEAD("signing-keys")
	Public      []byte // the public JWK as JSON
	CreatedAt   time.Time
	ActivatesAt time.Time // signs from then on
	RetiredAt   time.Time // zero while in service; no signing from then on
}

// Active reports whether k may sign at now.
func (k *SigningKey) Active(now time.Time) bool {
	return !now.Before(k.ActivatesAt) && (k.RetiredAt.IsZero() || now.Before(k.RetiredAt))
}

// Published reports whether k belongs in the JWKS at now, when tokens live
// at most retain after they are signed.
func (k *SigningKey) Published(now time.Time, retain time.Duration) bool {
	return k.RetiredAt.IsZero() || now.Before(k.RetiredAt.Add(retain))
}

// SigningKeyStore holds the deployment's signing keys.
type SigningKeyStore interface {
	// Create adds a key; ECONFLICT when the ID is taken.
	Create(ctx context.Context, k *SigningKey) error
	// List returns every key, oldest first.
	List(ctx context.Context) ([]*SigningKey, error)
	// Retire sets RetiredAt of a key not yet retired (or retired later
	// than at); ENOTFOUND for an unknown key.
	Retire(ctx context.Context, id string, at time.Time) error
	// DeleteRetired removes keys retired at or before before.
	DeleteRetired(ctx context.Context, before time.Time) (int, error)
}

// OAuthRequest is an OpenID Connect authorization request. It has the ID of
// the LoginRequest parked for it while the person signs in; the outcome
// (subject, session, methods) is copied onto it when the code is issued, so
// that the token endpoint needs this row alone.
type OAuthRequest struct {
	ID                  string // = LoginRequest.ID
	Portal              PortalID
	ClientID            string
	RedirectURI         string // exactly as registered
	State               string
	Nonce               string
	Scopes              []string
	ResponseMode        string // "" (query) or "form_post"
	CodeChallenge       string // S256 only
	CodeChallengeMethod string
	ACRValues           []string
	MaxAge              int // seconds; -1 when not asked
	CreatedAt           time.Time
	ExpiresAt           time.Time

	// Set when the authorization code is issued.
	Subject   string // Account.ID
	SessionID string
	AuthTime  time.Time
	AMR       []string
	ACR       string
	// CodeHash is the hex SHA-256 of the authorization code ("" until one
	// is issued); a code is single use and short-lived.
	CodeHash      string
	CodeExpiresAt time.Time
	CodeUsedAt    time.Time
}

// OAuthRequestStore holds authorization requests and their codes.
type OAuthRequestStore interface {
	Create(ctx context.Context, r *OAuthRequest) error
	Get(ctx context.Context, id string) (*OAuthRequest, error)
	// GetByCode returns the request whose code hashes to codeHash, used or
	// not (so that reuse can be detected); ENOTFOUND otherwise.
	GetByCode(ctx context.Context, codeHash string) (*OAuthRequest, error)
	// Update loads the request locked, applies fn and saves the result;
	// ECONFLICT when the code hash is taken.
	Update(ctx context.Context, id string, fn func(*OAuthRequest) error) (*OAuthRequest, error)
	// DeleteExpired removes requests that expired at or before before and
	// whose code (if any) also expired then.
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
}

// TokenKind tells access tokens from refresh tokens.
type TokenKind string

const (
	AccessToken  TokenKind = "access"
	RefreshToken TokenKind = "refresh"
)

// OAuthToken is an issued access or refresh token, stored by the hex SHA-256
// of its value. Tokens issued from one authorization code, and every refresh
// token rotated from them, share a FamilyID: reusing the code or a rotated
// refresh token revokes the whole family.
type OAuthToken struct {
	ID        string // hex SHA-256 of the token
	Kind      TokenKind
	FamilyID  string
	Portal    PortalID
	ClientID  string
	Subject   string // Account.ID, or the client ID for client credentials
	SessionID string // the sign-in session behind it ("" for client credentials)
	Scopes    []string
	Audience  []string
	AMR       []string
	ACR       string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	// FamilyExpiresAt is the absolute end of a refresh token family:
	// rotation never extends past it.
	FamilyExpiresAt time.Time
	UsedAt          time.Time // a refresh token that was rotated
	RevokedAt       time.Time
}

// Usable reports whether the token may be used at now.
func (t *OAuthToken) Usable(now time.Time) bool {
	return t.RevokedAt.IsZero() && t.UsedAt.IsZero() && now.Before(t.ExpiresAt)
}

// HasScope reports whether the token carries scope.
func (t *OAuthToken) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// OAuthTokenStore holds issued tokens.
type OAuthTokenStore interface {
	Create(ctx context.Context, t *OAuthToken) error
	Get(ctx context.Context, id string) (*OAuthToken, error)
	// GetWithAccount returns the token and the account it was issued for
	// (its Subject), read together; ENOTFOUND when either is missing (a
	// client credentials token has no account).
	GetWithAccount(ctx context.Context, id string) (*OAuthToken, *Account, error)
	// Update loads the token locked, applies fn and saves the result.
	Update(ctx context.Context, id string, fn func(*OAuthToken) error) (*OAuthToken, error)
	// RevokeFamily revokes every unrevoked token of the family at at and
	// returns how many it revoked.
	RevokeFamily(ctx context.Context, familyID string, at time.Time) (int, error)
	// RevokeBySubject revokes the unrevoked tokens of subject issued to
	// clientID ("" for every client).
	RevokeBySubject(ctx context.Context, subject, clientID string, at time.Time) (int, error)
	// RevokeByClient revokes every unrevoked token issued to clientID (an
	// application removed from the catalog).
	RevokeByClient(ctx context.Context, clientID string, at time.Time) (int, error)
	// DeleteExpired removes tokens that expired at or before before (a
	// refresh token when its family has ended too).
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
}

// SessionClient records that a sign-in session signed in to an application
// over OpenID Connect, for back-channel logout when the session ends. SID is
// the "sid" claim the application received.
type SessionClient struct {
	SessionID string
	ClientID  string
	AccountID string
	SID       string
	CreatedAt time.Time
}

// SessionClientStore links sessions to the clients they signed in to.
type SessionClientStore interface {
	// Put creates the link, or leaves an existing one unchanged.
	Put(ctx context.Context, sc *SessionClient) error
	// ListBySessions returns the links of the sessions, by session then client.
	ListBySessions(ctx context.Context, sessionIDs []string) ([]*SessionClient, error)
	// GetBySID returns one link with that sid (they share the session).
	GetBySID(ctx context.Context, sid string) (*SessionClient, error)
	// DeleteBySessions removes the links of ended sessions.
	DeleteBySessions(ctx context.Context, sessionIDs []string) (int, error)
	// Rekey moves the links of a session whose token was replaced (step-up)
	// to its new ID; their sid stays, so applications see the same session.
	Rekey(ctx context.Context, oldSessionID, newSessionID string) error
	// DeleteCreatedBefore removes links made at or before before (sessions
	// that ran out rather than ended).
	DeleteCreatedBefore(ctx context.Context, before time.Time) (int, error)
}
