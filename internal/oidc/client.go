package oidc

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"milogin"
)

// Grant types an application's client may be allowed.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// DefaultGrantTypes are what a new client is allowed: the code flow and
// refresh for everyone, client credentials (for the provisioning API) for
// confidential clients only.
func DefaultGrantTypes(public bool) []string {
	if public {
		return []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	return []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}
}

var clientIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidClientID reports whether id may be a client ID (and application ID):
// lower-case letters, digits, dot, dash, underscore, at most 64.
func ValidClientID(id string) bool { return clientIDPattern.MatchString(id) }

// NewClientSecret returns a fresh client secret: 256 random bits, base64url.
// It is shown once; only its argon2id hash is stored.
func NewClientSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// IsLoopback reports whether host (without port) is a loopback name:
// 127.0.0.1 (any 127/8), ::1 or localhost.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ValidateRedirectURI applies the registration rules of SECURITY-TESTS.md to a
// redirect (or post-logout redirect) URI:
//
//   - absolute, with a host, no user info, no fragment, no wildcard, and
//     written in canonical form (what it is compared against, as a string,
//     at every request: no percent-encoded variant will ever match);
//   - https; plain http only for a public (native) client on a loopback
//     host (127.0.0.1, [::1], localhost), any port (RFC 8252 §7.3);
//   - no other scheme.
func ValidateRedirectURI(raw string, public bool) error {
	const op = "oidc.ValidateRedirectURI"
	bad := func(why string) error {
		return milogin.Errorf(op, milogin.EINVALID, "redirect URI %q: %s", raw, why)
	}
	if raw == "" || len(raw) > 2000 {
		return bad("must be 1 to 2000 characters")
	}
	if strings.ContainsAny(raw, "*\\ \t\r\n") {
		return bad("wildcards, backslashes and spaces are not allowed")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return bad("must be an absolute URL with a host")
	}
	if u.User != nil {
		return bad("must not contain user information")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("must not contain a fragment")
	}
	if u.String() != raw {
		return bad("must be written in canonical form (" + u.String() + ")")
	}
	if strings.Contains(u.Hostname(), "%") {
		return bad("percent-encoded hosts are not allowed")
	}
	if overEncoded(raw) {
		return bad("unreserved characters must not be percent-encoded")
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if seg == "." || seg == ".." {
			return bad("dot segments are not allowed")
		}
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if public && IsLoopback(u.Hostname()) {
			return nil
		}
		if IsLoopback(u.Hostname()) {
			return bad("http is allowed only for public (native) clients on a loopback address")
		}
		return bad("must use https (http only for a native client on 127.0.0.1, [::1] or localhost)")
	}
	return bad("scheme must be https")
}

// ValidateBackchannelURI checks a back-channel logout URI: https, or http on
// a loopback host (a relying party on the same machine, development).
func ValidateBackchannelURI(raw string) error {
	if raw == "" {
		return nil
	}
	if err := ValidateRedirectURI(raw, true); err != nil {
		return milogin.Errorf("oidc.ValidateBackchannelURI", milogin.EINVALID, "back-channel logout URI: %s", milogin.ErrorMessage(err))
	}
	return nil
}

// ValidateClient checks an application's client registration.
func ValidateClient(c *milogin.Client) error { return validateClient(c, false) }

// ValidateClientAllowingLoopbackHTTP is ValidateClient that also accepts
// plain-http loopback redirect URIs (127.0.0.1, [::1], localhost) for a
// confidential client: a relying party on the developer's own machine
// (`milogin demo`, `apps add --allow-insecure-redirect`). Never for
// production: the code travels unencrypted, if only on the loopback.
func ValidateClientAllowingLoopbackHTTP(c *milogin.Client) error { return validateClient(c, true) }

// HasInsecureRedirect reports whether a confidential client has a plain-http
// (loopback) redirect or post-logout URI, which only
// ValidateClientAllowingLoopbackHTTP accepts.
func HasInsecureRedirect(c *milogin.Client) bool {
	if c.Public {
		return false
	}
	for _, u := range append(slices.Clip(c.RedirectURIs), c.PostLogoutURIs...) {
		if strings.HasPrefix(u, "http://") {
			return true
		}
	}
	return false
}

func validateClient(c *milogin.Client, loopbackHTTP bool) error {
	const opName = "oidc.ValidateClient"
	httpOK := c.Public || loopbackHTTP
	if !ValidClientID(c.ID) {
		return milogin.Errorf(opName, milogin.EINVALID, "client ID %q: use 1 to 64 lower-case letters, digits, '.', '-' or '_'", c.ID)
	}
	if len(c.RedirectURIs) == 0 {
		return milogin.Errorf(opName, milogin.EINVALID, "at least one redirect URI is required")
	}
	for _, u := range c.RedirectURIs {
		if err := ValidateRedirectURI(u, httpOK); err != nil {
			return err
		}
	}
	for _, u := range c.PostLogoutURIs {
		if err := ValidateRedirectURI(u, httpOK); err != nil {
			return milogin.Errorf(opName, milogin.EINVALID, "post-logout %s", milogin.ErrorMessage(err))
		}
	}
	if err := ValidateBackchannelURI(c.BackchannelLogoutURI); err != nil {
		return err
	}
	// Like a redirect URI: the home page sends people there.
	if c.InitiateLoginURI != "" {
		if err := ValidateRedirectURI(c.InitiateLoginURI, c.Public); err != nil {
			return milogin.Errorf(opName, milogin.EINVALID, "initiate login %s", milogin.ErrorMessage(err))
		}
	}
	if !c.Public && c.SecretHash == "" {
		return milogin.Errorf(opName, milogin.EINVALID, "a confidential client needs a secret")
	}
	if c.Public && slices.Contains(c.GrantTypes, GrantClientCredentials) {
		return milogin.Errorf(opName, milogin.EINVALID, "a public client cannot use client credentials")
	}
	if c.IDTokenAlg != "" && c.IDTokenAlg != "RS256" && c.IDTokenAlg != "ES256" {
		return milogin.Errorf(opName, milogin.EINVALID, "ID token algorithm %q: want RS256 or ES256", c.IDTokenAlg)
	}
	for _, g := range c.GrantTypes {
		if g != GrantAuthorizationCode && g != GrantRefreshToken && g != GrantClientCredentials {
			return milogin.Errorf(opName, milogin.EINVALID, "unknown grant type %q", g)
		}
	}
	return nil
}

// client adapts an application's registration to op.Client.
type client struct {
	app    *milogin.Application
	portal milogin.PortalID
	p      *Provider
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.app.Client.ID }
func (c *client) RedirectURIs() []string           { return c.app.Client.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.app.Client.PostLogoutURIs }

// ApplicationType is never "native": the library would then match loopback
// redirect URIs on any port, and ours match exactly.
func (c *client) ApplicationType() op.ApplicationType {
	if c.app.Client.Public {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.app.Client.Public {
		return oidc.AuthMethodNone
	}
	// Basic; the library also takes the secret from the form body
	// (client_secret_post) because Config.AuthMethodPost is set.
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	var out []oidc.GrantType
	for _, g := range c.app.Client.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	if !slices.Contains(out, oidc.GrantTypeCode) {
		out = append(out, oidc.GrantTypeCode)
	}
	return out
}

func (c *client) allows(grant string) bool {
	return grant == GrantAuthorizationCode || slices.Contains(c.app.Client.GrantTypes, grant)
}

func (c *client) LoginURL(id string) string {
	return continueURL(c.portal, id)
}
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.p.cfg.IDTokenLifetime }
func (c *client) DevMode() bool                       { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts the profile claims in the ID token
// too, not only at userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

// overEncoded reports whether s percent-encodes an unreserved character
// (RFC 3986 §2.3), which normalizers decode: such a URI has two spellings.
func overEncoded(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		b, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return true
		}
		c := byte(b)
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			return true
		}
	}
	return false
}
