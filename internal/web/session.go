package web

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strings"

	"milogin"
	"milogin/internal/authn"
)

type ctxKey int

const (
	portalKey ctxKey = iota
	sessionKey
)

func portalOf(r *http.Request) milogin.Portal {
	p, _ := r.Context().Value(portalKey).(milogin.Portal)
	return p
}

type signedIn struct {
	Session *milogin.Session
	Account *milogin.Account
	Token   string
}

func sessionOf(r *http.Request) *signedIn {
	s, _ := r.Context().Value(sessionKey).(*signedIn)
	return s
}

// cookieName is the portal's session cookie (authn.SessionCookieName).
func (s *Server) cookieName(p milogin.PortalID) string {
	return authn.SessionCookieName(p, s.secure)
}

func (s *Server) sessionToken(r *http.Request, p milogin.PortalID) string {
	c, err := r.Cookie(s.cookieName(p))
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *Server) setSessionCookie(w http.ResponseWriter, p milogin.PortalID, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(p), Value: token, Path: "/",
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, p milogin.PortalID) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(p), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

// requireSession lets only a fully signed-in person through; anyone else is
// sent to the sign-in page, which brings them back afterwards.
func (s *Server) requireSession(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := portalOf(r)
		token := s.sessionToken(r, p.ID)
		sess, acct, err := s.cfg.Auth.Authenticate(r.Context(), p.ID, token)
		if err != nil {
			s.notSignedIn(w, r, p, token, err)
			return
		}
		ctx := context.WithValue(r.Context(), sessionKey, &signedIn{Session: sess, Account: acct, Token: token})
		h(w, r.WithContext(ctx))
	}
}

// notSignedIn answers a request whose session did not authenticate (err):
// a sign-in that is half-way (takeover prompt, expired password) goes back
// to its step; anything else starts over at the sign-in page, which brings
// a GET back here afterwards.
func (s *Server) notSignedIn(w http.ResponseWriter, r *http.Request, p milogin.Portal, token string, err error) {
	if milogin.ErrorKind(err) == milogin.EINTERNAL {
		s.fail(w, r, err)
		return
	}
	if pend, _, perr := s.cfg.Auth.PendingSession(r.Context(), p.ID, token); perr == nil && pend.Stage != milogin.StageActive {
		s.afterSignIn(w, r, p, pend.Stage, "")
		return
	}
	if token != "" {
		s.clearSessionCookie(w, p.ID)
	}
	q := url.Values{}
	// The page to come back to: the one asked for, or for a form sent after
	// the session ended, the page the form is on (its own GET), so that
	// nothing is posted twice.
	if r.Method == http.MethodGet {
		q.Set("next", r.URL.RequestURI())
	} else if rel, ok := strings.CutPrefix(r.URL.Path, "/"+string(p.ID)); ok && s.pages[rel] {
		q.Set("next", r.URL.Path)
	}
	// Why the session ended, by key (notices), never as free text.
	if reason := authn.EndReasonOf(err); reason != "" && token != "" {
		q.Set("m", string(reason))
	}
	to := "/" + string(p.ID) + "/login"
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	redirect(w, r, to)
}

// safeNext accepts only a path inside the portal, so the sign-in page can
// never be used to send someone to another site.
//
// It must be a relative reference with an absolute path (no scheme, no
// host, no "//" that a browser would read as a host, no backslash that some
// read as a slash, no control characters they strip) whose cleaned path is
// still inside the portal.
func safeNext(p milogin.PortalID, next string) string {
	prefix := "/" + string(p) + "/"
	if !strings.HasPrefix(next, prefix) || strings.HasPrefix(next, "//") || strings.ContainsFunc(next, func(r rune) bool {
		return r == '\\' || r < 0x20 || r == 0x7f
	}) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	if clean := path.Clean(u.Path); clean != u.Path && clean+"/" != u.Path || !strings.HasPrefix(clean+"/", prefix) {
		return ""
	}
	if strings.HasPrefix(next, prefix+"login") || strings.HasPrefix(next, prefix+"logout") {
		return ""
	}
	return next
}
