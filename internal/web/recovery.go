package web

import (
	"fmt"
	"net/http"
	"net/url"

	"milogin"
	"milogin/internal/authn"
)

// Forgot your User ID?: /forgot-user-id → /forgot-user-id/done.
// Forgot your password?: /forgot-password (1 Enter User ID) →
// /forgot-password/options (2 Select Options) → /forgot-password/verify
// (3 Verify: a PIN, or the security questions) → /forgot-password/new-password
// (4 New Password) → /forgot-password/done (5 Confirmation).
//
// The pages never tell whether an account exists: Forgot User ID always
// confirms, and Forgot Password runs the same steps for an unknown user ID
// (authn makes its options up and its PINs match nothing).

type forgotData struct {
	Steps      *stepsArgs
	Question   *questionArgs
	Incomplete bool
}

func (s *Server) renderForgotUserID(w http.ResponseWriter, r *http.Request, status int, pg *page, qid string, fresh bool) {
	pg.Title, pg.Portal = "Forgot User ID", portalOf(r)
	if pg.Form == nil {
		pg.Form = url.Values{}
	}
	q, err := s.question(r, pg, authn.FormForgotUserID, qid, fresh)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg.Data = forgotData{Steps: forgotUserIDSteps(1), Question: q}
	s.render(w, r, status, "forgot-user-id", pg)
}

func (s *Server) handleForgotUserIDPage(w http.ResponseWriter, r *http.Request) {
	s.renderForgotUserID(w, r, http.StatusOK, &page{}, "", true)
}

func (s *Server) handleForgotUserID(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	qid := r.PostFormValue(authn.FieldQuestionID)
	if r.PostFormValue("action") == "reset" {
		s.renderForgotUserID(w, r, http.StatusOK, &page{}, qid, false)
		return
	}
	err := s.cfg.Auth.ForgotUserID(r.Context(), p.ID, r.PostFormValue("email"), qid, r.PostFormValue(authn.FieldQuestion), meta(r))
	if err == nil {
		redirect(w, r, portalPath(p, "/forgot-user-id/done"))
		return
	}
	if s.internal(w, r, err) {
		return
	}
	pg := failedPage(keepFields(r, "email", authn.FieldQuestion), err)
	s.renderForgotUserID(w, r, milogin.HTTPStatus(err), pg, qid, authn.NeedsNewQuestion(pg.Errors) || pg.Errors == nil)
}

func (s *Server) handleForgotUserIDDone(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "forgot-user-id-done", &page{Title: "Forgot User ID", Portal: portalOf(r),
		Data: forgotData{Steps: forgotUserIDSteps(2)}})
}

// Forgot Password.

func (s *Server) renderForgotPassword(w http.ResponseWriter, r *http.Request, status int, pg *page, qid string, fresh, incomplete bool) {
	pg.Title, pg.Portal = "Forgot Password", portalOf(r)
	if pg.Form == nil {
		pg.Form = url.Values{}
	}
	q, err := s.question(r, pg, authn.FormForgotPassword, qid, fresh)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q.Placeholder = "Provide Answer to Verification Question"
	pg.Data = forgotData{Steps: resetSteps(1), Question: q, Incomplete: incomplete}
	s.render(w, r, status, "forgot-password", pg)
}

func (s *Server) handleForgotPasswordPage(w http.ResponseWriter, r *http.Request) {
	s.renderForgotPassword(w, r, http.StatusOK, &page{Notice: noticeOf(r)}, "", true, false)
}

func (s *Server) handleForgotPassword(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	qid := r.PostFormValue(authn.FieldQuestionID)
	if r.PostFormValue("action") == "reset" {
		s.renderForgotPassword(w, r, http.StatusOK, &page{}, qid, false, false)
		return
	}
	token, err := s.cfg.Auth.StartReset(r.Context(), p.ID, r.PostFormValue("user_id"), qid, r.PostFormValue(authn.FieldQuestion), meta(r))
	if err == nil {
		s.setFlowCookie(w, milogin.FlowResetPassword, p.ID, token)
		redirect(w, r, portalPath(p, "/forgot-password/options"))
		return
	}
	if s.internal(w, r, err) {
		return
	}
	pg := failedPage(keepFields(r, "user_id", authn.FieldQuestion), err)
	s.renderForgotPassword(w, r, milogin.HTTPStatus(err), pg, qid, authn.NeedsNewQuestion(pg.Errors) || pg.Errors == nil,
		milogin.IsKind(err, milogin.EFORBIDDEN))
}

// resetFlow loads the reset behind the cookie, or sends the browser back
// to step 1 (when it has expired) and returns false.
func (s *Server) resetFlow(w http.ResponseWriter, r *http.Request) (milogin.PasswordReset, string, bool) {
	return flowState[milogin.PasswordReset](s, w, r, milogin.FlowResetPassword, "/forgot-password", false)
}

// resetEnded answers the errors that end a reset flow; it reports whether
// it answered.
func (s *Server) resetEnded(w http.ResponseWriter, r *http.Request, err error) bool {
	p := portalOf(r)
	switch {
	case flowEnded(err):
		s.clearFlowCookie(w, milogin.FlowResetPassword, p.ID)
		redirect(w, r, portalPath(p, "/forgot-password?m=expired"))
	case milogin.IsKind(err, milogin.ELOCKED) && milogin.ErrorMessage(err) == authn.MsgPINLockedReset:
		// The reset is kept at 2 Select Options for a new PIN.
		redirect(w, r, portalPath(p, "/forgot-password/options?m=pin-locked-reset"))
	case milogin.IsKind(err, milogin.ELOCKED):
		s.clearFlowCookie(w, milogin.FlowResetPassword, p.ID)
		key := "pin-locked"
		if milogin.ErrorMessage(err) == authn.MsgAnswersLocked {
			key = "answers-locked"
		}
		redirect(w, r, portalPath(p, "/forgot-password?m="+key))
	default:
		return s.internal(w, r, err)
	}
	return true
}

type resetOptionsData struct {
	Steps   *stepsArgs
	Options []milogin.RecoveryMethod
}

func (s *Server) renderResetOptions(w http.ResponseWriter, r *http.Request, status int, pg *page, st milogin.PasswordReset) {
	pg.Title, pg.Portal = "Forgot Password", portalOf(r)
	if pg.Form == nil {
		pg.Form = url.Values{"method": {string(st.Method)}}
	}
	pg.Data = resetOptionsData{Steps: resetSteps(2), Options: st.Options}
	s.render(w, r, status, "forgot-password-options", pg)
}

func (s *Server) handleResetOptionsPage(w http.ResponseWriter, r *http.Request) {
	st, _, ok := s.resetFlow(w, r)
	if !ok {
		return
	}
	if st.Verified {
		redirect(w, r, portalPath(portalOf(r), "/forgot-password/new-password"))
		return
	}
	s.renderResetOptions(w, r, http.StatusOK, &page{Notice: noticeOf(r)}, st)
}

func (s *Server) handleResetOptions(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	st, token, ok := s.resetFlow(w, r)
	if !ok {
		return
	}
	err := s.cfg.Auth.ChooseResetOption(r.Context(), p.ID, token, milogin.RecoveryMethod(r.PostFormValue("method")), meta(r))
	if err == nil {
		redirect(w, r, portalPath(p, "/forgot-password/verify"))
		return
	}
	if !milogin.IsKind(err, milogin.EINVALID) && !milogin.IsKind(err, milogin.ERATELIMIT) && s.resetEnded(w, r, err) {
		return
	}
	pg := failedPage(keepFields(r, "method"), err)
	s.renderResetOptions(w, r, milogin.HTTPStatus(err), pg, st)
}

type resetQuestion struct {
	N     int
	Field string
	Text  string
}

type resetQuestionsData struct {
	Steps     *stepsArgs
	Questions []resetQuestion
}

func (s *Server) renderResetVerify(w http.ResponseWriter, r *http.Request, status int, pg *page, st milogin.PasswordReset) {
	p := portalOf(r)
	pg.Title, pg.Portal = "Forgot Password", p
	if st.Method == milogin.RecoverQuestions {
		d := resetQuestionsData{Steps: resetSteps(3)}
		for i, id := range st.QuestionIDs {
			d.Questions = append(d.Questions, resetQuestion{N: i + 1, Field: fmt.Sprintf("answer%d", i+1), Text: milogin.SecurityQuestionText(id)})
		}
		pg.Data = d
		s.render(w, r, status, "forgot-password-questions", pg)
		return
	}
	ch := milogin.ChannelEmail
	if st.Method == milogin.RecoverText {
		ch = milogin.ChannelSMS
	}
	pg.Title = "Verify Personal Identification Number (PIN)"
	pg.Data = pinData{
		Heading: "Forgot Password", Steps: resetSteps(3),
		Action: portalPath(p, "/forgot-password/verify"), Resend: portalPath(p, "/forgot-password/verify/resend"),
		Back: portalPath(p, "/forgot-password/options"), Submit: "NEXT", Where: where(ch),
	}
	s.render(w, r, status, "pin", pg)
}

func (s *Server) handleResetVerifyPage(w http.ResponseWriter, r *http.Request) {
	st, _, ok := s.resetFlow(w, r)
	if !ok {
		return
	}
	switch {
	case st.Verified:
		redirect(w, r, portalPath(portalOf(r), "/forgot-password/new-password"))
	case st.Method == "":
		redirect(w, r, portalPath(portalOf(r), "/forgot-password/options"))
	default:
		s.renderResetVerify(w, r, http.StatusOK, &page{Notice: noticeOf(r)}, st)
	}
}

func (s *Server) handleResetVerify(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	st, token, ok := s.resetFlow(w, r)
	if !ok {
		return
	}
	var err error
	if st.Method == milogin.RecoverQuestions {
		var answers []string
		for i := 1; i <= milogin.SecurityQuestionCount; i++ {
			answers = append(answers, r.PostFormValue(fmt.Sprintf("answer%d", i)))
		}
		err = s.cfg.Auth.VerifyResetAnswers(r.Context(), p.ID, token, answers, meta(r))
	} else {
		err = s.cfg.Auth.VerifyResetPIN(r.Context(), p.ID, token, r.PostFormValue("pin"), meta(r))
	}
	if err == nil {
		redirect(w, r, portalPath(p, "/forgot-password/new-password"))
		return
	}
	switch milogin.ErrorKind(err) {
	case milogin.EINVALID, milogin.EUNAUTHORIZED:
	case milogin.EEXPIRED:
		if flowEnded(err) {
			s.resetEnded(w, r, err)
			return
		}
	default:
		if s.resetEnded(w, r, err) {
			return
		}
	}
	pg := failedPage(nil, err)
	s.renderResetVerify(w, r, milogin.HTTPStatus(err), pg, st)
}

func (s *Server) handleResetResend(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	st, token, ok := s.resetFlow(w, r)
	if !ok {
		return
	}
	err := s.cfg.Auth.ResendResetPIN(r.Context(), p.ID, token, meta(r))
	if err == nil {
		redirect(w, r, portalPath(p, "/forgot-password/verify?m=resent"))
		return
	}
	if !milogin.IsKind(err, milogin.ERATELIMIT) && s.resetEnded(w, r, err) {
		return
	}
	s.renderResetVerify(w, r, milogin.HTTPStatus(err), &page{Error: milogin.ErrorMessage(err)}, st)
}

type resetNewData struct {
	Steps    *stepsArgs
	Policy   milogin.Policy
	Specials string
}

func (s *Server) renderResetNew(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	p := portalOf(r)
	pg.Title, pg.Portal = "Forgot Password", p
	pg.Data = resetNewData{Steps: resetSteps(4), Policy: p.Policy, Specials: milogin.PasswordSpecials}
	s.render(w, r, status, "forgot-password-new", pg)
}

func (s *Server) handleResetNewPage(w http.ResponseWriter, r *http.Request) {
	st, _, ok := s.resetFlow(w, r)
	if !ok {
		return
	}
	if !st.Verified {
		redirect(w, r, portalPath(portalOf(r), "/forgot-password/verify"))
		return
	}
	s.renderResetNew(w, r, http.StatusOK, &page{})
}

func (s *Server) handleResetNew(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	p := portalOf(r)
	st, token, ok := s.resetFlow(w, r)
	if !ok {
		return
	}
	if !st.Verified {
		redirect(w, r, portalPath(p, "/forgot-password/verify"))
		return
	}
	_, err := s.cfg.Auth.CompleteReset(r.Context(), p.ID, token, r.PostFormValue("new_password"), r.PostFormValue("confirm_password"), meta(r))
	if err == nil {
		s.clearFlowCookie(w, milogin.FlowResetPassword, p.ID)
		redirect(w, r, portalPath(p, "/forgot-password/done"))
		return
	}
	if !milogin.IsKind(err, milogin.EINVALID) && s.resetEnded(w, r, err) {
		return
	}
	pg := failedPage(nil, err)
	s.renderResetNew(w, r, milogin.HTTPStatus(err), pg)
}

func (s *Server) handleResetDone(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "forgot-password-done", &page{Title: "Forgot Password", Portal: portalOf(r),
		Data: forgotData{Steps: resetSteps(5)}})
}
