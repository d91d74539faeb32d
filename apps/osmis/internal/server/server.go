// Package server is OSMIS's web application: sign-in through MILogin
// (OpenID Connect, confidential client, PKCE S256, state, nonce, verified
// ID token), the five prerequisites, the dashboard, the system-selection
// and old-URL pages, Log Off (RP-initiated logout), back-channel logout,
// and the Staff Account Admin Utility. routes.go is the whole URL surface.
//
// It reaches MILogin only over HTTP. Its state lives in its own database
// (package store): a node keeps nothing in memory that another needs.
package server

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"milogin/apps/internal/rp"
	"milogin/apps/osmis/internal/store"
)

// Cookie names. OSMIS's own: MILogin's cookies are not OSMIS's business.
const (
	sessionCookie = "osmis_session"
	stateCookie   = "osmis_login"
)

// SessionLifetime is how long an OSMIS session lasts.
const SessionLifetime = 8 * time.Hour

// loginMaxAge is how long a sign-in may take at MILogin (passcode included).
const loginMaxAge = 30 * time.Minute

// Config holds what the server needs.
type Config struct {
	DB *store.DB
	// Issuer is MILogin's portal issuer, e.g. http://127.0.0.1:8080/thirdparty.
	Issuer       string
	ClientID     string
	ClientSecret string
	// BaseURL is OSMIS's public URL (redirect URI = BaseURL/callback).
	BaseURL string
	Logger  *slog.Logger
	// Now is OSMIS's clock (sessions, dates); ID tokens are checked against
	// the real clock, as MILogin's library stamps them with it.
	Now func() time.Time
	// Seal encrypts the ID tokens kept for Log Off.
	Seal cipher.AEAD
	// Kick wakes the provisioning worker after a staff change.
	Kick func()
	// HTTPClient talks to MILogin (default: 15 s timeout).
	HTTPClient *http.Client
}

// Server is the OSMIS web application.
type Server struct {
	cfg    Config
	db     *store.DB
	log    *slog.Logger
	secure bool

	rp *rp.Client // MILogin
}

// New returns the server.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil || cfg.Issuer == "" || cfg.ClientID == "" || cfg.BaseURL == "" || cfg.Seal == nil {
		return nil, errors.New("server: DB, Issuer, ClientID, BaseURL and Seal are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Kick == nil {
		cfg.Kick = func() {}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	return &Server{cfg: cfg, db: cfg.DB, log: cfg.Logger, secure: strings.HasPrefix(cfg.BaseURL, "https://"),
		rp: rp.New(rp.Config{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			RedirectURL: cfg.BaseURL + "/callback", Scopes: []string{"profile", "email"}, HTTPClient: cfg.HTTPClient})}, nil
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// cookie is the name a cookie has: on https with the __Host- prefix, so
// that only this origin can set it (Secure, Path=/, no Domain).
func (s *Server) cookie(name string) string {
	if s.secure {
		return "__Host-" + name
	}
	return name
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: s.cookie(name), Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

// handleLogin starts a sign-in at MILogin: the launch URL of OSMIS's
// home-page link.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	u, l, err := s.rp.Start(r.Context())
	if err != nil {
		s.log.Error("sign-in start", "err", err)
		s.errorPage(w, r, http.StatusBadGateway, "MILogin is not reachable", "OSMIS could not reach MILogin. Please try again in a few minutes.")
		return
	}
	if err := s.db.PutLoginState(r.Context(), &store.LoginState{StateHash: hashToken(l.State), Verifier: l.Verifier, Nonce: l.Nonce,
		CreatedAt: s.cfg.Now()}); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.setCookie(w, stateCookie, l.State, loginMaxAge)
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// signInFailed ends a callback that must create no session.
func (s *Server) signInFailed(w http.ResponseWriter, r *http.Request, why string, err error) {
	s.log.Warn("sign-in refused", "why", why, "err", err)
	s.errorPage(w, r, http.StatusBadRequest, "Sign-in failed",
		"OSMIS could not complete your sign-in through MILogin. Please start again from the MILogin for Third Party home page.")
}

// handleCallback finishes a sign-in: state, code exchange with the PKCE
// verifier, ID token verification, nonce, then the five prerequisites.
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// A new sign-in replaces whatever session this browser had, whether
	// it succeeds or not: a refused sign-in must leave no one signed in.
	if c, err := r.Cookie(s.cookie(sessionCookie)); err == nil && c.Value != "" {
		if err := s.db.DeleteSession(ctx, hashToken(c.Value)); err != nil {
			s.internalError(w, r, err)
			return
		}
		s.setCookie(w, sessionCookie, "", -1)
	}
	q := r.URL.Query()
	state := q.Get("state")
	c, cerr := r.Cookie(s.cookie(stateCookie))
	s.setCookie(w, stateCookie, "", -1)
	if cerr != nil || !rp.SameState(state, c.Value) {
		s.signInFailed(w, r, "state missing or not this browser's", nil)
		return
	}
	ls, err := s.db.TakeLoginState(ctx, hashToken(state), loginMaxAge)
	if err != nil {
		s.signInFailed(w, r, "unknown, used or expired state", err)
		return
	}
	idt, raw, err := s.rp.Finish(ctx, q, rp.Login{State: state, Nonce: ls.Nonce, Verifier: ls.Verifier})
	if errors.Is(err, rp.ErrDenied) {
		s.page(w, r, http.StatusForbidden, "cancelled", pageData{Title: "Sign-in cancelled"})
		return
	}
	if err != nil {
		s.signInFailed(w, r, "MILogin's answer", err)
		return
	}
	var claims struct {
		LoginID    string `json:"preferred_username"`
		Email      string `json:"email"`
		SID        string `json:"sid"`
		GivenName  string `json:"given_name"`
		FamilyName string `json:"family_name"`
	}
	if err := idt.Claims(&claims); err != nil {
		s.signInFailed(w, r, "ID token claims", err)
		return
	}
	id := Identity{Sub: idt.Subject, LoginID: claims.LoginID, Email: claims.Email, SID: claims.SID,
		GivenName: claims.GivenName, FamilyName: claims.FamilyName}

	staff, mwa, err := s.staffFor(ctx, id)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if reason := Check(staff, mwa, id); reason != "" {
		if staff != nil {
			if err := s.db.RecordDenial(ctx, staff.ID, reason); err != nil {
				s.log.Error("recording a denied sign-in", "err", err)
			}
		}
		s.log.Warn("access denied", "login_id", id.LoginID, "reason", reason)
		s.page(w, r, http.StatusForbidden, "denied", pageData{Title: "Access Denied"})
		return
	}
	sealed, err := s.seal(raw)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	token := rand.Text() + rand.Text()
	now := s.cfg.Now()
	if err := s.db.CreateSession(ctx, &store.Session{TokenHash: hashToken(token), StaffID: staff.ID, Sub: id.Sub, SID: id.SID,
		IDToken: sealed, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)}); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.setCookie(w, sessionCookie, token, SessionLifetime)
	s.log.Info("signed in", "login_id", staff.LoginID, "staff_id", staff.ID)
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// staffFor finds the staff account a sign-in is about: by MILogin ID, or
// else by email (so that a mismatch is recorded on the right account).
func (s *Server) staffFor(ctx context.Context, id Identity) (*store.Staff, *store.MWA, error) {
	var staff *store.Staff
	for _, find := range []func() (*store.Staff, error){
		func() (*store.Staff, error) { return s.db.StaffByLoginID(ctx, id.LoginID) },
		func() (*store.Staff, error) { return s.db.StaffByEmail(ctx, id.Email) },
	} {
		st, err := find()
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		staff = st
		break
	}
	if staff == nil {
		return nil, nil, nil
	}
	mwa, err := s.db.GetMWA(ctx, staff.MWAID)
	if err != nil {
		return nil, nil, err
	}
	return staff, mwa, nil
}

func (s *Server) seal(plain string) (string, error) {
	nonce := make([]byte, s.cfg.Seal.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.cfg.Seal.Seal(nonce, nonce, []byte(plain), []byte("osmis id_token"))), nil
}

func (s *Server) unseal(sealed string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.cfg.Seal.NonceSize() {
		return "", errors.New("sealed ID token is malformed")
	}
	n := s.cfg.Seal.NonceSize()
	plain, err := s.cfg.Seal.Open(nil, b[:n], b[n:], []byte("osmis id_token"))
	return string(plain), err
}

// current is the signed-in staff member of a request.
type current struct {
	session *store.Session
	staff   *store.Staff
}

// sessionOf reads the request's live session; nil when there is none or
// the staff account is no longer ACTIVE.
func (s *Server) sessionOf(r *http.Request) (*current, error) {
	c, err := r.Cookie(s.cookie(sessionCookie))
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess, err := s.db.SessionByToken(r.Context(), hashToken(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	staff, err := s.db.GetStaff(r.Context(), sess.StaffID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if staff.Status != store.Active {
		return nil, nil
	}
	return &current{session: sess, staff: staff}, nil
}

// signedIn wraps a page that needs an OSMIS session: without one, the
// browser goes through MILogin (the sign-in start).
func (s *Server) signedIn(admin bool, h func(http.ResponseWriter, *http.Request, *current)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur, err := s.sessionOf(r)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		if cur == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			s.errorPage(w, r, http.StatusUnauthorized, "Signed out", "Your OSMIS session has ended. Please sign in again through MILogin.")
			return
		}
		if admin && !cur.staff.IsAdmin {
			s.errorPage(w, r, http.StatusForbidden, "Not an administrator", "Only MWA Administrators may use the Staff Account Admin Utility.")
			return
		}
		h(w, r, cur)
	})
}

// handleLogout is Log Off: the OSMIS session ends here, then MILogin's
// (RP-initiated logout with the ID token as hint).
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, cur *current) {
	if err := s.db.DeleteSession(r.Context(), cur.session.TokenHash); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.setCookie(w, sessionCookie, "", -1)
	hint, err := s.unseal(cur.session.IDToken)
	to := ""
	if err == nil {
		to = s.rp.EndSessionURL(r.Context(), hint, s.cfg.BaseURL+"/signed-out")
	}
	if to == "" {
		s.log.Warn("log off: MILogin's session could not be ended from here", "err", err)
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// handleBackchannelLogout ends the OSMIS sessions of a MILogin session
// that ended (OpenID Connect Back-Channel Logout 1.0).
func (s *Server) handleBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	bad := func(why string, err error) {
		s.log.Warn("back-channel logout refused", "why", why, "err", err)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_request"}`)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	lt, err := s.rp.VerifyLogout(r.Context(), r.PostFormValue("logout_token"))
	if err != nil {
		bad("verification", err)
		return
	}
	n, err := s.db.EndMILoginSession(r.Context(), lt.Subject, lt.SessionID)
	if err != nil {
		s.log.Error("back-channel logout", "err", err)
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	s.log.Info("back-channel logout", "sessions_ended", n)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
