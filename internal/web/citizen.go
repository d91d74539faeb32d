package web

import (
	"errors"
	"net/http"
	"net/url"

	"milogin"
	"milogin/internal/authn"
)

// Citizen sign-up on /citizen/signup, in the order of the citizen
// FAQ. It runs on the sign-up wizard's routes and flow (signup.go), with
// its own pages where the steps differ:
//
//	/signup          1 Profile (citizen-signup.html)
//	/signup/security 2 Username and Password, recovery methods, Create Account (citizen-security.html)
//	/signup/pin      3 the PIN sent to the email (pin.html, shared)
//	/signup/verify   4 Identity Verification, Confirm (citizen-verify.html)
//
// A successful verification creates the account and signs the person in:
// they land on their home page of state services.

func isCitizen(r *http.Request) bool { return portalOf(r).ID == milogin.Citizen }

func citizenSteps(current int) *stepsArgs {
	return newSteps("Create Your Account steps", current, "Profile Information", "Username and Password", "Verify Email", "Identity Verification")
}

// citizenProfileFields are the fields of citizen step 1.
var citizenProfileFields = []string{"first_name", "middle_name", "last_name", "suffix", "email", "confirm_email", "phone"}

type citizenSignupData struct {
	Steps *stepsArgs
}

func (s *Server) renderCitizenProfile(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	pg.Title, pg.Portal = "Create Your Account", portalOf(r)
	pg.Data = citizenSignupData{Steps: citizenSteps(1)}
	s.render(w, r, status, "citizen-signup", pg)
}

func citizenProfileForm(p milogin.PendingSignup) url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"first_name": p.FirstName, "last_name": p.LastName, "suffix": p.Suffix,
		"email": p.Email, "confirm_email": p.Email, "phone": p.Mobile} {
		v.Set(k, x)
	}
	if p.Citizen != nil {
		v.Set("middle_name", p.Citizen.MiddleName)
	}
	return v
}

func (s *Server) handleCitizenSignupPage(w http.ResponseWriter, r *http.Request) {
	p, ok, open := s.signupPage(w, r)
	if !open {
		return
	}
	pg := &page{Notice: noticeOf(r), Form: url.Values{}}
	if ok && (p.Created || p.Citizen == nil) {
		ok = false
		s.clearFlowCookie(w, milogin.FlowSignup, milogin.Citizen)
	}
	if ok {
		pg.Form = citizenProfileForm(p)
	}
	s.renderCitizenProfile(w, r, http.StatusOK, pg)
}

func (s *Server) handleCitizenSignup(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := r.PostFormValue
	in := authn.CitizenProfileInput{FirstName: f("first_name"), MiddleName: f("middle_name"), LastName: f("last_name"),
		Suffix: f("suffix"), Email: f("email"), ConfirmEmail: f("confirm_email"), Phone: f("phone")}
	token, err := s.cfg.Auth.SaveCitizenProfile(r.Context(), s.flowToken(r, milogin.FlowSignup, milogin.Citizen), in, meta(r))
	if err == nil {
		s.setFlowCookie(w, milogin.FlowSignup, milogin.Citizen, token)
		redirect(w, r, "/citizen/signup/security")
		return
	}
	if s.internal(w, r, err) {
		return
	}
	s.renderCitizenProfile(w, r, milogin.HTTPStatus(err), failedPage(keepFields(r, citizenProfileFields...), err))
}

type citizenSecurityData struct {
	Steps    *stepsArgs
	Policy   milogin.Policy
	Specials string
	Chars    string
	Email    string
	Phone    string // "" when none was entered: mobile recovery is not offered
}

func (s *Server) renderCitizenSecurity(w http.ResponseWriter, r *http.Request, status int, pg *page, p milogin.PendingSignup) {
	pt := portalOf(r)
	pg.Title, pg.Portal = "Create Your Account", pt
	pg.Data = citizenSecurityData{Steps: citizenSteps(2), Policy: pt.Policy, Specials: milogin.PasswordSpecials,
		Chars: milogin.UsernameChars, Email: p.Email, Phone: p.Mobile}
	s.render(w, r, status, "citizen-security", pg)
}

type citizenVerifyData struct {
	Steps *stepsArgs
}

func (s *Server) renderCitizenVerify(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	pg.Title, pg.Portal = "Identity Verification", portalOf(r)
	pg.Data = citizenVerifyData{Steps: citizenSteps(4)}
	s.render(w, r, status, "citizen-verify", pg)
}

// citizenVerifyFlow loads a citizen sign-up waiting for its verification,
// or redirects to the step it is at.
func (s *Server) citizenVerifyFlow(w http.ResponseWriter, r *http.Request) (milogin.PendingSignup, bool) {
	p, ok, err := s.signupFlow(r)
	switch {
	case err != nil:
		s.fail(w, r, err)
	case !ok || p.Citizen == nil:
		redirect(w, r, "/citizen/signup?m=expired")
	case p.Created:
		redirect(w, r, "/citizen/home")
	case !p.Submitted:
		redirect(w, r, "/citizen/signup/security")
	case !p.Citizen.EmailProven:
		redirect(w, r, "/citizen/signup/pin")
	default:
		return p, true
	}
	return p, false
}

var verifyFields = []string{"business_vehicle", "verify_first_name", "verify_middle_name", "verify_last_name", "card_number"}

func (s *Server) handleCitizenVerifyPage(w http.ResponseWriter, r *http.Request) {
	if !isCitizen(r) {
		s.errorPage(w, r, http.StatusNotFound, authn.MsgSignupUnavailable)
		return
	}
	p, ok := s.citizenVerifyFlow(w, r)
	if !ok {
		return
	}
	// The names of the profile, to be corrected to the card's if they differ.
	form := url.Values{}
	form.Set("verify_first_name", p.FirstName)
	form.Set("verify_middle_name", p.Citizen.MiddleName)
	form.Set("verify_last_name", p.LastName)
	s.renderCitizenVerify(w, r, http.StatusOK, &page{Form: form})
}

func (s *Server) handleCitizenVerify(w http.ResponseWriter, r *http.Request) {
	if !isCitizen(r) {
		s.errorPage(w, r, http.StatusNotFound, authn.MsgSignupUnavailable)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	p, ok := s.citizenVerifyFlow(w, r)
	if !ok {
		return
	}
	f := r.PostFormValue
	in := authn.VerifyInput{BusinessVehicle: f("business_vehicle"), FirstName: f("verify_first_name"),
		MiddleName: f("verify_middle_name"), LastName: f("verify_last_name"), CardNumber: f("card_number")}
	res, err := s.cfg.Auth.VerifyCitizen(r.Context(), s.flowToken(r, milogin.FlowSignup, milogin.Citizen), in, meta(r))
	if err == nil {
		s.clearFlowCookie(w, milogin.FlowSignup, milogin.Citizen)
		s.setSessionCookie(w, milogin.Citizen, res.Token)
		redirect(w, r, "/citizen/home")
		return
	}
	var se *authn.SignupError
	switch {
	case errors.As(err, &se) && se.Step == authn.SignupBackToSecurity:
		s.renderCitizenSecurity(w, r, http.StatusConflict, &page{Form: signupSecurityForm(p), Errors: milogin.ViolationsOf(err)}, p)
		return
	case errors.As(err, &se):
		s.renderCitizenProfile(w, r, http.StatusConflict, &page{Form: citizenProfileForm(p), Errors: milogin.ViolationsOf(err)})
		return
	case flowEnded(err):
		redirect(w, r, "/citizen/signup?m=expired")
		return
	}
	if s.internal(w, r, err) {
		return
	}
	s.renderCitizenVerify(w, r, milogin.HTTPStatus(err), failedPage(keepFields(r, verifyFields...), err))
}
