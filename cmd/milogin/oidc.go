package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"milogin/internal/keys"
	"milogin/internal/notify"
	"milogin/internal/oidc"
)

// setupOIDC makes sure the signing keys exist (generated on first start,
// sealed with the KEK), builds the OpenID Provider of every portal, and
// wires it to sign-out (back-channel logout queued in the transaction that
// ends the sessions) and to the outbox worker (which delivers it).
func setupOIDC(ctx context.Context, e *env, baseURL string, logger *slog.Logger, worker *notify.Worker) (*oidc.Provider, error) {
	signing := keys.New(e.store, e.kek)
	if err := signing.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	provider, err := oidc.New(oidc.Config{
		Store: e.store, Keys: signing, Hasher: e.auth.Hasher, BaseURL: baseURL, Logger: logger, Kick: worker.Kick, Now: e.auth.Now,
	})
	if err != nil {
		return nil, err
	}
	e.auth.SessionsEnded = provider.SessionsEnded
	worker.Backchannel = oidc.NewBackchannelSender(signing)
	return provider, nil
}

// withOIDC puts the provider's routes (/{portal}/authorize, /oauth/token,
// …; see oidc.Routes) in front of the pages.
func withOIDC(provider *oidc.Provider, pages http.Handler) http.Handler {
	mux := http.NewServeMux()
	provider.Register(mux)
	mux.Handle("/", pages)
	return mux
}

// sweepOIDC deletes expired authorization requests, codes, tokens and
// session links every oidcSweepEvery.
func sweepOIDC(ctx context.Context, p *oidc.Provider, logger *slog.Logger) {
	t := time.NewTicker(oidcSweepEvery)
	defer t.Stop()
	for {
		if n, err := p.Sweep(ctx); err != nil && ctx.Err() == nil {
			logger.Error("oidc sweep", "err", err)
		} else if n > 0 {
			logger.Info("oidc sweep", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
