package cars

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // Michigan time on any machine

	"milogin/apps/internal/rp"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server is the CARS e-Services web application.
type Server struct {
	db    *DB
	keys  *keys
	codes *Codes
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	tmpl  map[string]*template.Template
	mux   *http.ServeMux

	rp *rp.Client // MILogin
}

// Config is what the server needs to know about itself and MILogin.
type Config struct {
	BaseURL      string // CARS's own address, e.g. http://127.0.0.1:8082
	Issuer       string // MILogin for Third Party, e.g. http://127.0.0.1:8080/thirdparty
	ClientID     string
	ClientSecret string
	SessionTTL   time.Duration
	// Demo adds /dev/mailbox: the emails of CARS's outbox, codes included,
	// for trying CARS out without a mail server. Never in production.
	Demo bool
}

// displayZone is Michigan's time, for the dates on the pages.
var displayZone = func() *time.Location {
	if l, err := time.LoadLocation("America/Detroit"); err == nil {
		return l
	}
	return time.UTC
}()

const sessionCookie = "cars_session"
const loginCookie = "cars_login"

// NewServer builds the handler.
func NewServer(db *DB, k *keys, codes *Codes, cfg Config, log *slog.Logger, now func() time.Time) (*Server, error) {
	s := &Server{db: db, keys: k, codes: codes, cfg: cfg, log: log, now: now, mux: http.NewServeMux(),
		rp: rp.New(rp.Config{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			RedirectURL: cfg.BaseURL + "/callback", Scopes: []string{"profile", "email", "phone"}})}
	if s.cfg.SessionTTL == 0 {
		s.cfg.SessionTTL = 8 * time.Hour
	}
	var err error
	if s.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// ServeHTTP adds the headers every answer carries and refuses cross-origin
// form posts (http.CrossOriginProtection: the CSRF defence of every form).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' "+s.issuerOrigin())
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
	csrf.Handler(s.mux).ServeHTTP(w, r)
}

var csrf = http.NewCrossOriginProtection()

func (s *Server) issuerOrigin() string {
	u, err := url.Parse(s.cfg.Issuer)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (s *Server) secure() bool { return strings.HasPrefix(s.cfg.BaseURL, "https://") }

// --- pages ------------------------------------------------------------------

type fieldError struct{ Field, Message string }

type crumb struct{ Label, Href string }

// page is what every template receives.
type page struct {
	Title   string
	User    *User
	Crumbs  []crumb
	Notice  string
	Error   string
	Errors  []fieldError
	Form    map[string]string
	Data    any
	Printer bool // the printable view: no menus
}

func (p *page) FieldErrors(field string) []string {
	var out []string
	for _, e := range p.Errors {
		if e.Field == field {
			out = append(out, e.Message)
		}
	}
	return out
}
func (p *page) HasError(field string) bool { return len(p.FieldErrors(field)) > 0 }
func (p *page) Value(field string) string  { return p.Form[field] }

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
		"fmtTime": func(t time.Time) string { return t.In(displayZone).Format("January 2, 2006 3:04 PM MST") },
		"phone":   formatPhone,
		"fmtDate": func(t time.Time) string { return t.In(displayZone).Format("January 2, 2006") },
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) {
	t, ok := s.tmpl[name]
	if !ok {
		s.log.Error("no template", "name", name)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("rendering", "template", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows the error page; the details go to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	s.render(w, http.StatusInternalServerError, "error", &page{Title: "Something went wrong",
		Error: "Something went wrong on our side. Please try again in a few minutes."})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusNotFound, "error", &page{Title: "Page not found", Error: "The page you asked for does not exist."})
}

// --- sessions ---------------------------------------------------------------

func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// signedIn is the signed-in person of a request.
type signedIn struct {
	Session Session
	User    User
}

func (s *Server) current(r *http.Request) (*signedIn, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, errNotFound
	}
	sess, err := s.db.Session(r.Context(), tokenHash(c.Value), s.now())
	if err != nil {
		return nil, err
	}
	u, err := s.db.User(r.Context(), sess.Sub)
	if err != nil {
		return nil, err
	}
	return &signedIn{Session: sess, User: u}, nil
}

// requireSession sends a person who is not signed in to the Mechanic
// Services page (where the logins are).
func (s *Server) requireSession(h func(http.ResponseWriter, *http.Request, *signedIn)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		si, err := s.current(r)
		if errors.Is(err, errNotFound) {
			http.Redirect(w, r, "/mechanic-services?signed_out=1", http.StatusSeeOther)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, si)
	}
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.secure(), SameSite: http.SameSiteLaxMode})
}

// --- MILogin over OpenID Connect --------------------------------------------

// loginKinds are the two logins of the Mechanic Services page.
var loginKinds = map[string]string{"mechanic": "Mechanic Login", "school": "Mechanic School Login"}

// handleLogin starts a sign-in at MILogin: state (bound to this browser by
// a cookie), nonce and a PKCE S256 verifier, kept server-side.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("as")
	if _, ok := loginKinds[kind]; !ok {
		kind = "mechanic"
	}
	to, l, err := s.rp.Start(r.Context())
	if err != nil {
		s.log.Error("MILogin discovery", "issuer", s.cfg.Issuer, "err", err)
		s.render(w, http.StatusBadGateway, "error", &page{Title: "MILogin is not available",
			Error: "MILogin could not be reached. Please try again in a few minutes."})
		return
	}
	now := s.now()
	err = s.db.CreateLogin(r.Context(), tokenHash(l.State),
		pendingLogin{Nonce: l.Nonce, VerifierSealed: s.keys.sealString("cars pkce", l.Verifier), Kind: kind}, now.Add(15*time.Minute), now)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, loginCookie, l.State, 15*60)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

type idClaims struct {
	Username string `json:"preferred_username"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone_number"`
	SID      string `json:"sid"`
}

// handleCallback finishes the sign-in: the state must be this browser's and
// unused, the code is exchanged with the verifier, the ID token verified
// (issuer, audience, expiry, signature) and its nonce compared.
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	signInFailed := func(status int, msg string) {
		s.render(w, status, "error", &page{Title: "Sign-in did not complete", Error: msg,
			Data: map[string]string{"Retry": "/mechanic-services"}})
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !rp.SameState(q.Get("state"), c.Value) {
		signInFailed(http.StatusBadRequest, "This sign-in was not started in this browser, or it took too long. Please select your login again.")
		return
	}
	s.setCookie(w, loginCookie, "", -1)
	pending, err := s.db.TakeLogin(r.Context(), tokenHash(c.Value), s.now())
	if err != nil {
		signInFailed(http.StatusBadRequest, "This sign-in has expired or was already used. Please select your login again.")
		return
	}
	pkce, err := s.keys.openString("cars pkce", pending.VerifierSealed)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	idt, raw, err := s.rp.Finish(r.Context(), q, rp.Login{State: c.Value, Nonce: pending.Nonce, Verifier: pkce})
	switch {
	case errors.Is(err, rp.ErrDenied):
		signInFailed(http.StatusForbidden, "You did not agree to the terms of CARS e-Services at MILogin, so you were not signed in.")
		return
	case errors.Is(err, rp.ErrRefused):
		signInFailed(http.StatusForbidden, "MILogin did not sign you in. Please select your login again.")
		return
	case errors.Is(err, rp.ErrUnavailable):
		s.fail(w, r, err)
		return
	case errors.Is(err, rp.ErrExchange):
		s.log.Warn("code exchange failed", "err", err)
		signInFailed(http.StatusBadGateway, "MILogin did not confirm the sign-in. Please select your login again.")
		return
	case err != nil:
		s.log.Warn("MILogin's answer rejected", "err", err)
		signInFailed(http.StatusBadGateway, "MILogin's answer could not be verified. Please select your login again.")
		return
	}
	var cl idClaims
	if err := idt.Claims(&cl); err != nil {
		s.log.Warn("ID token claims", "err", err)
		signInFailed(http.StatusBadGateway, "MILogin's answer could not be verified. Please select your login again.")
		return
	}
	now := s.now()
	u := User{Sub: idt.Subject, Username: cl.Username, Name: cl.Name, Email: cl.Email, Phone: cl.Phone}
	if u.Username == "" {
		u.Username = idt.Subject
	}
	if err := s.db.SaveLogin(r.Context(), u, now); err != nil {
		s.fail(w, r, err)
		return
	}
	token := randomToken()
	sess := Session{ID: tokenHash(token), Sub: u.Sub, Kind: pending.Kind, SID: cl.SID, IDTokenSealed: s.keys.sealString("cars id token", raw),
		ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.db.CreateSession(r.Context(), sess, now); err != nil {
		s.fail(w, r, err)
		return
	}
	_ = s.db.Audit(r.Context(), now, u.Sub, "login", "kind="+pending.Kind)
	s.setCookie(w, sessionCookie, token, int(s.cfg.SessionTTL/time.Second))
	accts, err := s.db.Accounts(r.Context(), u.Sub)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(accts) == 0 {
		http.Redirect(w, r, "/account-access", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/springboard", http.StatusSeeOther)
}

// handleLogoff ends the CARS session and then MILogin's, through
// RP-initiated logout with the ID token as the hint.
func (s *Server) handleLogoff(w http.ResponseWriter, r *http.Request) {
	si, err := s.current(r)
	s.setCookie(w, sessionCookie, "", -1)
	if err != nil {
		http.Redirect(w, r, "/logged-off", http.StatusSeeOther)
		return
	}
	if err := s.db.DeleteSession(r.Context(), si.Session.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	_ = s.db.Audit(r.Context(), s.now(), si.User.Sub, "logoff", "")
	idToken, _ := s.keys.openString("cars id token", si.Session.IDTokenSealed)
	if to := s.rp.EndSessionURL(r.Context(), idToken, s.cfg.BaseURL+"/logged-off"); to != "" {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/logged-off", http.StatusSeeOther)
}

// formatPhone writes a North American number from the ID token (E.164,
// +15175550142) as the springboard shows it: +1 (517) 555-0142.
func formatPhone(p string) string {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, p)
	if len(d) == 10 {
		d = "1" + d
	}
	if len(d) != 11 || d[0] != '1' {
		return p
	}
	return "+1 (" + d[1:4] + ") " + d[4:7] + "-" + d[7:]
}

// handleBackchannelLogout is MILogin telling CARS that a MILogin session
// ended (OpenID Connect Back-Channel Logout 1.0): the logout token is
// verified like an ID token (signature, issuer, audience) and the CARS
// sessions it names end. It is a server-to-server POST: no browser, no
// cookie, so the cross-origin check lets it through.
func (s *Server) handleBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	lt, err := s.rp.VerifyLogout(r.Context(), r.PostFormValue("logout_token"))
	if errors.Is(err, rp.ErrUnavailable) {
		http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		s.log.Warn("logout token rejected", "err", err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"the logout token is not valid"}`))
		return
	}
	n, err := s.db.EndSessions(r.Context(), lt.Subject, lt.SessionID)
	if err != nil {
		s.log.Error("back-channel logout", "err", err)
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	_ = s.db.Audit(r.Context(), s.now(), lt.Subject, "logoff.backchannel", fmt.Sprintf("sessions=%d", n))
	w.WriteHeader(http.StatusOK)
}

type mailboxItem struct {
	To, Subject, Body string
	At, Sent          time.Time
}

// handleMailbox is the demo's mailbox: every email CARS queued, newest
// first, with the text of those not yet sent (a sent email's text is
// erased from the outbox).
func (s *Server) handleMailbox(w http.ResponseWriter, r *http.Request) {
	items, err := queryAll(r.Context(), s.db.sql, func(sc scanner) (mailboxItem, error) {
		var m mailboxItem
		var sealed string
		var at, sent int64
		err := sc.Scan(&m.To, &m.Subject, &sealed, &at, &sent)
		m.At, m.Sent = fromMS(at), fromMS(sent)
		if err == nil && sealed != "" {
			m.Body, _ = s.keys.openString(sealMail, sealed)
		}
		return m, err
	}, `SELECT to_addr, subject, body_sealed, created_at, sent_at FROM cars_outbox ORDER BY created_at DESC, id LIMIT 200`)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "mailbox", &page{Title: "Development mailbox", Data: items})
}
