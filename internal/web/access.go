package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/mfa"
)

// initAccess fills in the access and MFA services when the caller gave
// none: the rules over the same store and clock, passcodes, and passkeys for
// BaseURL (authenticator apps need a sealing key, so only cmd turns them on).
func (s *Server) initAccess() {
	now := func() time.Time { return s.cfg.Auth.Now() }
	kick := func() {
		if s.cfg.Auth.Kick != nil {
			s.cfg.Auth.Kick()
		}
	}
	if s.cfg.Access == nil {
		a := access.New(s.cfg.Store)
		a.Now, a.Kick, a.Logger = now, kick, s.cfg.Logger
		for id, p := range s.cfg.Auth.Portals {
			a.Portals[id] = p
		}
		s.cfg.Access = a
	}
	if s.cfg.MFA == nil {
		m := mfa.New(s.cfg.Store, s.cfg.Auth.Codes, s.cfg.Auth.Hasher)
		m.Now, m.Kick, m.Logger = now, kick, s.cfg.Logger
		m.Portals = s.cfg.Auth.Portals
		if wa, err := mfa.NewWebAuthn(s.cfg.BaseURL); err == nil {
			m.WebAuthn = wa
		} else {
			s.cfg.Logger.Warn("passkeys disabled", "base_url", s.cfg.BaseURL, "err", err)
		}
		s.cfg.MFA = m
	}
}

func actorOf(r *http.Request, a *milogin.Account) access.Actor {
	return access.Actor{ID: a.ID, Meta: meta(r)}
}

// homeApps returns the application groups of the home page; an error is
// logged and shows as an empty list rather than failing the page.
func (s *Server) homeApps(r *http.Request, a *milogin.Account) []access.Group {
	home := s.cfg.Access.Home
	if a.Portal == milogin.Citizen {
		home = s.cfg.Access.Services // a resident's state services (citizen.go)
	}
	groups, err := home(r.Context(), a)
	if err != nil {
		s.cfg.Logger.Error("listing applications", "err", err)
		return nil
	}
	return groups
}

// termsData is what the Terms & Conditions page receives.
type termsData struct {
	App     *milogin.Application
	Action  string // where the form posts
	LoginID string // the parked sign-in (from /continue)
	Enrols  bool   // agreeing also grants access (open application)
	Cancel  string // where CANCEL leads (request-access: back to the list)
}

func (s *Server) renderTerms(w http.ResponseWriter, r *http.Request, status int, pg *page, d termsData) {
	pg.Title = "Terms & Conditions"
	pg.Data = d
	s.render(w, r, status, "terms", pg)
}

// accessDeniedData is what the Access Denied page receives.
type accessDeniedData struct {
	App        *milogin.Application
	Contact    string
	CanRequest bool // an approval application: the person may ask for access
	Pending    bool // the person's request waits for an administrator
}

// renderAccessDenied answers a sign-in to an application the person has no
// access to: the guide's "Access Denied" screen, saying whom to contact.
func (s *Server) renderAccessDenied(w http.ResponseWriter, r *http.Request, p milogin.Portal, a *milogin.Account, app *milogin.Application, g *milogin.Grant) {
	s.render(w, r, http.StatusForbidden, "access-denied", &page{Title: "Access Denied", Portal: p, Account: a,
		Data: accessDeniedData{App: app, Contact: access.ContactOf(app), CanRequest: access.CanRequest(app, g) && app.Approval == milogin.ApprovalRequired,
			Pending: g != nil && g.Status == milogin.GrantPending}})
}

// requestAccessData is what the Request Access page receives.
type requestAccessData struct {
	Entries []access.Entry
}

// requestNotices are the status messages of the Request Access page, by
// key, so the query string never carries free text.
var requestNotices = map[string]string{
	"requested": "Your request has been submitted. You will receive an email when it has been approved or denied.",
	"enrolled":  "You now have access. The application link is on your home page.",
	"declined":  "You did not agree to the Terms & Conditions, so access was not given.",
}

func (s *Server) handleRequestAccess(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	si := sessionOf(r)
	pg := &page{Title: "Request Access", Portal: p, Account: si.Account, Notice: requestNotices[r.URL.Query().Get("m")]}
	s.renderRequestAccess(w, r, http.StatusOK, pg)
}

func (s *Server) renderRequestAccess(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	entries, err := s.cfg.Access.Catalog(r.Context(), pg.Account)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg.Data = requestAccessData{Entries: entries}
	s.render(w, r, status, "request-access", pg)
}

// handleRequestAccessPost is the Request button: an approval application
// gets a pending request; an open one first shows its terms.
func (s *Server) handleRequestAccessPost(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	si := sessionOf(r)
	appID := r.PostFormValue("app")
	app, g, err := s.cfg.Access.App(r.Context(), si.Account, appID)
	if err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		s.renderRequestAccess(w, r, http.StatusNotFound, &page{Title: "Request Access", Portal: p, Account: si.Account, Error: milogin.ErrorMessage(err)})
		return
	}
	base := "/" + string(p.ID)
	if app.Approval == milogin.ApprovalOpen && access.CanEnrol(g) {
		redirect(w, r, base+"/request-access/terms?app="+url.QueryEscape(app.ID))
		return
	}
	if _, err := s.cfg.Access.Request(r.Context(), si.Account, app.ID, actorOf(r, si.Account)); err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		s.renderRequestAccess(w, r, milogin.HTTPStatus(err), &page{Title: "Request Access", Portal: p, Account: si.Account, Error: milogin.ErrorMessage(err)})
		return
	}
	redirect(w, r, base+"/request-access?m=requested")
}

// handleRequestTerms shows an open application's terms before enrolling.
func (s *Server) handleRequestTerms(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	si := sessionOf(r)
	app, g, err := s.cfg.Access.App(r.Context(), si.Account, r.URL.Query().Get("app"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	base := "/" + string(p.ID)
	if app.Approval != milogin.ApprovalOpen || !access.CanEnrol(g) {
		redirect(w, r, base+"/request-access")
		return
	}
	s.renderTerms(w, r, http.StatusOK, &page{Portal: p, Account: si.Account}, termsData{
		App: app, Action: base + "/request-access/terms", Enrols: true, Cancel: base + "/request-access"})
}

func (s *Server) handleRequestTermsPost(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	si := sessionOf(r)
	base := "/" + string(p.ID)
	appID := r.PostFormValue("app")
	if r.PostFormValue("choice") != "agree" {
		if err := s.cfg.Access.Decline(r.Context(), si.Account, appID, actorOf(r, si.Account)); err != nil {
			s.fail(w, r, err)
			return
		}
		redirect(w, r, base+"/request-access?m=declined")
		return
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	if _, err := s.cfg.Access.Agree(r.Context(), si.Account, appID, version, actorOf(r, si.Account)); err != nil {
		s.termsFailed(w, r, p, si, err, appID, termsData{Action: base + "/request-access/terms", Enrols: true, Cancel: base + "/request-access"})
		return
	}
	redirect(w, r, base+"/request-access?m=enrolled")
}

// termsFailed answers a refused agreement: the terms changed underneath
// (shown again, current version) or access was removed.
func (s *Server) termsFailed(w http.ResponseWriter, r *http.Request, p milogin.Portal, si *signedIn, err error, appID string, d termsData) {
	if milogin.ErrorKind(err) == milogin.ECONFLICT {
		if app, _, aerr := s.cfg.Access.App(r.Context(), si.Account, appID); aerr == nil {
			d.App = app
			s.renderTerms(w, r, http.StatusConflict, &page{Portal: p, Account: si.Account, Error: milogin.ErrorMessage(err)}, d)
			return
		}
	}
	s.fail(w, r, err)
}

// loginFlow is a parked sign-in being continued by its signed-in person.
type loginFlow struct {
	req *milogin.LoginRequest
	si  *signedIn
}

// continueURL is where a step of the gate sends the browser back to.
func continueURL(p milogin.PortalID, loginID string) string {
	return "/" + string(p) + "/continue?login=" + url.QueryEscape(loginID)
}

// loginFlowOf loads the parked sign-in named by the login parameter and the
// session continuing it. It answers the request itself and returns false
// when either is missing: an unknown or finished request gets the error
// page; a person not signed in goes back through /continue, which sends
// them to sign in first.
func (s *Server) loginFlowOf(w http.ResponseWriter, r *http.Request, loginID string) (*loginFlow, bool) {
	p := portalOf(r)
	now := s.cfg.Auth.Now().UTC()
	var req *milogin.LoginRequest
	err := s.cfg.Store.Read(r.Context(), func(tx milogin.Tx) error {
		var err error
		req, err = tx.LoginRequests().Get(r.Context(), loginID)
		return err
	})
	if err == nil && (req.Portal != p.ID || !now.Before(req.ExpiresAt) || req.Done()) {
		err = milogin.Errorf("web.loginFlowOf", milogin.ENOTFOUND, "This sign-in request has expired. Please return to the application and try again.")
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	token := s.sessionToken(r, p.ID)
	sess, acct, err := s.cfg.Auth.Authenticate(r.Context(), p.ID, token)
	if err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return nil, false
		}
		redirect(w, r, continueURL(p.ID, req.ID))
		return nil, false
	}
	return &loginFlow{req: req, si: &signedIn{Session: sess, Account: acct, Token: token}}, true
}

// handleContinueTerms is the Terms & Conditions dialog of a sign-in:
// Acknowledge/Agree records the acceptance (and enrols in an open
// application), then the sign-in continues; CANCEL marks the parked sign-in
// refused ("access_denied", which the protocol reports to the application)
// and ends on a page that says access was not given, with the way back to
// the application and HOME.
func (s *Server) handleContinueTerms(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f, ok := s.loginFlowOf(w, r, r.PostFormValue("login"))
	if !ok {
		return
	}
	p := portalOf(r)
	acct := f.si.Account
	if r.PostFormValue("choice") != "agree" {
		if err := s.cfg.Access.Decline(r.Context(), acct, f.req.AppID, actorOf(r, acct)); err != nil {
			s.fail(w, r, err)
			return
		}
		app, _, err := s.cfg.Access.App(r.Context(), acct, f.req.AppID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.refuseLogin(r, f.req.ID, "access_denied"); err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "terms-declined", &page{Title: "Terms & Conditions", Portal: p, Account: acct,
			Data: termsDeclined{App: app, Return: f.req.CallbackURL}})
		return
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	if _, err := s.cfg.Access.Agree(r.Context(), acct, f.req.AppID, version, actorOf(r, acct)); err != nil {
		if milogin.ErrorKind(err) == milogin.EFORBIDDEN {
			// Access was removed while the dialog was open: decide again.
			redirect(w, r, continueURL(p.ID, f.req.ID))
			return
		}
		s.termsFailed(w, r, p, f.si, err, f.req.AppID, termsData{Action: "/" + string(p.ID) + "/continue/terms", LoginID: f.req.ID})
		return
	}
	redirect(w, r, continueURL(p.ID, f.req.ID))
}

// trimmed returns s without surrounding space, at most n bytes long.
func trimmed(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}

// termsDeclined is what the page after CANCEL shows.
type termsDeclined struct {
	App    *milogin.Application
	Return string // the protocol's callback, which tells the application
}

// refuseLogin ends a parked sign-in without access; the protocol's callback
// reports code (an OAuth error such as "access_denied") to the application.
func (s *Server) refuseLogin(r *http.Request, id, code string) error {
	now := s.cfg.Auth.Now().UTC()
	return s.cfg.Store.Write(r.Context(), func(tx milogin.Tx) error {
		_, err := tx.LoginRequests().Update(r.Context(), id, func(req *milogin.LoginRequest) error {
			if !req.Done() {
				req.Refusal, req.DoneAt = code, now
			}
			return nil
		})
		return err
	})
}
