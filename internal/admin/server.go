package admin

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/clientip"
	"milogin/internal/httplog"
	"milogin/internal/pagesec"
	"milogin/internal/wellformed"
)

//go:embed templates/*.html
var templateFS embed.FS

// Config holds what the console needs.
type Config struct {
	Service *Service
	BaseURL string
	Logger  *slog.Logger
	// Keys rotates the signing keys (security administrators); nil hides it.
	Keys KeyRotator
	// HelpDesk is the residents' help-desk number shown in the console.
	HelpDesk string
}

// KeyRotator is the part of internal/keys the console uses.
type KeyRotator interface {
	Rotate(ctx context.Context, actor string) ([]*milogin.SigningKey, error)
}

// Server is the console's HTTP handler. Build it with NewServer.
type Server struct {
	cfg    Config
	svc    *Service
	tmpl   map[string]*template.Template
	secure bool
	mux    *http.ServeMux
	routes []Route
	h      http.Handler
}

// NewServer returns the console's handler for /admin and below.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, svc: cfg.Service, secure: strings.HasPrefix(cfg.BaseURL, "https://"), mux: http.NewServeMux()}
	var err error
	if s.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.register()
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Host != "" {
		_ = cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused. Please go back, reload the page and try again.")
	}))
	s.h = httplog.Middleware(cfg.Logger, nil, func(r *http.Request) slog.Attr { return slog.String("ip", clientip.From(r)) })(
		pagesec.Headers(policy(s.secure), cop.Handler(s.mux)))
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// policy is the console's header set: stricter than the portals' pages
// (form-action 'self', no referrer, nothing cached, not even static files).
func policy(secure bool) pagesec.Policy {
	return pagesec.Policy{
		CSP:            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
		ReferrerPolicy: "no-referrer",
		Secure:         secure,
	}
}

// meta is who asks: the client address through the one trusted-proxy-aware
// function every limit and audit uses, and the cleaned User-Agent.
func meta(r *http.Request) authn.Meta {
	return authn.Meta{IP: clientip.From(r), UserAgent: wellformed.UserAgent(r)}
}

// Cookies: the console's own, apart from every portal's. Over HTTPS they
// carry the __Host- prefix (Secure, Path=/, no Domain).
func (s *Server) cookieName(pending bool) string {
	n := "milogin-admin"
	if pending {
		n += "-mfa"
	}
	if s.secure {
		return "__Host-" + n
	}
	return n
}

func (s *Server) cookie(r *http.Request, pending bool) string {
	c, err := r.Cookie(s.cookieName(pending))
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *Server) setCookie(w http.ResponseWriter, pending bool, value string) {
	c := &http.Cookie{Name: s.cookieName(pending), Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// page is what every console template receives.
type page struct {
	Title  string
	Staff  *Staff
	Nav    []navLink
	Notice string
	Error  string
	Errors []milogin.Violation
	Form   url.Values
	Data   any
}

// fieldArgs is what the "field" partial receives.
type fieldArgs struct {
	Page                            *page
	Name, Label, Type, Autocomplete string
}

type navLink struct {
	Label, Href string
	Current     bool
}

func (p *page) FieldErrors(field string) []string { return pagesec.FieldErrors(p.Errors, field) }

func (p *page) HasError(field string) bool { return len(p.FieldErrors(field)) > 0 }

func (p *page) Value(field string) string {
	if p.Form == nil {
		return ""
	}
	return p.Form.Get(field)
}

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.In(stateLoc()).Format("Jan 2, 2006 3:04:05 PM MST")
		},
		"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"device":  milogin.Device,
		"roles":   RolesText,
		"actions": func() any { return Actions },
		"area":    func(p *page, name, label string) fieldArgs { return fieldArgs{Page: p, Name: name, Label: label} },
		"list":    func(s ...string) []string { return s },
		"has":     func(v url.Values, key, want string) bool { return slices.Contains(v[key], want) },
		"field": func(p *page, name, label, typ, autocomplete string) fieldArgs {
			return fieldArgs{Page: p, Name: name, Label: label, Type: typ, Autocomplete: autocomplete}
		},
	}
	return pagesec.ParseTemplates(templateFS, funcs)
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := s.tmpl[name]
	if !ok {
		pagesec.InternalError(w)
		return
	}
	if p.Staff != nil && p.Nav == nil {
		p.Nav = s.nav(r, p.Staff)
	}
	if err := pagesec.Render(w, status, t, p); err != nil {
		s.cfg.Logger.Error("rendering console page", "name", name, "err", err)
	}
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", &page{Title: http.StatusText(status), Staff: staffOf(r), Error: msg})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if milogin.ErrorKind(err) == milogin.EINTERNAL {
		s.cfg.Logger.Error("console request failed", "path", r.URL.Path, "err", err)
	}
	s.errorPage(w, r, milogin.HTTPStatus(err), milogin.ErrorMessage(err))
}

const maxFormBytes = 32 << 10

func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	status, msg, ok := pagesec.ReadForm(w, r, maxFormBytes)
	if !ok {
		s.errorPage(w, r, status, msg)
	}
	return ok
}

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

type ctxKey int

const staffKey ctxKey = 0

func staffOf(r *http.Request) *Staff {
	st, _ := r.Context().Value(staffKey).(*Staff)
	return st
}
