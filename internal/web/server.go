// Package web serves the people-facing pages of every portal: sign-in,
// sessions, the home page and (as later features land) self-service. It
// renders HTML only; protocol endpoints (OpenID Connect, SAML) live in their
// own packages and hand the browser to these pages and back.
//
// Every page works without JavaScript. Every state-changing request passes
// net/http.CrossOriginProtection; every response carries the security
// headers of SECURITY-TESTS.md.
package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
	"milogin/internal/clientip"
	"milogin/internal/httplog"
	"milogin/internal/mfa"
	"milogin/internal/pagesec"
	"milogin/internal/wellformed"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config holds what the pages need.
type Config struct {
	Auth    *authn.Service
	Store   milogin.Store
	BaseURL string // e.g. https://milogintp.example.gov; http only in development
	Demo    bool   // enables /dev/mailbox
	Logger  *slog.Logger
	// Registry receives the HTTP metrics; nil makes a private one.
	Registry *prometheus.Registry
	// MailFrom is the sender of every email (serve's --mail-from), named
	// where a page says to look for one; a display name is left off.
	MailFrom string
	// Access applies the applications' access rules (gate, home page,
	// Request Access); nil builds one on Store with Auth's clock.
	Access *access.Service
	// MFA runs the second factors; nil builds one with passcodes and
	// passkeys but no authenticator apps (they need a sealing key).
	MFA *mfa.Service
}

// defaultMailFrom is serve's default --mail-from.
const defaultMailFrom = "DONOTREPLY-MILogin@michigan.gov"

// Server is the web front end. Build it with NewServer.
type Server struct {
	cfg     Config
	tmpl    map[string]*template.Template
	secure  bool // cookies get Secure and the __Host- prefix
	mux     *http.ServeMux
	metrics *metrics
	nav     []navItem
	banners sync.Map // bannerKey → template.HTML
	chromes sync.Map // chromeKey → the layout's pieces (render.go)
	// chromeCount counts the layouts kept, up to maxChromes.
	chromeCount atomic.Int64
	pages       map[string]bool // GET paths registered under every portal
	// mailFrom is the address part of cfg.MailFrom.
	mailFrom string
	h        http.Handler
	// finish answers a completed parked sign-in per protocol, in place of
	// the redirect to its callback; see SetFinish.
	finish map[string]FinishFunc
}

// FinishFunc answers the browser for a parked sign-in that /continue has
// just let through, as the protocol's callback would: an OpenID Connect
// provider issues the code and sends the browser to the application. lr
// is the request as completed (lr.Done()); complete records that on the
// stored request, and must run in the transaction that answers (it fails
// with ECONFLICT when the request was already used), so that the sign-in
// is recorded and answered in one write.
type FinishFunc func(w http.ResponseWriter, r *http.Request, lr *milogin.LoginRequest, complete func(context.Context, milogin.Tx) error)

// SetFinish makes /continue answer a completed sign-in of the protocol
// itself instead of redirecting to lr.CallbackURL, which saves the browser
// a round trip. The callback stays the way back for a refused request
// (CANCEL on the terms). Call it before serving.
func (s *Server) SetFinish(protocol string, f FinishFunc) {
	if s.finish == nil {
		s.finish = map[string]FinishFunc{}
	}
	s.finish[protocol] = f
}

type navItem struct {
	Label string
	Path  string // relative to the portal, "/home"
}

// NewServer returns the handler for all pages.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{
		cfg:    cfg,
		secure: strings.HasPrefix(cfg.BaseURL, "https://"),
		mux:    http.NewServeMux(),
		// The menu of the guide, in its order. An item shows only once a
		// GET route for its path is registered (see Server.portal), so
		// features add themselves to the menu by adding their page.
		nav: []navItem{
			{"HOME", "/home"},
			{"REQUEST ACCESS", "/request-access"},
			{"UPDATE PROFILE", "/update-profile"},
			{"SECURITY OPTIONS", "/security-options"},
			{"CHANGE PASSWORD", "/change-password"},
			{"YOUR ACTIVITY", "/activity"},
		},
		pages:    map[string]bool{},
		mailFrom: defaultMailFrom,
	}
	if cfg.MailFrom != "" {
		a, err := mail.ParseAddress(cfg.MailFrom)
		if err != nil {
			return nil, fmt.Errorf("web: MailFrom %q: %w", cfg.MailFrom, err)
		}
		s.mailFrom = a.Address
	}
	var err error
	if s.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(cfg.Registry)
	s.initAccess()
	s.routes()
	s.h = s.handler()
	return s, nil
}

// ServeHTTP applies the middleware shared by every route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.h.ServeHTTP(w, r)
}

func (s *Server) handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(s.cfg.BaseURL); err == nil && u.Host != "" {
		_ = cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused. Please go back, reload the page and try again.")
	}))
	return s.recoverPanics(s.logRequests(s.securityHeaders(cop.Handler(s.mux))))
}

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return pagesec.Headers(pagesec.Policy{
		// No form-action: Chromium applies it to the redirect after a form
		// post, which would break the return to an application elsewhere.
		CSP:               "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
		ReferrerPolicy:    "same-origin",
		PermissionsPolicy: "camera=(), microphone=(), geolocation=()",
		Secure:            s.secure,
		// Static files (styles, scripts) may be cached; pages never.
		Cacheable: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/static/") },
	}, next)
}

// logRequests logs one line per request (never its query string: it can
// carry codes and tokens) and records the request metrics.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return httplog.Middleware(s.cfg.Logger, s.metrics.observe,
		func(r *http.Request) slog.Attr { return slog.String("ip", clientIP(r)) })(next)
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Logger.Error("panic", "path", r.URL.Path, "panic", v)
				http.Error(w, "An internal error has occurred.", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address every limit and audit event records (see
// package clientip: X-Forwarded-For only from trusted proxies).
func clientIP(r *http.Request) string { return clientip.From(r) }

func meta(r *http.Request) authn.Meta {
	return authn.Meta{IP: clientIP(r), UserAgent: wellformed.UserAgent(r)}
}

// Static returns the embedded static files (for tests and tools).
func Static() fs.FS {
	sub, _ := fs.Sub(staticFS, "static")
	return sub
}

// ready reports whether the database answers, for /readyz.
func (s *Server) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.cfg.Store.Ping(ctx)
}
