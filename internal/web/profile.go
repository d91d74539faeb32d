package web

import (
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
		if out.FlowToken != "" {
			s.setFlowCookie(w, milogin.FlowChangeEmail, p.ID, out.FlowToken)
			redirect(w, r, portalPath(p, "/update-profile/verify"))
			return
		}
		redirect(w, r, portalPath(p, "/update-profile?m=profile-updated"))
		return
	}
	if milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		redirect(w, r, portalPath(p, "/login?m=ended"))
		return
	}
	if s.internal(w, r, err) {
		return
	}
	pg := &page{Form: keepFields(r, profileFields...), Errors: milogin.ViolationsOf(err)}
	if pg.Errors == nil {
		pg.Error = milogin.ErrorMessage(err)
	}
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

// profileFlow loads the pending email change behind the cookie, or sends
// the browser back to Update Profile.
func (s *Server) profileFlow(w http.ResponseWriter, r *http.Request) (milogin.ProfileChange, string, bool) {
	p := portalOf(r)
	token := s.flowToken(r, milogin.FlowChangeEmail, p.ID)
	var c milogin.ProfileChange
	f, err := s.cfg.Auth.FlowState(r.Context(), milogin.FlowChangeEmail, p.ID, token, &c)
	if err == nil && f.Subject != sessionOf(r).Account.ID {
		err = milogin.Errorf("web.profileFlow", milogin.EEXPIRED, authn.MsgFlowExpired)
	}
	if err != nil {
		if milogin.IsKind(err, milogin.EEXPIRED) {
			s.clearFlowCookie(w, milogin.FlowChangeEmail, p.ID)
			redirect(w, r, portalPath(p, "/update-profile?m=expired"))
		} else {
			s.fail(w, r, err)
		}
		return c, "", false
	}
	return c, token, true
}

func (s *Server) handleProfilePINPage(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.profileFlow(w, r)
	if !ok {
		return
	}
	s.renderProfilePIN(w, r, http.StatusOK, &page{Notice: noticeOf(r)}, c)
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
	if !s.parseForm(w, r) {
		return
	}
	p, si := portalOf(r), sessionOf(r)
	c, token, ok := s.profileFlow(w, r)
	if !ok {
		return
	}
	err := s.cfg.Auth.ConfirmEmailChange(r.Context(), p.ID, si.Token, token, r.PostFormValue("pin"), meta(r))
	if err == nil {
		s.clearFlowCookie(w, milogin.FlowChangeEmail, p.ID)
		redirect(w, r, portalPath(p, "/update-profile?m=profile-updated"))
		return
	}
	if !milogin.IsKind(err, milogin.EINVALID) && s.pinFailed(w, r, err, milogin.FlowChangeEmail, "/update-profile") {
		return
	}
	pg := &page{Errors: milogin.ViolationsOf(err)}
	if pg.Errors == nil {
		pg.Error = milogin.ErrorMessage(err)
	}
	s.renderProfilePIN(w, r, milogin.HTTPStatus(err), pg, c)
}

func (s *Server) handleProfileResend(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p, si := portalOf(r), sessionOf(r)
	c, token, ok := s.profileFlow(w, r)
	if !ok {
		return
	}
	err := s.cfg.Auth.ResendEmailChangePIN(r.Context(), p.ID, si.Token, token, meta(r))
	if err == nil {
		redirect(w, r, portalPath(p, "/update-profile/verify?m=resent"))
		return
	}
	if !milogin.IsKind(err, milogin.ERATELIMIT) && s.pinFailed(w, r, err, milogin.FlowChangeEmail, "/update-profile") {
		return
	}
	s.renderProfilePIN(w, r, milogin.HTTPStatus(err), &page{Error: milogin.ErrorMessage(err)}, c)
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
		if token != "" {
			s.setFlowCookie(w, milogin.FlowSecurityOptions, p.ID, token)
			redirect(w, r, portalPath(p, "/security-options/verify"))
			return
		}
		redirect(w, r, portalPath(p, "/security-options?m=options-updated"))
		return
	}
	if milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		redirect(w, r, portalPath(p, "/login?m=ended"))
		return
	}
	if s.internal(w, r, err) {
		return
	}
	answers, aerr := s.cfg.Auth.SecurityAnswers(r.Context(), si.Account.ID)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	pg := &page{Form: keepFields(r, optionFields...), Errors: milogin.ViolationsOf(err)}
	if pg.Errors == nil {
		pg.Error = milogin.ErrorMessage(err)
	}
	s.renderSecurityOptions(w, r, milogin.HTTPStatus(err), pg, len(answers) > 0)
}

func (s *Server) securityOptionsFlow(w http.ResponseWriter, r *http.Request) (milogin.SecurityOptionsChange, string, bool) {
	p := portalOf(r)
	token := s.flowToken(r, milogin.FlowSecurityOptions, p.ID)
	var c milogin.SecurityOptionsChange
	f, err := s.cfg.Auth.FlowState(r.Context(), milogin.FlowSecurityOptions, p.ID, token, &c)
	if err == nil && f.Subject != sessionOf(r).Account.ID {
		err = milogin.Errorf("web.securityOptionsFlow", milogin.EEXPIRED, authn.MsgFlowExpired)
	}
	if err != nil {
		if milogin.IsKind(err, milogin.EEXPIRED) {
			s.clearFlowCookie(w, milogin.FlowSecurityOptions, p.ID)
			redirect(w, r, portalPath(p, "/security-options?m=expired"))
		} else {
			s.fail(w, r, err)
		}
		return c, "", false
	}
	return c, token, true
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
	c, _, ok := s.securityOptionsFlow(w, r)
	if !ok {
		return
	}
	s.renderSecurityOptionsPIN(w, r, http.StatusOK, &page{Notice: noticeOf(r)}, c)
}

func (s *Server) handleSecurityOptionsPIN(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p, si := portalOf(r), sessionOf(r)
	c, token, ok := s.securityOptionsFlow(w, r)
	if !ok {
		return
	}
	err := s.cfg.Auth.ConfirmSecurityOptions(r.Context(), p.ID, si.Token, token, r.PostFormValue("pin"), meta(r))
	if err == nil {
		s.clearFlowCookie(w, milogin.FlowSecurityOptions, p.ID)
		redirect(w, r, portalPath(p, "/security-options?m=options-updated"))
		return
	}
	if !milogin.IsKind(err, milogin.EINVALID) && s.pinFailed(w, r, err, milogin.FlowSecurityOptions, "/security-options") {
		return
	}
	pg := &page{Errors: milogin.ViolationsOf(err)}
	if pg.Errors == nil {
		pg.Error = milogin.ErrorMessage(err)
	}
	s.renderSecurityOptionsPIN(w, r, milogin.HTTPStatus(err), pg, c)
}

func (s *Server) handleSecurityOptionsResend(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p, si := portalOf(r), sessionOf(r)
	c, token, ok := s.securityOptionsFlow(w, r)
	if !ok {
		return
	}
	err := s.cfg.Auth.ResendSecurityOptionsPIN(r.Context(), p.ID, si.Token, token, meta(r))
	if err == nil {
		redirect(w, r, portalPath(p, "/security-options/verify?m=resent"))
		return
	}
	if !milogin.IsKind(err, milogin.ERATELIMIT) && s.pinFailed(w, r, err, milogin.FlowSecurityOptions, "/security-options") {
		return
	}
	s.renderSecurityOptionsPIN(w, r, milogin.HTTPStatus(err), &page{Error: milogin.ErrorMessage(err)}, c)
}
