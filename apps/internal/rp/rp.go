// Package rp is the OpenID Connect client that the applications under apps/
// share: how an agency's system signs its people in through MILogin with
// the authorization code flow (PKCE S256, state, nonce), ends their MILogin
// session when they log off (RP-initiated logout) and hears that a MILogin
// session ended (back-channel logout). It speaks only the protocol, over
// HTTP, with go-oidc and x/oauth2, as an outside agency's system would;
// where an application keeps its pending sign-ins and sessions is its own
// business.
package rp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config names the application to MILogin.
type Config struct {
	Issuer       string // MILogin's issuer for the portal, e.g. http://127.0.0.1:8080/thirdparty
	ClientID     string
	ClientSecret string
	RedirectURL  string   // the application's callback, as registered
	Scopes       []string // asked for besides openid
	// HTTPClient talks to MILogin; nil: one with a 15 s timeout.
	HTTPClient *http.Client
}

// Client is one application's client of MILogin. MILogin is discovered on
// first use, and again after a failure, so an application can start while
// MILogin is still starting or down.
type Client struct {
	cfg Config

	mu         sync.Mutex
	provider   *oidc.Provider
	oauth      *oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
}

// New returns the client; nothing is fetched until it is used.
func New(cfg Config) *Client {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	return &Client{cfg: cfg}
}

// The ways a sign-in fails, for errors.Is: each application words them for
// its people.
var (
	// ErrUnavailable: MILogin's discovery document could not be read.
	ErrUnavailable = errors.New("MILogin is not reachable")
	// ErrDenied: MILogin answered access_denied (the person cancelled, for
	// instance on the application's terms).
	ErrDenied = errors.New("MILogin answered access_denied")
	// ErrRefused: MILogin answered with another error.
	ErrRefused = errors.New("MILogin refused the sign-in")
	// ErrExchange: the code could not be exchanged for tokens.
	ErrExchange = errors.New("the authorization code could not be exchanged")
	// ErrInvalid: the answer is not MILogin's for this sign-in: another
	// issuer (RFC 9207), no ID token, a token that does not verify, or
	// another sign-in's nonce.
	ErrInvalid = errors.New("MILogin's answer could not be verified")
)

func (c *Client) discover(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return nil
	}
	// The provider keeps this context for fetching keys later: not the
	// request's, which ends with the request.
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), c.cfg.HTTPClient)
	p, err := oidc.NewProvider(pctx, c.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("%w: discovering %s: %v", ErrUnavailable, c.cfg.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	// A confidential client authenticates with HTTP Basic, never with the
	// secret in the form body.
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	c.provider, c.endSession = p, extra.EndSession
	c.oauth = &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, Endpoint: ep,
		RedirectURL: c.cfg.RedirectURL, Scopes: append([]string{oidc.ScopeOpenID}, c.cfg.Scopes...)}
	c.verifier = p.Verifier(&oidc.Config{ClientID: c.cfg.ClientID})
	return nil
}

// Login is what a sign-in keeps between Start and Finish. The application
// keeps it (server-side, or sealed) and binds it to the browser that
// started it, by a cookie holding the state.
type Login struct {
	State    string // sent in the URL and back; compare it with the browser's
	Nonce    string
	Verifier string // the PKCE code verifier: a secret until the exchange
}

// Start begins a sign-in: the URL of MILogin to send the browser to, and
// what Finish needs back.
func (c *Client) Start(ctx context.Context) (string, Login, error) {
	if err := c.discover(ctx); err != nil {
		return "", Login{}, err
	}
	l := Login{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
	return c.oauth.AuthCodeURL(l.State, oidc.Nonce(l.Nonce), oauth2.S256ChallengeOption(l.Verifier)), l, nil
}

// SameState reports whether the state of an authorization response is the
// one the browser's cookie holds, in constant time.
func SameState(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Finish completes a sign-in from the authorization response's query q
// and the Login of its state (which the application has already matched
// to this browser): the issuer named in the answer, its state against
// l.State, MILogin's error if it
// sent one, the code exchanged with the PKCE verifier, the ID token
// verified (signature, issuer, audience, expiry) and its nonce compared.
// It returns the verified token and its raw form (the hint for logging
// off).
func (c *Client) Finish(ctx context.Context, q url.Values, l Login) (*oidc.IDToken, string, error) {
	// RFC 9207: an authorization response names its issuer; another
	// issuer's response is a mix-up attack.
	if q.Has("iss") && q.Get("iss") != c.cfg.Issuer {
		return nil, "", fmt.Errorf("%w: the response is from %q", ErrInvalid, q.Get("iss"))
	}
	// The caller has matched the state to this browser's; an answer that
	// carries another state (or none) is not the answer to l, whatever the
	// caller did.
	if !SameState(q.Get("state"), l.State) {
		return nil, "", fmt.Errorf("%w: the response is for another sign-in", ErrInvalid)
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return nil, "", ErrDenied
		}
		return nil, "", fmt.Errorf("%w: %s: %s", ErrRefused, e, q.Get("error_description"))
	}
	if err := c.discover(ctx); err != nil {
		return nil, "", err
	}
	xctx := oidc.ClientContext(ctx, c.cfg.HTTPClient)
	tok, err := c.oauth.Exchange(xctx, q.Get("code"), oauth2.VerifierOption(l.Verifier))
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrExchange, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, "", fmt.Errorf("%w: no id_token", ErrInvalid)
	}
	idt, err := c.verifier.Verify(xctx, raw)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if l.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(l.Nonce)) != 1 {
		return nil, "", fmt.Errorf("%w: nonce mismatch", ErrInvalid)
	}
	return idt, raw, nil
}

// EndSessionURL is where to send a browser that logs off so that MILogin's
// session ends too (RP-initiated logout), with its ID token as the hint;
// "" when MILogin cannot be reached or has no such endpoint, or there is no
// hint: then only the application's session ends.
func (c *Client) EndSessionURL(ctx context.Context, idTokenHint, postLogoutRedirect string) string {
	if idTokenHint == "" || c.discover(ctx) != nil {
		return ""
	}
	c.mu.Lock()
	end := c.endSession
	c.mu.Unlock()
	if end == "" {
		return ""
	}
	q := url.Values{"id_token_hint": {idTokenHint}, "client_id": {c.cfg.ClientID}, "post_logout_redirect_uri": {postLogoutRedirect}}
	return end + "?" + q.Encode()
}

// VerifyLogout checks a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0: signature, issuer, audience, expiry, the logout
// event, no nonce, a sub or a sid) and returns it.
func (c *Client) VerifyLogout(ctx context.Context, raw string) (*oidc.LogoutToken, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: no logout_token", ErrInvalid)
	}
	if err := c.discover(ctx); err != nil {
		return nil, err
	}
	lt, err := c.verifier.VerifyLogout(oidc.ClientContext(ctx, c.cfg.HTTPClient), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return lt, nil
}
