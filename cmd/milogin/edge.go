package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"milogin"
	"milogin/internal/clientip"
	"milogin/internal/web"
	"milogin/internal/wellformed"
)

// Messages of a request refused at the edge.
const (
	msgMalformed = "What you entered contains characters that cannot be accepted (such as invisible control characters). Please go back, correct it and try again."
	msgTooLarge  = "The request was too large to accept."
)

// withEdge is what every request passes before routing: its client address
// is resolved (--trusted-proxies) and a request with NUL bytes or invalid
// UTF-8 anywhere in its text is refused with a 400 in the format of the
// surface it was sent to.
func withEdge(proxies *clientip.Resolver, pages *web.Server, logger *slog.Logger, next http.Handler) http.Handler {
	reject := func(w http.ResponseWriter, r *http.Request, err error) {
		status, msg := http.StatusBadRequest, msgMalformed
		if errors.Is(err, wellformed.ErrTooLarge) {
			status, msg = http.StatusRequestEntityTooLarge, msgTooLarge
		}
		logger.Info("refused malformed request", "ip", clientip.From(r), "method", r.Method, "reason", err.Error())
		refuse(w, r, pages, status, msg)
	}
	return proxies.Middleware(wellformed.Middleware(reject)(withStoreScope(next)))
}

// withStoreScope gives every request a milogin.StoreScope, so that its
// reads can share what the store learns along the way (the catalog's
// version comes with a signed-in page's session).
func withStoreScope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(milogin.WithStoreScope(r.Context())))
	})
}

// refuse answers in the format of the endpoint: JSON {"code","message"} for
// the provisioning API, a SCIM error for SCIM, an OAuth error for the
// provider's machine endpoints, and an error page for everything a browser
// shows.
func refuse(w http.ResponseWriter, r *http.Request, pages *web.Server, status int, msg string) {
	writeJSON := func(ct string, v any) {
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	_, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	rest = "/" + rest
	switch {
	case strings.HasPrefix(rest, "/api/"):
		writeJSON("application/json", map[string]string{"code": "invalid", "message": msg})
	case strings.HasPrefix(rest, "/scim/"):
		writeJSON("application/scim+json", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
			"status":  strconv.Itoa(status), "scimType": "invalidValue", "detail": msg,
		})
	case rest == "/oauth/token" || rest == "/userinfo" || rest == "/revoke" || rest == "/introspect":
		writeJSON("application/json", map[string]string{"error": "invalid_request", "error_description": msg})
	default:
		pages.Refuse(w, r, status, msg)
	}
}
