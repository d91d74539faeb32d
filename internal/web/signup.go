package web

import (
	"errors"
	"net/http"
	"net/url"

	"milogin"
	"milogin/internal/authn"
)

// The sign-up wizard: /signup (1 Profile Information),
// /signup/security (2 Security Setup), /signup/pin (the PIN before
// creation), /signup/done (3 Confirmation).

type signupData struct {
	Steps    *stepsArgs
	Page     *page // for the "profile-fields" partial
	Question *questionArgs
}

// signupFlow reads the sign-up behind the cookie; ok is false when there is
// none (or it is finished and finished is set).
func (s *Server) signupFlow(r *http.Request) (p milogin.PendingSignup, ok bool, err error) {
	pt := portalOf(r)
	_, err = s.cfg.Auth.FlowState(r.Context(), milogin.FlowSignup, pt.ID, s.flowToken(r, milogin.FlowSignup, pt.ID), &p)
	if err != nil {
		if milogin.IsKind(err, milogin.EEXPIRED) {
			return p, false, nil
		}
		return p, false, err
	}
	return p, true, nil
}

func (s *Server) signupAvailable(w http.ResponseWriter, r *http.Request) bool {
	if !authn.SignupEnabled(portalOf(r).ID) {
		s.errorPage(w, r, http.StatusNotFound, authn.MsgSignupUnavailable)
		return false
	}
	return true
}

// signupPage loads the sign-up behind the cookie for a page of it (ok
// when there is one). It reports false when it has answered: sign-up is
// closed on the portal, or the flow could not be read.
func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) (p milogin.PendingSignup, ok, open bool) {
	if !s.signupAvailable(w, r) {
		return p, false, false
	}
	p, ok, err := s.signupFlow(r)
	if err != nil {
		s.fail(w, r, err)
		return p, false, false
	}
	return p, ok, true
}

// renderSignupProfile shows step 1. A verification question is asked only
// when no sign-up has started (coming BACK needs none).
func (s *Server) renderSignupProfile(w http.ResponseWriter, r *http.Request, status int, pg *page, started bool, qid string, fresh bool) {
	p := portalOf(r)
	pg.Title, pg.Portal = "Create Your Account", p
	d := signupData{Steps: signupSteps(1), Page: pg}
	if !started {
		q, err := s.question(r, pg, authn.FormSignup, qid, fresh)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Question = q
	}
	pg.Data = d
	s.render(w, r, status, "signup", pg)
}

func (s *Server) handleSignupPage(w http.ResponseWriter, r *http.Request) {
	if isCitizen(r) {
		s.handleCitizenSignupPage(w, r) // citizen.go
		return
	}
	p, ok, open := s.signupPage(w, r)
	if !open {
		return
	}
	if next := safeNext(portalOf(r).ID, r.URL.Query().Get("next")); next != "" {
		// SIGN UP from a sign-in an application started: the LOGIN link of
		// the confirmation goes back to it.
		http.SetCookie(w, &http.Cookie{Name: signupNextCookie, Value: next, Path: "/" + string(portalOf(r).ID) + "/",
			MaxAge: 3600, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	}
	pg := &page{Notice: noticeOf(r), Form: url.Values{}}
	if ok && p.Created {
		ok = false
		s.clearFlowCookie(w, milogin.FlowSignup, portalOf(r).ID)
	}
	if ok {
		for k, v := range map[string]string{
			"first_name": p.FirstName, "middle_initial": p.MiddleInitial, "last_name": p.LastName, "suffix": p.Suffix,
			"email": p.Email, "confirm_email": p.Email, "work_phone": p.WorkPhone, "mobile": p.Mobile,
		} {
			pg.Form.Set(k, v)
		}
		if p.AgreedTerms {
			pg.Form.Set("agree_terms", "on")
		}
	}
	s.renderSignupProfile(w, r, http.StatusOK, pg, ok, "", true)
}

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	if isCitizen(r) {
		s.handleCitizenSignup(w, r)
		return
	}
	if !s.signupAvailable(w, r) || !s.parseForm(w, r) {
		return
	}
	pt := portalOf(r)
	_, started, err := s.signupFlow(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	qid := r.PostFormValue(authn.FieldQuestionID)
	if r.PostFormValue("action") == "reset" {
		// RESET clears the step: the same page, empty.
		s.renderSignupProfile(w, r, http.StatusOK, &page{Form: url.Values{}}, started, qid, false)
		return
	}
	in := authn.SignupProfileInput{ProfileInput: profileInput(r), AgreeTerms: r.PostFormValue("agree_terms") == "on",
		QuestionID: qid, Answer: r.PostFormValue(authn.FieldQuestion)}
	token, err := s.cfg.Auth.SaveSignupProfile(r.Context(), pt.ID, s.flowToken(r, milogin.FlowSignup, pt.ID), in, meta(r))
	if err == nil {
		s.setFlowCookie(w, milogin.FlowSignup, pt.ID, token)
		redirect(w, r, portalPath(pt, "/signup/security"))
		return
	}
	if s.internal(w, r, err) {
		return
	}
	pg := failedPage(keepFields(r, append(profileFields, "agree_terms", authn.FieldQuestion)...), err)
	s.renderSignupProfile(w, r, milogin.HTTPStatus(err), pg, started, qid, authn.NeedsNewQuestion(pg.Errors) || pg.Errors == nil)
}

type signupSecurityData struct {
	Steps     *stepsArgs
	Suggested string
	Stem      string
	Policy    milogin.Policy
	Specials  string
	Options   *optionsArgs
}

func (s *Server) renderSignupSecurity(w http.ResponseWriter, r *http.Request, status int, pg *page, p milogin.PendingSignup) {
	pt := portalOf(r)
	if pt.ID == milogin.Citizen {
		s.renderCitizenSecurity(w, r, status, pg, p)
		return
	}
	pg.Title, pg.Portal = "Create Your Account", pt
	suggested, err := s.cfg.Auth.SuggestUserID(r.Context(), pt.ID, p.FirstName, p.LastName)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if pg.Form.Get("user_id") == "" && suggested != "" && status == http.StatusOK {
		pg.Form.Set("user_id", suggested)
	}
	stem := ""
	if pt.Policy.UserIDFormat == milogin.UserIDLastFirst4 {
		stem = milogin.UserIDStem(p.FirstName, p.LastName)
	}
	pg.Data = signupSecurityData{
		Steps: signupSteps(2), Suggested: suggested, Stem: stem, Policy: pt.Policy, Specials: milogin.PasswordSpecials,
		Options: newOptionsArgs(pg, pt.Policy, p.Email, p.Mobile),
	}
	s.render(w, r, status, "signup-security", pg)
}

// signupSecurityForm shows what step 2 held (BACK keeps it).
func signupSecurityForm(p milogin.PendingSignup) url.Values {
	v := url.Values{}
	v.Set("user_id", p.UserID)
	v.Set("mobile", p.SetupMobile)
	optionValues(v, p.RecoverByEmail, p.RecoverByMobile, p.RecoverByQuestions, p.QuestionIDs)
	return v
}

func (s *Server) handleSignupSecurityPage(w http.ResponseWriter, r *http.Request) {
	p, ok, open := s.signupPage(w, r)
	if !open {
		return
	}
	pt := portalOf(r)
	switch {
	case !ok:
		redirect(w, r, portalPath(pt, "/signup?m=expired"))
		return
	case p.Created:
		redirect(w, r, portalPath(pt, "/signup/done"))
		return
	}
	s.renderSignupSecurity(w, r, http.StatusOK, &page{Form: signupSecurityForm(p), Notice: noticeOf(r)}, p)
}

func (s *Server) handleSignupSecurity(w http.ResponseWriter, r *http.Request) {
	if !s.signupAvailable(w, r) || !s.parseForm(w, r) {
		return
	}
	pt := portalOf(r)
	token := s.flowToken(r, milogin.FlowSignup, pt.ID)
	in := securityInput(r)
	if r.PostFormValue("action") == "back" {
		err := s.cfg.Auth.SaveSignupSecurity(r.Context(), pt.ID, token, in)
		if err != nil && !flowEnded(err) {
			s.fail(w, r, err)
			return
		}
		redirect(w, r, portalPath(pt, "/signup"))
		return
	}
	err := s.cfg.Auth.SubmitSignup(r.Context(), pt.ID, token, in, meta(r))
	if err == nil {
		redirect(w, r, portalPath(pt, "/signup/pin"))
		return
	}
	if flowEnded(err) {
		redirect(w, r, portalPath(pt, "/signup?m=expired"))
		return
	}
	if s.internal(w, r, err) {
		return
	}
	p, ok, ferr := s.signupFlow(r)
	if ferr != nil || !ok {
		redirect(w, r, portalPath(pt, "/signup?m=expired"))
		return
	}
	pg := failedPage(keepFields(r, append([]string{"user_id"}, optionFields...)...), err)
	s.renderSignupSecurity(w, r, milogin.HTTPStatus(err), pg, p)
}

func (s *Server) renderSignupPIN(w http.ResponseWriter, r *http.Request, status int, pg *page, p milogin.PendingSignup) {
	pt := portalOf(r)
	pg.Title, pg.Portal = "Verify Personal Identification Number (PIN)", pt
	steps := signupSteps(2)
	if p.Citizen != nil {
		steps = citizenSteps(3)
	}
	pg.Data = pinData{
		Heading: "Create Your Account", Steps: steps,
		Action: portalPath(pt, "/signup/pin"), Resend: portalPath(pt, "/signup/pin/resend"), Back: portalPath(pt, "/signup/security"),
		Submit: "CONFIRM", Where: where(p.PINChannel),
	}
	s.render(w, r, status, "pin", pg)
}

// signupPINFlow loads a sign-up waiting for its PIN, or redirects.
func (s *Server) signupPINFlow(w http.ResponseWriter, r *http.Request) (milogin.PendingSignup, bool) {
	pt := portalOf(r)
	p, ok, err := s.signupFlow(r)
	switch {
	case err != nil:
		s.fail(w, r, err)
	case !ok:
		redirect(w, r, portalPath(pt, "/signup?m=expired"))
	case p.Created:
		redirect(w, r, portalPath(pt, "/signup/done"))
	case !p.Submitted:
		redirect(w, r, portalPath(pt, "/signup/security"))
	case p.Citizen != nil && p.Citizen.EmailProven:
		redirect(w, r, portalPath(pt, "/signup/verify"))
	default:
		return p, true
	}
	return p, false
}

func (s *Server) handleSignupPINPage(w http.ResponseWriter, r *http.Request) {
	if !s.signupAvailable(w, r) {
		return
	}
	p, ok := s.signupPINFlow(w, r)
	if !ok {
		return
	}
	s.renderSignupPIN(w, r, http.StatusOK, &page{Notice: noticeOf(r)}, p)
}

func (s *Server) handleSignupPIN(w http.ResponseWriter, r *http.Request) {
	if !s.signupAvailable(w, r) || !s.parseForm(w, r) {
		return
	}
	pt := portalOf(r)
	p, ok := s.signupPINFlow(w, r)
	if !ok {
		return
	}
	_, err := s.cfg.Auth.ConfirmSignup(r.Context(), pt.ID, s.flowToken(r, milogin.FlowSignup, pt.ID), r.PostFormValue("pin"), meta(r))
	if err == nil && p.Citizen != nil {
		redirect(w, r, portalPath(pt, "/signup/verify")) // the email is proven: identity verification
		return
	}
	if err == nil {
		redirect(w, r, portalPath(pt, "/signup/done"))
		return
	}
	var se *authn.SignupError
	switch {
	case errors.As(err, &se) && se.Step == authn.SignupNewPIN:
		// Everything but the password and the answers was kept.
		redirect(w, r, portalPath(pt, "/signup/security?m=pin-locked-signup"))
		return
	case errors.As(err, &se) && se.Step == authn.SignupStartOver:
		s.clearFlowCookie(w, milogin.FlowSignup, pt.ID)
		redirect(w, r, portalPath(pt, "/signup?m=pin-locked"))
		return
	case errors.As(err, &se) && se.Step == authn.SignupBackToSecurity:
		pg := &page{Form: signupSecurityForm(p), Errors: milogin.ViolationsOf(err)}
		s.renderSignupSecurity(w, r, http.StatusConflict, pg, p)
		return
	case errors.As(err, &se) && se.Step == authn.SignupBackToProfile && p.Citizen != nil:
		s.renderCitizenProfile(w, r, http.StatusConflict, &page{Form: citizenProfileForm(p), Errors: milogin.ViolationsOf(err)})
		return
	case errors.As(err, &se) && se.Step == authn.SignupBackToProfile:
		pg := &page{Form: url.Values{}, Errors: milogin.ViolationsOf(err)}
		for k, v := range map[string]string{"first_name": p.FirstName, "middle_initial": p.MiddleInitial, "last_name": p.LastName,
			"suffix": p.Suffix, "email": p.Email, "confirm_email": p.Email, "work_phone": p.WorkPhone, "mobile": p.Mobile, "agree_terms": "on"} {
			pg.Form.Set(k, v)
		}
		s.renderSignupProfile(w, r, http.StatusConflict, pg, true, "", false)
		return
	case flowEnded(err):
		redirect(w, r, portalPath(pt, "/signup?m=expired"))
		return
	}
	if s.internal(w, r, err) {
		return
	}
	pg := failedPage(nil, err)
	s.renderSignupPIN(w, r, milogin.HTTPStatus(err), pg, p)
}

func (s *Server) handleSignupResend(w http.ResponseWriter, r *http.Request) {
	if !s.signupAvailable(w, r) || !s.parseForm(w, r) {
		return
	}
	pt := portalOf(r)
	p, ok := s.signupPINFlow(w, r)
	if !ok {
		return
	}
	err := s.cfg.Auth.ResendSignupPIN(r.Context(), pt.ID, s.flowToken(r, milogin.FlowSignup, pt.ID), meta(r))
	switch {
	case err == nil:
		redirect(w, r, portalPath(pt, "/signup/pin?m=resent"))
		return
	case milogin.IsKind(err, milogin.ELOCKED):
		s.clearFlowCookie(w, milogin.FlowSignup, pt.ID)
		redirect(w, r, portalPath(pt, "/signup?m=pin-locked"))
		return
	case flowEnded(err):
		redirect(w, r, portalPath(pt, "/signup?m=expired"))
		return
	}
	if s.internal(w, r, err) {
		return
	}
	s.renderSignupPIN(w, r, milogin.HTTPStatus(err), &page{Error: milogin.ErrorMessage(err)}, p)
}

type signupDoneData struct {
	Steps  *stepsArgs
	UserID string
	Email  string
	Next   string // the sign-in in progress when SIGN UP was chosen
}

// signupNextCookie keeps, during a sign-up, the sign-in it interrupted.
const signupNextCookie = "milogin_signup_next"

func (s *Server) handleSignupDone(w http.ResponseWriter, r *http.Request) {
	p, ok, open := s.signupPage(w, r)
	if !open {
		return
	}
	pt := portalOf(r)
	if !ok || !p.Created {
		redirect(w, r, portalPath(pt, "/signup"))
		return
	}
	if p.Citizen != nil { // a citizen lands on the home page instead
		redirect(w, r, portalPath(pt, "/home"))
		return
	}
	s.render(w, r, http.StatusOK, "signup-done", &page{Title: "Create Your Account", Portal: pt,
		Data: signupDoneData{Steps: signupSteps(3), UserID: p.UserID, Email: milogin.MaskEmail(p.Email), Next: signupNext(r, pt.ID)}})
}

func signupNext(r *http.Request, p milogin.PortalID) string {
	c, err := r.Cookie(signupNextCookie)
	if err != nil {
		return ""
	}
	return safeNext(p, c.Value)
}
