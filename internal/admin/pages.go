package admin

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"milogin"
	"milogin/internal/access"
)

func stateLoc() *time.Location { return access.StateLocation() }

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if st, err := s.svc.Authenticate(r.Context(), s.cookie(r, false)); err == nil && st != nil {
		redirect(w, r, "/admin/")
		return
	}
	s.render(w, r, http.StatusOK, "login", &page{Title: "Staff sign-in"})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	form := url.Values{"email": {email}}
	var vs []milogin.Violation
	if email == "" || len(email) > 254 {
		vs = append(vs, milogin.Violation{Field: "email", Rule: milogin.RuleRequired, Message: "Work email is required."})
	}
	pw := r.PostFormValue("password")
	if pw == "" {
		vs = append(vs, milogin.Violation{Field: "password", Rule: milogin.RuleRequired, Message: "Password is required."})
	}
	if len(vs) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "login", &page{Title: "Staff sign-in", Errors: vs, Form: form})
		return
	}
	token, err := s.svc.SignIn(r.Context(), email, pw, meta(r))
	if err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, milogin.HTTPStatus(err), "login", &page{Title: "Staff sign-in", Error: milogin.ErrorMessage(err), Form: form})
		return
	}
	s.setCookie(w, true, token)
	redirect(w, r, "/admin/login/code")
}

func (s *Server) handleCodePage(w http.ResponseWriter, r *http.Request) {
	_, acct, err := s.svc.Pending(r.Context(), s.cookie(r, true))
	if err != nil {
		redirect(w, r, "/admin/login")
		return
	}
	s.render(w, r, http.StatusOK, "code", &page{Title: "Authenticator code", Data: s.codeData(r, acct)})
}

type codeData struct {
	Name     string
	Passkeys bool
}

func (s *Server) codeData(r *http.Request, acct *milogin.Account) codeData {
	d := codeData{Name: acct.DisplayName()}
	if o, err := s.svc.MFA.OptionsFor(r.Context(), acct); err == nil {
		d.Passkeys = o.Passkeys
	}
	return d
}

func (s *Server) handleCode(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	pending := s.cookie(r, true)
	_, acct, err := s.svc.Pending(r.Context(), pending)
	if err != nil {
		s.render(w, r, http.StatusUnauthorized, "login", &page{Title: "Staff sign-in", Error: MsgSignInExpired})
		return
	}
	code := r.PostFormValue("code")
	if strings.TrimSpace(code) == "" {
		s.render(w, r, http.StatusUnprocessableEntity, "code", &page{Title: "Authenticator code", Data: s.codeData(r, acct),
			Errors: []milogin.Violation{{Field: "code", Rule: milogin.RuleRequired, Message: "Code is required."}}})
		return
	}
	token, err := s.svc.SecondFactor(r.Context(), pending, code, meta(r))
	if err != nil {
		switch milogin.ErrorKind(err) {
		case milogin.EINTERNAL:
			s.fail(w, r, err)
		case milogin.EUNAUTHORIZED, milogin.ERATELIMIT:
			s.render(w, r, milogin.HTTPStatus(err), "code", &page{Title: "Authenticator code", Data: s.codeData(r, acct),
				Errors: []milogin.Violation{{Field: "code", Rule: milogin.RuleRequired, Message: milogin.ErrorMessage(err)}}})
		default:
			s.render(w, r, milogin.HTTPStatus(err), "login", &page{Title: "Staff sign-in", Error: milogin.ErrorMessage(err)})
		}
		return
	}
	s.setCookie(w, true, "")
	s.setCookie(w, false, token)
	redirect(w, r, "/admin/")
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	for _, pending := range []bool{false, true} {
		if t := s.cookie(r, pending); t != "" {
			if err := s.svc.SignOut(r.Context(), t, meta(r)); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		s.setCookie(w, pending, "")
	}
	s.render(w, r, http.StatusOK, "login", &page{Title: "Staff sign-in", Notice: "You have signed out of the console."})
}

type enrolData struct {
	Token   string
	Name    string
	Email   string
	QR      template.URL // generated here as a data: URL, never from input
	Secret  string
	Policy  milogin.Policy
	Expired bool
}

func (s *Server) handleEnrolPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	s.enrolPage(w, r, http.StatusOK, token, nil, "")
}

func (s *Server) enrolPage(w http.ResponseWriter, r *http.Request, status int, token string, vs []milogin.Violation, msg string) {
	acct, en, err := s.svc.EnrolPage(r.Context(), token)
	if err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusGone, "error", &page{Title: "Enrolment link", Error: milogin.ErrorMessage(err)})
		return
	}
	s.render(w, r, status, "enrol", &page{Title: "Set up your staff account", Errors: vs, Error: msg, Data: enrolData{
		Token: token, Name: acct.DisplayName(), Email: acct.Email, QR: qrURL(en.QR), Secret: en.Secret, Policy: milogin.StaffPortal().Policy,
	}})
}

func qrURL(s string) template.URL {
	if strings.HasPrefix(s, "data:image/png;base64,") {
		return template.URL(s)
	}
	return ""
}

func (s *Server) handleEnrol(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	token := r.PostFormValue("t")
	_, err := s.svc.Enrol(r.Context(), token, r.PostFormValue("password"), r.PostFormValue("confirm"), r.PostFormValue("code"), meta(r))
	if err != nil {
		switch milogin.ErrorKind(err) {
		case milogin.EINVALID:
			s.enrolPage(w, r, http.StatusUnprocessableEntity, token, milogin.ViolationsOf(err), "")
		case milogin.EUNAUTHORIZED, milogin.ERATELIMIT:
			s.enrolPage(w, r, milogin.HTTPStatus(err), token, []milogin.Violation{{Field: "code", Rule: milogin.RuleRequired, Message: milogin.ErrorMessage(err)}}, "")
		case milogin.EINTERNAL:
			s.fail(w, r, err)
		default:
			s.render(w, r, milogin.HTTPStatus(err), "error", &page{Title: "Enrolment link", Error: milogin.ErrorMessage(err)})
		}
		return
	}
	s.render(w, r, http.StatusOK, "login", &page{Title: "Staff sign-in", Notice: "Your staff account is set up. Sign in with your work email, your password and a code from your authenticator app."})
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", &page{Title: "Administration console", Staff: staffOf(r)})
}

type searchData struct {
	Hits   []milogin.SearchHit
	Next   string
	Query  url.Values
	Fields [][2]string
	Search bool
}

var searchFields = [][2]string{{"user_id", "User ID"}, {"email", "Email"}, {"name", "Name (last name first)"}, {"phone", "Mobile number"}}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	form := url.Values{"q": {q.Get("q")}, "field": {q.Get("field")}, "portal": {q.Get("portal")}}
	if form.Get("field") == "" {
		form.Set("field", "user_id")
	}
	p := &page{Title: "Find an account", Staff: staffOf(r), Form: form}
	d := searchData{Query: form, Fields: searchFields}
	if q.Has("q") {
		d.Search = true
		res, err := s.svc.Search(r.Context(), SearchInput{Query: q.Get("q"), Field: form.Get("field"), Portal: q.Get("portal"), Cursor: q.Get("after")})
		switch {
		case milogin.ErrorKind(err) == milogin.EINVALID:
			p.Errors = milogin.ViolationsOf(err)
			p.Data = d
			s.render(w, r, http.StatusUnprocessableEntity, "search", p)
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		d.Hits, d.Next = res.Hits, res.Next
	}
	p.Data = d
	s.render(w, r, http.StatusOK, "search", p)
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	notice := ""
	for _, a := range Actions {
		if a.Name == r.URL.Query().Get("done") {
			notice = a.Done
		}
	}
	s.accountPage(w, r, http.StatusOK, r.PathValue("id"), notice, nil, nil)
}

type accountData struct {
	*AccountView
	Now time.Time
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, status int, id, notice string, vs []milogin.Violation, form url.Values) {
	v, err := s.svc.Account(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, status, "account", &page{Title: "Account " + v.Account.UserID, Staff: staffOf(r), Notice: notice, Errors: vs, Form: form,
		Data: accountData{AccountView: v, Now: s.svc.now()}})
}

func (s *Server) handleAction(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	st := staffOf(r)
	reason := r.PostFormValue("reason-" + action)
	err := s.svc.Act(r.Context(), Actor{ID: st.Account.ID, Meta: meta(r)}, id, action, reason)
	if err != nil {
		switch milogin.ErrorKind(err) {
		case milogin.EINVALID:
			vs := milogin.ViolationsOf(err)
			for i := range vs {
				vs[i].Field = "reason-" + action
			}
			s.accountPage(w, r, http.StatusUnprocessableEntity, id, "", vs, url.Values{"reason-" + action: {reason}})
		case milogin.ECONFLICT:
			s.accountPage(w, r, http.StatusConflict, id, "", []milogin.Violation{{Field: "reason-" + action, Message: milogin.ErrorMessage(err)}}, url.Values{"reason-" + action: {reason}})
		default:
			s.fail(w, r, err)
		}
		return
	}
	redirect(w, r, "/admin/accounts/"+url.PathEscape(id)+"?done="+url.QueryEscape(action))
}

type auditData struct {
	Events []*milogin.AuditEvent
	Next   string
	Types  []string
}

// handleAudit searches the audit trail by subject (account ID or portal +
// user ID), actor, type and time, newest first, a page at a time.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	form := url.Values{}
	for _, k := range []string{"subject", "actor", "type", "portal", "since", "until"} {
		form.Set(k, strings.TrimSpace(q.Get(k)))
	}
	p := &page{Title: "Audit trail", Staff: staffOf(r), Form: form}
	f, vs := s.auditFilter(r, form)
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			vs = append(vs, milogin.Violation{Field: "subject", Message: "That page is no longer available. Please search again."})
		}
		f.Before = n
	}
	if len(vs) > 0 {
		p.Errors = vs
		p.Data = auditData{Types: eventTypes}
		s.render(w, r, http.StatusUnprocessableEntity, "audit", p)
		return
	}
	f.Limit = 50
	var events []*milogin.AuditEvent
	err := s.svc.Store.Read(r.Context(), func(tx milogin.Tx) (err error) {
		events, err = tx.Audit().List(r.Context(), f)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := auditData{Events: events, Types: eventTypes}
	if len(events) == f.Limit {
		nq := url.Values{}
		for k := range form {
			if form.Get(k) != "" {
				nq.Set(k, form.Get(k))
			}
		}
		nq.Set("before", strconv.FormatInt(events[len(events)-1].ID, 10))
		d.Next = "/admin/audit?" + nq.Encode()
	}
	p.Data = d
	s.render(w, r, http.StatusOK, "audit", p)
}

// auditFilter turns the audit search form into a filter. A subject may be
// an internal account ID or "portal:userid"; the actor an account ID, a
// staff email, "app:ID" or "system".
func (s *Server) auditFilter(r *http.Request, form url.Values) (milogin.AuditFilter, []milogin.Violation) {
	var f milogin.AuditFilter
	var vs []milogin.Violation
	bad := func(field, msg string) { vs = append(vs, milogin.Violation{Field: field, Message: msg}) }
	for _, k := range []string{"subject", "actor", "type"} {
		if v := form.Get(k); len(v) > 200 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' }) {
			bad(k, "Enter at most 200 printable characters.")
			return f, vs
		}
	}
	resolve := func(field, v string, portal milogin.PortalID) string {
		if p, uid, ok := strings.Cut(v, ":"); ok && p != "app" {
			pid := milogin.PortalID(p)
			if pid != milogin.Staff {
				var err error
				if pid, err = milogin.ParsePortal(p); err != nil {
					bad(field, "Write the account as portal:userid (citizen, thirdparty, workforce or staff) or its internal ID.")
					return ""
				}
			}
			portal, v = pid, uid
		}
		if portal != "" {
			var id string
			err := s.svc.Store.Read(r.Context(), func(tx milogin.Tx) error {
				a, err := tx.Accounts().GetByUserID(r.Context(), portal, v)
				if err == nil {
					id = a.ID
				}
				return err
			})
			if err != nil {
				bad(field, "No account "+string(portal)+":"+v+".")
			}
			return id
		}
		return v
	}
	if v := form.Get("subject"); v != "" {
		f.SubjectID = resolve("subject", v, "")
	}
	if v := form.Get("actor"); v != "" {
		if strings.Contains(v, "@") && !strings.Contains(v, ":") {
			f.ActorID = resolve("actor", v, milogin.Staff)
		} else {
			f.ActorID = resolve("actor", v, "")
		}
	}
	f.Type = form.Get("type")
	if v := form.Get("portal"); v != "" {
		p := milogin.PortalID(v)
		if p != milogin.Staff {
			var err error
			if p, err = milogin.ParsePortal(v); err != nil {
				bad("portal", "Choose a portal.")
			}
		}
		f.Portal = p
	}
	parse := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, v, stateLoc()); err == nil {
				return t
			}
		}
		bad(field, "Enter a date as YYYY-MM-DD, or a date and time.")
		return time.Time{}
	}
	f.Since = parse("since", form.Get("since"))
	f.Until = parse("until", form.Get("until"))
	return f, vs
}

var eventTypes = []string{
	milogin.EventSignIn, milogin.EventSignInFailed, milogin.EventSignInLocked, milogin.EventSignInDisabled,
	milogin.EventLockout, milogin.EventUnlock, milogin.EventDisabledInactive, milogin.EventReactivated,
	milogin.EventAccountDeactivated, milogin.EventAccountCreated, milogin.EventPasswordChanged, milogin.EventPasswordReset,
	milogin.EventProfileChanged, milogin.EventSignOut, milogin.EventSessionTakeover, milogin.EventSessionsEnded,
	milogin.EventUserIDResent, milogin.EventResetSent,
	milogin.EventAccessRequested, milogin.EventAccessGranted, milogin.EventAccessDenied, milogin.EventAccessRevoked,
	milogin.EventTermsAccepted, milogin.EventMFASuccess, milogin.EventMFAFailed,
	milogin.EventStaffCreated, milogin.EventStaffEnrolled, milogin.EventStaffRolesChanged, milogin.EventStaffSignIn,
	milogin.EventAuditExpired, milogin.EventAuditExported, milogin.EventKeysRotated, milogin.EventAppChanged,
}
