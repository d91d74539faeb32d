// Package oidc is MILogin's OpenID Provider: one issuer per portal
// ({base-url}/{portal}), built on github.com/zitadel/oidc/v3/pkg/op with the
// state in milogin.Store and the keys from internal/keys.
//
// The provider never renders HTML. An authorization request is checked,
// parked as a milogin.LoginRequest and the browser is sent to the portal's
// /continue page (internal/web), or straight to its sign-in page when it
// has no session cookie at all. /continue signs the person in and applies
// the application's rules; once they are through, it calls Provider.Finish,
// which issues the code and sends the browser to the application; a
// silent request (prompt=none) is answered the same way from /authorize.
// /{portal}/authorize/callback does the same for a browser sent back to it
// (a refused request: CANCEL on the terms), with the same checks.
//
// The library is used for the token, userinfo, introspection and revocation
// endpoints over this package's op.Storage; the front-channel endpoints
// (authorize, its callback, discovery, end_session) are this package's own,
// because that is where the library's defaults fall short of RFC 9700
// (SECURITY-TESTS.md):
//
//   - redirect URIs match registered ones exactly, as strings (the library
//     unescapes the request's before comparing, and accepts http for
//     confidential clients);
//   - PKCE with S256 is required of every client, "plain" refused;
//   - codes are single use, live at most 60 seconds, and a second use
//     revokes every token issued from the code;
//   - refresh tokens rotate; a rotated one coming back revokes its family;
//   - only the code flow, refresh and client credentials exist (the library
//     also serves implicit, JWT bearer and token exchange), and discovery
//     says exactly that;
//   - redirects are 303, the authorization response carries iss
//     (RFC 9207), /authorize has frame-ancestors 'none' and no CORS;
//   - RP-initiated logout needs a valid id_token_hint.
//
// Tokens are opaque: 256 random bits, stored as their SHA-256 like session
// tokens, so a copy of the database yields no usable token.
package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/httplog"
	"milogin/internal/keys"
)

// ACR values: whether a second factor was used.
const (
	ACRPassword = "urn:milogin:acr:pwd"
	ACRMFA      = "urn:milogin:acr:mfa"
)

// Limits from SECURITY-TESTS.md and their defaults.
const (
	// MaxCodeLifetime is the longest an authorization code may live.
	MaxCodeLifetime = 60 * time.Second

	DefaultAccessTokenLifetime = 10 * time.Minute
	DefaultIDTokenLifetime     = 10 * time.Minute
	DefaultRefreshIdle         = 24 * time.Hour
	DefaultRefreshAbsolute     = 7 * 24 * time.Hour
	DefaultRequestLifetime     = 10 * time.Minute
	// logoutTokenLifetime bounds a back-channel logout token; it is signed
	// when sent, not when queued.
	logoutTokenLifetime = 2 * time.Minute
)

// Config holds what the provider needs. Zero durations take the defaults.
type Config struct {
	Store milogin.Store
	Keys  *keys.Manager
	// Hasher verifies client secrets (argon2id).
	Hasher *authn.Hasher
	// BaseURL is the public URL of the service; each portal's issuer is
	// BaseURL + "/" + portal. http is accepted (development).
	BaseURL string
	Portals []milogin.PortalID
	Now     func() time.Time
	Logger  *slog.Logger
	// Kick wakes the outbox worker after back-channel logouts are queued.
	Kick func()

	AccessTokenLifetime time.Duration
	IDTokenLifetime     time.Duration
	// RefreshIdle is how long a refresh token stays usable unused;
	// RefreshAbsolute bounds a family from the code it came from.
	RefreshIdle     time.Duration
	RefreshAbsolute time.Duration
	// CodeLifetime is at most MaxCodeLifetime.
	CodeLifetime time.Duration
	// RequestLifetime bounds the time to sign in.
	RequestLifetime time.Duration
}

// Provider is the OpenID Provider of every portal.
type Provider struct {
	cfg     Config
	ops     map[milogin.PortalID]*op.Provider
	secrets secretCache
	silent  SilentFunc // prompt=none, from the pages; see SetSilent
	// jwks is the last JWKS document served, with the key IDs it holds.
	jwks atomic.Pointer[jwksDoc]
}

// New builds the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Hasher == nil {
		return nil, errors.New("oidc: Store, Keys and Hasher are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Portals) == 0 {
		for _, p := range milogin.DefaultPortals() {
			cfg.Portals = append(cfg.Portals, p.ID)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.AccessTokenLifetime, DefaultAccessTokenLifetime)
	def(&cfg.IDTokenLifetime, DefaultIDTokenLifetime)
	def(&cfg.RefreshIdle, DefaultRefreshIdle)
	def(&cfg.RefreshAbsolute, DefaultRefreshAbsolute)
	def(&cfg.CodeLifetime, MaxCodeLifetime)
	def(&cfg.RequestLifetime, DefaultRequestLifetime)
	if cfg.CodeLifetime > MaxCodeLifetime {
		cfg.CodeLifetime = MaxCodeLifetime
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("oidc: base URL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	p := &Provider{cfg: cfg, ops: map[milogin.PortalID]*op.Provider{}}
	for _, portal := range cfg.Portals {
		opts := []op.Option{
			op.WithCustomIntrospectionEndpoint(op.NewEndpoint("introspect")),
			op.WithCrypto(tokenCrypto{}),
			// CORS is ours (cors below), per endpoint: none on /authorize.
			op.WithCORSOptions(nil),
		}
		if u.Scheme == "http" {
			opts = append(opts, op.WithAllowInsecure())
		}
		o, err := op.NewProvider(&op.Config{
			CodeMethodS256:             true,
			AuthMethodPost:             true,
			GrantTypeRefreshToken:      true,
			BackChannelLogoutSupported: true,
			SupportedScopes:            supportedScopes,
			SupportedClaims:            supportedClaims,
		}, &storage{p: p, portal: portal}, op.StaticIssuer(p.Issuer(portal)), opts...)
		if err != nil {
			return nil, fmt.Errorf("oidc: provider for %s: %w", portal, err)
		}
		p.ops[portal] = o
	}
	return p, nil
}

// Issuer returns the issuer of portal: BaseURL/portal.
func (p *Provider) Issuer(portal milogin.PortalID) string {
	return p.cfg.BaseURL + "/" + string(portal)
}

func (p *Provider) now() time.Time { return p.cfg.Now().UTC() }

// Routes lists the paths Register adds for each portal, relative to
// /{portal}: the URL surface of the provider in one place.
var Routes = []string{
	"GET /.well-known/openid-configuration",
	"GET /authorize", "POST /authorize",
	"GET /authorize/callback",
	"POST /oauth/token",
	"GET /userinfo", "POST /userinfo",
	"GET /keys",
	"POST /revoke",
	"POST /introspect",
	"GET /end_session", "POST /end_session",
}

// Register adds the provider's routes for every portal to mux. Everything
// else on mux (the pages) is someone else's.
func (p *Provider) Register(mux *http.ServeMux) {
	for _, portal := range p.cfg.Portals {
		base := "/" + string(portal)
		lib := http.StripPrefix(base, p.ops[portal])
		handle := func(pattern string, h http.Handler) {
			method, path, _ := strings.Cut(pattern, " ")
			mux.Handle(method+" "+base+path, p.common(h))
		}
		handle("GET /.well-known/openid-configuration", cors(p.handleDiscovery(portal)))
		handle("GET /authorize", p.handleAuthorize(portal))
		handle("POST /authorize", p.handleAuthorize(portal))
		handle("GET /authorize/callback", p.handleCallback(portal))
		handle("POST /oauth/token", cors(p.tokenGate(lib)))
		userinfo := p.handleUserinfo(portal)
		handle("GET /userinfo", cors(noTokenInURL(userinfo)))
		handle("POST /userinfo", cors(noTokenInURL(userinfo)))
		handle("GET /keys", cors(p.handleKeys()))
		handle("POST /revoke", cors(lib))
		handle("POST /introspect", lib)
		handle("GET /end_session", p.handleEndSession(portal))
		handle("POST /end_session", p.handleEndSession(portal))
		for _, path := range []string{"/.well-known/openid-configuration", "/oauth/token", "/userinfo", "/keys", "/revoke"} {
			mux.Handle("OPTIONS "+base+path, p.common(cors(http.NotFoundHandler())))
		}
	}
}

// common applies the headers every provider response carries and logs the
// request (without its query string: it carries codes and tokens).
func (p *Provider) common(next http.Handler) http.Handler {
	next = httplog.Middleware(p.cfg.Logger, nil)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		if strings.HasPrefix(p.cfg.BaseURL, "https://") {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		// Bound what a client can make us parse.
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r.WithContext(withAppMemo(r.Context())))
	})
}

// appMemoKey holds a request's *appMemo.
type appMemoKey struct{}

// appMemo keeps the applications one request has read by client ID: the
// OpenID library asks for the client several times while answering one
// token request (authenticating it, checking its grant, signing for it),
// and each ask was a query. It lives and dies with the request, so nothing
// read here is ever older than the request.
type appMemo struct {
	mu sync.Mutex
	m  map[string]*milogin.Application
}

// withAppMemo gives the request an empty memo; its map is made on the
// first application read, so requests that read none (JWKS, discovery)
// pay for nothing but the context.
func withAppMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, appMemoKey{}, &appMemo{})
}

// cors lets browser applications call the endpoints meant for them
// (discovery, keys, token, userinfo, revocation) from any origin, without
// credentials: these endpoints authenticate the client or the token, never
// a cookie. /authorize gets no CORS at all.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// tokenGate lets only the grants MILogin offers reach the library's token
// endpoint, and only with client_secret_basic, client_secret_post or none.
func (p *Provider) tokenGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_request", "The request could not be parsed.")
			return
		}
		for k, v := range r.PostForm {
			if len(v) > 1 {
				tokenError(w, http.StatusBadRequest, "invalid_request", "Parameter "+k+" is repeated.")
				return
			}
		}
		switch gt := r.PostForm.Get("grant_type"); gt {
		case "authorization_code", "refresh_token", "client_credentials":
		case "":
			tokenError(w, http.StatusBadRequest, "invalid_request", "grant_type is missing.")
			return
		default:
			tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "Grant type "+gt+" is not supported.")
			return
		}
		if r.PostForm.Has("client_assertion") || r.PostForm.Has("client_assertion_type") {
			tokenError(w, http.StatusUnauthorized, "invalid_client", "Client assertions are not supported; use client_secret_basic.")
			return
		}
		if r.PostForm.Get("grant_type") == "authorization_code" && r.PostForm.Get("code_verifier") == "" {
			tokenError(w, http.StatusBadRequest, "invalid_request", "code_verifier is required (PKCE).")
			return
		}
		ctx := context.WithValue(r.Context(), algKey{}, new(string))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// noTokenInURL refuses an access token in the query string (RFC 9700
// §4.3.2 / RFC 6750 §2.3: URLs end up in logs and Referer headers); the
// Authorization header or a POST body carry it.
func noTokenInURL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("access_token") {
			tokenError(w, http.StatusBadRequest, "invalid_request", "Send the access token in the Authorization header, not in the URL.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"error_description":%q}`, code, desc)
}

// algKey holds, for one token request, the ID token algorithm of the
// client GetClientByClientID loaded, so that SigningKey signs with it.
type algKey struct{}

// newToken returns 256 random bits as base64url (the value handed out) and
// its ID (hex SHA-256, what is stored).
func newToken() (token, id string) { return authn.NewToken() }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// sidOf derives the "sid" claim of a session: stable for the session, not
// its stored ID.
func sidOf(sessionID string) string {
	sum := sha256.Sum256([]byte("milogin-sid\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// secretCache remembers client secrets verified recently, so that a busy
// client does not pay an argon2id hash per token request. The key covers
// the stored hash: a changed secret misses at once.
type secretCache struct {
	mu sync.Mutex
	ok map[[32]byte]time.Time
}

const secretCacheTTL = 5 * time.Minute

func secretCacheKey(clientID, storedHash, secret string) [32]byte {
	return sha256.Sum256([]byte(clientID + "\x00" + storedHash + "\x00" + secret))
}

func (c *secretCache) hit(k [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.ok[k]
	return ok && now.Sub(t) < secretCacheTTL && !now.Before(t)
}

func (c *secretCache) put(k [32]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok == nil || len(c.ok) > 4096 {
		c.ok = map[[32]byte]time.Time{}
	}
	c.ok[k] = now
}
