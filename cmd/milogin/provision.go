package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/mfa"
	"milogin/internal/provision"
)

// setupAccess builds the access rules (daily MFA counted in the time zone
// tz) and the second factors: passcodes, authenticator apps (secrets sealed
// with the KEK's "totp" key) and passkeys for baseURL (off, with a warning,
// when baseURL is not a domain: WebAuthn needs one).
func setupAccess(e *env, baseURL, tz string, logger *slog.Logger, kick func()) (*access.Service, *mfa.Service, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, nil, usageError{msg: fmt.Sprintf("--mfa-time-zone %q: %v", tz, err)}
	}
	acc := access.New(e.store)
	acc.Location, acc.Kick, acc.Logger = loc, kick, logger
	acc.Now = e.auth.Now
	for id, p := range e.auth.Portals {
		acc.Portals[id] = p
	}
	m := mfa.New(e.store, e.auth.Codes, e.auth.Hasher)
	m.TOTPKey, m.Kick, m.Logger, m.Now = e.kek.AEAD("totp"), kick, logger, e.auth.Now
	m.Portals = e.auth.Portals
	if wa, err := mfa.NewWebAuthn(baseURL); err == nil {
		m.WebAuthn = wa
	} else {
		logger.Warn("passkeys are off: the base URL must name a domain (http://localhost:PORT in development)", "base_url", baseURL, "err", err)
	}
	return acc, m, nil
}

// setupProvisioning builds the provisioning API and SCIM. Bearer tokens are
// accepted when the OpenID Provider can verify its access tokens (it
// implements provision.TokenVerifier); HTTP Basic with the client secret
// always works.
func setupProvisioning(e *env, acc *access.Service, provider any, baseURL string, logger *slog.Logger) (*provision.Handler, error) {
	tokens, _ := provider.(provision.TokenVerifier)
	if tokens == nil {
		logger.Info("provisioning API: HTTP Basic client credentials only (the OpenID Provider does not verify access tokens yet)")
	}
	return provision.NewHandler(provision.Config{
		Store: e.store, Access: acc, Hasher: e.auth.Hasher, Tokens: tokens, Portals: e.auth.Portals,
		BaseURL: baseURL, Now: e.auth.Now, Logger: logger,
	})
}

// withProvisioning sends /{portal}/api/ and /{portal}/scim/ to the
// provisioning handler and everything else to next.
func withProvisioning(api http.Handler, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range milogin.DefaultPortals() {
		mux.Handle("/"+string(p.ID)+"/api/", api)
		mux.Handle("/"+string(p.ID)+"/scim/", api)
	}
	mux.Handle("/", next)
	return mux
}

// sweepMFA deletes abandoned passkey ceremonies every sweepEvery.
func sweepMFA(ctx context.Context, m *mfa.Service, logger *slog.Logger) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if n, err := m.Sweep(ctx); err != nil && ctx.Err() == nil {
			logger.Error("mfa sweep", "err", err)
		} else if n > 0 {
			logger.Info("mfa sweep", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
