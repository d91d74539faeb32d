package web

import (
	"context"
	"net/http"
	"net/url"

	"milogin"
	"milogin/internal/authn"
)

// Update Profile: /update-profile, and /update-profile/verify for
// the PIN sent to a new email address. Security Options:
// /security-options, and /security-options/verify when the change is
// confirmed by PIN instead of the current password.

type profileData struct {
	Page *page // for the "profile-fields" partial
}

func profileForm(a *milogin.Account) url.Values {
	v := url.Values{}
	for k, x := range map[string]string{
		"first_name": a.FirstName, "middle_initial": a.MiddleInitial, "last_name": a.LastName, "suffix": a.Suffix,
		"email": a.Email, "confirm_email": a.Email, "work_phone": a.WorkPhone, "mobile": a.Mobile,
	} {
		v.Set(k, x)
	}
	return v
}

func (s *Server) renderProfile(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	pg.Title, pg.Portal, pg.Account = "Update Profile", portalOf(r), sessionOf(r).Account
	pg.Data = profileData{Page: pg}
	s.render(w, r, status, "update-profile", pg)
}

func (s *Server) handleProfilePage(w http.ResponseWriter, r *http.Request) {
	s.renderProfile(w, r, http.StatusOK, &page{Notice: noticeOf(r), Form: profileForm(sessionOf(r).Account)})
}

func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p, si := portalOf(r), sessionOf(r)
	if r.PostFormValue("action") == "reset" {
		redirect(w, r, portalPath(p, "/update-profile"))
		return
	}
	out, err := s.cfg.Auth.UpdateProfile(r.Context(), p.ID, si.Token,
		authn.ProfileUpdateInput{ProfileInput: profileInput(r), CurrentPassword: r.PostFormValue("current_password")}, meta(r))
	if err == nil {
		st := s.emailChangeStep()
		if out.MobileUnproven {
			st.done = "profile-updated-mobile"
		}
		changeSaved(s, w, r, st, out.FlowToken)
		return
	}
	if s.sessionFailed(w, r, err) {
		return
	}
	pg := failedPage(keepFields(r, profileFields...), err)
	s.renderProfile(w, r, milogin.HTTPStatus(err), pg)
}

func (s *Server) renderProfilePIN(w http.ResponseWriter, r *http.Request, status int, pg *page, c milogin.ProfileChange) {
	p := portalOf(r)
	pg.Title, pg.Portal, pg.Account = "Verify Personal Identification Number (PIN)", p, sessionOf(r).Account
	if pg.Notice == "" && pg.Error == "" && pg.Errors == nil {
		pg.Notice = "A PIN was sent to your new email address " + milogin.MaskEmail(c.Email) + ". Your profile changes are saved once you confirm it."
	}
	pg.Data = pinData{
		Heading: "Update Profile", Action: portalPath(p, "/update-profile/verify"), Resend: portalPath(p, "/update-profile/verify/resend"),
		Back: portalPath(p, "/update-profile"), Submit: "CONFIRM", Where: "email",
	}
	s.render(w, r, status, "pin", pg)
}

// emailChangeStep is the PIN step of a new email address.
func (s *Server) emailChangeStep() pinStep[milogin.ProfileChange] {
	return pinStep[milogin.ProfileChange]{
		kind: milogin.FlowChangeEmail, start: "/update-profile", done: "profile-updated",
		render: s.renderProfilePIN, confirm: s.cfg.Auth.ConfirmEmailChange, resend: s.cfg.Auth.ResendEmailChangePIN,
	}
}

func (s *Server) handleProfilePINPage(w http.ResponseWriter, r *http.Request) {
	showPINStep(s, w, r, s.emailChangeStep())
}

// pinFailed answers the errors of a signed-in PIN step that end its flow
// (too many tries, expired flow, session gone); it reports whether it did.
func (s *Server) pinFailed(w http.ResponseWriter, r *http.Request, err error, kind, start string) bool {
	p := portalOf(r)
	switch {
	case milogin.IsKind(err, milogin.EUNAUTHORIZED):
		redirect(w, r, portalPath(p, "/login?m=ended"))
	case milogin.IsKind(err, milogin.ELOCKED):
		s.clearFlowCookie(w, kind, p.ID)
		redirect(w, r, portalPath(p, start+"?m=pin-locked"))
	case flowEnded(err):
		s.clearFlowCookie(w, kind, p.ID)
		redirect(w, r, portalPath(p, start+"?m=expired"))
	default:
		return s.internal(w, r, err)
	}
	return true
}

func (s *Server) handleProfilePIN(w http.ResponseWriter, r *http.Request) {
	confirmPINStep(s, w, r, s.emailChangeStep())
}

func (s *Server) handleProfileResend(w http.ResponseWriter, r *http.Request) {
	resendPINStep(s, w, r, s.emailChangeStep())
}

// Security Options.

type securityOptionsData struct {
	Options *optionsArgs
}

func (s *Server) renderSecurityOptions(w http.ResponseWriter, r *http.Request, status int, pg *page, hasAnswers bool) {
	p, a := portalOf(r), sessionOf(r).Account
	pg.Title, pg.Portal, pg.Account = "Security Options", p, a
	opts := newOptionsArgs(pg, p.Policy, a.Email, a.Mobile)
	opts.KeepNote = hasAnswers
	pg.Data = securityOptionsData{Options: opts}
	s.render(w, r, status, "security-options", pg)
}

func (s *Server) handleSecurityOptionsPage(w http.ResponseWriter, r *http.Request) {
	a := sessionOf(r).Account
	answers, err := s.cfg.Auth.SecurityAnswers(r.Context(), a.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	form := url.Values{}
	var ids []string
	for _, x := range answers {
		ids = append(ids, x.QuestionID)
	}
	optionValues(form, a.RecoverByEmail, a.RecoverByMobile, len(answers) > 0, ids)
	s.renderSecurityOptions(w, r, http.StatusOK, &page{Notice: noticeOf(r), Form: form}, len(answers) > 0)
}

func (s *Server) handleSecurityOptions(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p, si := portalOf(r), sessionOf(r)
	if r.PostFormValue("action") == "reset" {
		redirect(w, r, portalPath(p, "/security-options"))
		return
	}
	in := authn.SecurityOptionsInput{SecuritySetupInput: securityInput(r), CurrentPassword: r.PostFormValue("current_password")}
	token, err := s.cfg.Auth.UpdateSecurityOptions(r.Context(), p.ID, si.Token, in, meta(r))
	if err == nil {
		changeSaved(s, w, r, s.securityOptionsStep(), token)
		return
	}
	if s.sessionFailed(w, r, err) {
		return
	}
	answers, aerr := s.cfg.Auth.SecurityAnswers(r.Context(), si.Account.ID)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	pg := failedPage(keepFields(r, optionFields...), err)
	s.renderSecurityOptions(w, r, milogin.HTTPStatus(err), pg, len(answers) > 0)
}

// securityOptionsStep is the PIN step of new Security Options.
func (s *Server) securityOptionsStep() pinStep[milogin.SecurityOptionsChange] {
	return pinStep[milogin.SecurityOptionsChange]{
		kind: milogin.FlowSecurityOptions, start: "/security-options", done: "options-updated",
		render: s.renderSecurityOptionsPIN, confirm: s.cfg.Auth.ConfirmSecurityOptions, resend: s.cfg.Auth.ResendSecurityOptionsPIN,
	}
}

func (s *Server) renderSecurityOptionsPIN(w http.ResponseWriter, r *http.Request, status int, pg *page, c milogin.SecurityOptionsChange) {
	p := portalOf(r)
	pg.Title, pg.Portal, pg.Account = "Verify Personal Identification Number (PIN)", p, sessionOf(r).Account
	if pg.Notice == "" && pg.Error == "" && pg.Errors == nil {
		to := milogin.MaskEmail(c.PINTo)
		if c.PINChannel == milogin.ChannelSMS {
			to = milogin.MaskPhone(c.PINTo)
		}
		pg.Notice = "A PIN was sent to " + to + ". Your new security options are saved once you confirm it."
	}
	pg.Data = pinData{
		Heading: "Security Options", Action: portalPath(p, "/security-options/verify"), Resend: portalPath(p, "/security-options/verify/resend"),
		Back: portalPath(p, "/security-options"), Submit: "CONFIRM", Where: where(c.PINChannel),
	}
	s.render(w, r, status, "pin", pg)
}

func (s *Server) handleSecurityOptionsPINPage(w http.ResponseWriter, r *http.Request) {
	showPINStep(s, w, r, s.securityOptionsStep())
}

func (s *Server) handleSecurityOptionsPIN(w http.ResponseWriter, r *http.Request) {
	confirmPINStep(s, w, r, s.securityOptionsStep())
}

func (s *Server) handleSecurityOptionsResend(w http.ResponseWriter, r *http.Request) {
	resendPINStep(s, w, r, s.securityOptionsStep())
}

// pinStep is the PIN step of a signed-in person's change: the flow of kind
// holding C, begun on the page start, whose PIN page is start+"/verify";
// CONFIRM leads back to start with the notice done.
type pinStep[C any] struct {
	kind, start, done string
	render            func(w http.ResponseWriter, r *http.Request, status int, pg *page, c C)
	confirm           func(ctx context.Context, portalID milogin.PortalID, sessionToken, flowToken, pin string, m authn.Meta) error
	resend            func(ctx context.Context, portalID milogin.PortalID, sessionToken, flowToken string, m authn.Meta) error
}

func showPINStep[C any](s *Server, w http.ResponseWriter, r *http.Request, st pinStep[C]) {
	c, _, ok := flowState[C](s, w, r, st.kind, st.start, true)
	if !ok {
		return
	}
	st.render(w, r, http.StatusOK, &page{Notice: noticeOf(r)}, c)
}

func confirmPINStep[C any](s *Server, w http.ResponseWriter, r *http.Request, st pinStep[C]) {
	if !s.parseForm(w, r) {
		return
	}
	p, si := portalOf(r), sessionOf(r)
	c, token, ok := flowState[C](s, w, r, st.kind, st.start, true)
	if !ok {
		return
	}
	err := st.confirm(r.Context(), p.ID, si.Token, token, r.PostFormValue("pin"), meta(r))
	if err == nil {
		s.clearFlowCookie(w, st.kind, p.ID)
		redirect(w, r, portalPath(p, st.start+"?m="+st.done))
		return
	}
	if !milogin.IsKind(err, milogin.EINVALID) && s.pinFailed(w, r, err, st.kind, st.start) {
		return
	}
	st.render(w, r, milogin.HTTPStatus(err), failedPage(nil, err), c)
}

func resendPINStep[C any](s *Server, w http.ResponseWriter, r *http.Request, st pinStep[C]) {
	if !s.parseForm(w, r) {
		return
	}
	p, si := portalOf(r), sessionOf(r)
	c, token, ok := flowState[C](s, w, r, st.kind, st.start, true)
	if !ok {
		return
	}
	err := st.resend(r.Context(), p.ID, si.Token, token, meta(r))
	if err == nil {
		redirect(w, r, portalPath(p, st.start+"/verify?m=resent"))
		return
	}
	if !milogin.IsKind(err, milogin.ERATELIMIT) && s.pinFailed(w, r, err, st.kind, st.start) {
		return
	}
	st.render(w, r, milogin.HTTPStatus(err), &page{Error: milogin.ErrorMessage(err)}, c)
}

// changeSaved answers a change form of st that went through: its PIN page
// when the change waits for a PIN (token is then the flow's), else the form
// again with the notice done.
func changeSaved[C any](s *Server, w http.ResponseWriter, r *http.Request, st pinStep[C], token string) {
	p := portalOf(r)
	if token != "" {
		s.setFlowCookie(w, st.kind, p.ID, token)
		redirect(w, r, portalPath(p, st.start+"/verify"))
		return
	}
	redirect(w, r, portalPath(p, st.start+"?m="+st.done))
}

// sessionFailed answers a change form's error when the session has ended
// or the error is internal; it reports whether it did.
func (s *Server) sessionFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	if milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		redirect(w, r, portalPath(portalOf(r), "/login?m=ended"))
		return true
	}
	return s.internal(w, r, err)
}
