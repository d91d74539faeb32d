package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
)

func queryEscape(s string) string { return url.QueryEscape(s) }

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	redirect(w, r, "/thirdparty/login")
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if err := s.ready(r.Context()); err != nil {
		s.cfg.Logger.Warn("not ready", "err", err)
		http.Error(w, "database unavailable\n", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) handlePortalRoot(w http.ResponseWriter, r *http.Request) {
	redirect(w, r, "/"+string(portalOf(r).ID)+"/login")
}

// notices are the status messages the sign-in page can show, by key, so the
// query string never carries free text.
var notices = map[string]string{
	"logged-out": "You have been logged out.",
	"ended":      "Your session has ended. Please sign in again.",
	"cancelled":  "Sign-in cancelled. Your other session is still active.",
	"reauth":     "For your security, the application asks you to sign in again.",
	// Why a session ended (authn.EndReasonOf), set by notSignedIn.
	string(milogin.EndSignedInElsewhere): authn.EndedMessage(milogin.EndSignedInElsewhere),
	string(milogin.EndPasswordChanged):   authn.EndedMessage(milogin.EndPasswordChanged),
	string(milogin.EndTimedOut):          authn.EndedMessage(milogin.EndTimedOut),
}

type loginData struct {
	Next string
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	next := safeNext(p.ID, r.URL.Query().Get("next"))
	// reauth: an application asked for a fresh sign-in, so a live session
	// does not skip the form.
	reauth := r.URL.Query().Get("reauth") == "1"
	if !reauth {
		if _, _, err := s.cfg.Auth.Authenticate(r.Context(), p.ID, s.sessionToken(r, p.ID)); err == nil {
			if next == "" {
				next = "/" + string(p.ID) + "/home"
			}
			redirect(w, r, next)
			return
		}
	}
	notice := notices[r.URL.Query().Get("m")]
	if reauth {
		notice = notices["reauth"]
	}
	s.render(w, r, http.StatusOK, "login", &page{
		Title: "Sign In", Portal: p, Notice: notice,
		Data: loginData{Next: next},
	})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	userID := strings.TrimSpace(r.PostFormValue("user_id"))
	password := r.PostFormValue("password")
	next := safeNext(p.ID, r.PostFormValue("next"))
	pg := &page{Title: "Sign In", Portal: p, Form: keepFields(r, "user_id"), Data: loginData{Next: next}}
	if userID == "" {
		pg.Errors = append(pg.Errors, milogin.Violation{Field: "user_id", Rule: milogin.RuleRequired, Message: "User ID is required."})
	}
	if password == "" {
		pg.Errors = append(pg.Errors, milogin.Violation{Field: "password", Rule: milogin.RuleRequired, Message: "Password is required."})
	}
	if len(pg.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "login", pg)
		return
	}
	// A session this browser already holds is replaced, never counted as
	// "another active session".
	res, err := s.cfg.Auth.SignInReplacing(r.Context(), p.ID, userID, password, s.sessionToken(r, p.ID), meta(r))
	if err != nil {
		kind := milogin.ErrorKind(err)
		s.metrics.signins.WithLabelValues(string(p.ID), string(kind)).Inc()
		if kind == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		pg.Error = milogin.ErrorMessage(err)
		s.render(w, r, milogin.HTTPStatus(err), "login", pg)
		return
	}
	s.metrics.signins.WithLabelValues(string(p.ID), string(res.Session.Stage)).Inc()
	// The previous cookie (if any) is replaced: a new session ID at every sign-in.
	s.setSessionCookie(w, p.ID, res.Token)
	s.afterSignIn(w, r, p, res.Session.Stage, next)
}

// afterSignIn sends the browser to the step its session is in.
func (s *Server) afterSignIn(w http.ResponseWriter, r *http.Request, p milogin.Portal, stage milogin.SessionStage, next string) {
	base := "/" + string(p.ID)
	q := ""
	if next != "" {
		q = "?next=" + queryEscape(next)
	}
	switch stage {
	case milogin.StageConfirmTakeover:
		redirect(w, r, base+"/login/active-session"+q)
	case milogin.StageChangePassword:
		redirect(w, r, base+"/change-password"+q)
	default:
		if next == "" {
			next = base + "/home"
		}
		redirect(w, r, next)
	}
}

func (s *Server) handleTakeoverPage(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	sess, _, err := s.cfg.Auth.PendingSession(r.Context(), p.ID, s.sessionToken(r, p.ID))
	if err != nil || sess.Stage != milogin.StageConfirmTakeover {
		redirect(w, r, "/"+string(p.ID)+"/login?m=ended")
		return
	}
	s.render(w, r, http.StatusOK, "takeover", &page{Title: "Warning", Portal: p,
		Data: loginData{Next: safeNext(p.ID, r.URL.Query().Get("next"))}})
}

func (s *Server) handleTakeover(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	next := safeNext(p.ID, r.PostFormValue("next"))
	choice := r.PostFormValue("choice")
	if choice != "continue" && choice != "cancel" {
		s.render(w, r, http.StatusBadRequest, "takeover", &page{Title: "Warning", Portal: p, Data: loginData{Next: next},
			Errors: []milogin.Violation{{Field: "choice", Rule: milogin.RuleRequired, Message: "Select one of the options, then select OK."}}})
		return
	}
	res, _, err := s.cfg.Auth.ConfirmTakeover(r.Context(), p.ID, s.sessionToken(r, p.ID), choice == "continue", meta(r))
	if err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		s.clearSessionCookie(w, p.ID)
		redirect(w, r, "/"+string(p.ID)+"/login?m=ended")
		return
	}
	if choice == "cancel" {
		s.clearSessionCookie(w, p.ID)
		redirect(w, r, "/"+string(p.ID)+"/login?m=cancelled")
		return
	}
	s.setSessionCookie(w, p.ID, res.Token)
	s.afterSignIn(w, r, p, res.Session.Stage, next)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	if err := s.cfg.Auth.SignOut(r.Context(), s.sessionToken(r, p.ID), meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.clearSessionCookie(w, p.ID)
	redirect(w, r, "/"+string(p.ID)+"/login?m=logged-out")
}

func (s *Server) handleHelp(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "help", &page{Title: "Need Help?", Portal: portalOf(r)})
}

type homeData struct {
	DaysLeft int // -1: the password never expires
	Apps     []access.Group
	Issuer   string // the portal's OpenID Provider, for initiate_login_uri links
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	si := sessionOf(r)
	s.render(w, r, http.StatusOK, "home", &page{
		Title: "Home", Portal: p, Account: si.Account,
		Data: homeData{DaysLeft: si.Account.PasswordDaysLeft(p.Policy, s.cfg.Auth.Now()), Apps: s.homeApps(r, si.Account),
			Issuer: s.cfg.BaseURL + "/" + string(p.ID)},
	})
}

type changePasswordData struct {
	Next     string
	Expired  bool
	Policy   milogin.Policy
	Specials string
}

// changePasswordSession returns the session allowed to change the password:
// an active one, or one that must change an expired password first.
func (s *Server) changePasswordSession(r *http.Request, p milogin.Portal) (*milogin.Session, *milogin.Account, bool) {
	token := s.sessionToken(r, p.ID)
	sess, acct, err := s.cfg.Auth.PendingSession(r.Context(), p.ID, token)
	if err != nil {
		return nil, nil, false
	}
	switch sess.Stage {
	case milogin.StageChangePassword:
		return sess, acct, true
	case milogin.StageActive:
		sess, acct, err = s.cfg.Auth.Authenticate(r.Context(), p.ID, token)
		return sess, acct, err == nil
	}
	return nil, nil, false
}

func (s *Server) handleChangePasswordPage(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	sess, acct, ok := s.changePasswordSession(r, p)
	if !ok {
		redirect(w, r, "/"+string(p.ID)+"/login?next="+queryEscape(r.URL.RequestURI()))
		return
	}
	pg := &page{Title: "Change Password", Portal: p, Data: changePasswordData{
		Next: safeNext(p.ID, r.URL.Query().Get("next")), Expired: sess.Stage == milogin.StageChangePassword,
		Policy: p.Policy, Specials: milogin.PasswordSpecials,
	}}
	if sess.Stage == milogin.StageActive {
		pg.Account = acct
	}
	s.render(w, r, http.StatusOK, "change-password", pg)
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	sess, acct, ok := s.changePasswordSession(r, p)
	if !ok {
		redirect(w, r, "/"+string(p.ID)+"/login?m=ended")
		return
	}
	next := safeNext(p.ID, r.PostFormValue("next"))
	res, err := s.cfg.Auth.ChangePassword(r.Context(), p.ID, s.sessionToken(r, p.ID),
		r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("confirm_password"), meta(r))
	if err != nil {
		vs := milogin.ViolationsOf(err)
		if vs == nil {
			if k := milogin.ErrorKind(err); k == milogin.EUNAUTHORIZED {
				redirect(w, r, "/"+string(p.ID)+"/login?m=ended")
				return
			} else if k == milogin.EINTERNAL {
				s.fail(w, r, err)
				return
			}
		}
		pg := &page{Title: "Change Password", Portal: p, Errors: vs, Data: changePasswordData{
			Next: next, Expired: sess.Stage == milogin.StageChangePassword, Policy: p.Policy, Specials: milogin.PasswordSpecials,
		}}
		if vs == nil {
			pg.Error = milogin.ErrorMessage(err)
		}
		if sess.Stage == milogin.StageActive {
			pg.Account = acct
		}
		s.render(w, r, http.StatusBadRequest, "change-password", pg)
		return
	}
	s.setSessionCookie(w, p.ID, res.Token)
	if res.Takeover {
		s.afterSignIn(w, r, p, milogin.StageConfirmTakeover, next)
		return
	}
	to := "/" + string(p.ID) + "/change-password/done"
	if next != "" {
		to += "?next=" + queryEscape(next)
	}
	redirect(w, r, to)
}

func (s *Server) handleChangePasswordDone(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	next := safeNext(p.ID, r.URL.Query().Get("next"))
	if next == "" {
		next = "/" + string(p.ID) + "/home"
	}
	s.render(w, r, http.StatusOK, "change-password-done", &page{Title: "Change Password", Portal: p, Account: sessionOf(r).Account, Data: next})
}

// mailboxData lists the outbox for the development mailbox.
type mailboxData struct {
	Messages []*milogin.Message
}

func (s *Server) handleMailbox(w http.ResponseWriter, r *http.Request) {
	var msgs []*milogin.Message
	err := s.cfg.Store.Read(r.Context(), func(tx milogin.Tx) error {
		var err error
		msgs, err = tx.Outbox().List(r.Context(), milogin.MessageFilter{To: r.URL.Query().Get("to"), Limit: 200})
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Decoys (queued for unknown people so that requests cost the same)
	// are nobody's mail.
	msgs = slices.DeleteFunc(msgs, func(m *milogin.Message) bool { return m.Channel == milogin.ChannelDecoy })
	s.render(w, r, http.StatusOK, "mailbox", &page{Title: "Development mailbox", Portal: s.portalOrDefault(milogin.ThirdParty), Data: mailboxData{Messages: msgs}})
}
