package web

import (
	"net/http"
	"net/url"

	"milogin"
	"milogin/internal/authn"
)

// Shared pieces of the self-service pages: sign-up (signup.go), Forgot
// your User ID? and Forgot your password? (recovery.go), Update Profile and
// Security Options (profile.go). Multi-page flows keep their state on the
// server (authn flows); the browser holds the flow's token in a cookie per
// flow kind and portal, HttpOnly and SameSite=Lax like the session cookie.

// flowCookieName is the cookie of a flow kind in a portal; __Host- over HTTPS.
func (s *Server) flowCookieName(kind string, p milogin.PortalID) string {
	n := "milogin-" + kind + "-" + string(p)
	if s.secure {
		return "__Host-" + n
	}
	return n
}

func (s *Server) flowToken(r *http.Request, kind string, p milogin.PortalID) string {
	c, err := r.Cookie(s.flowCookieName(kind, p))
	if err != nil || len(c.Value) > 128 {
		return ""
	}
	return c.Value
}

func (s *Server) setFlowCookie(w http.ResponseWriter, kind string, p milogin.PortalID, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: s.flowCookieName(kind, p), Value: token, Path: "/",
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearFlowCookie(w http.ResponseWriter, kind string, p milogin.PortalID) {
	http.SetCookie(w, &http.Cookie{
		Name: s.flowCookieName(kind, p), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

// selfServiceNotices are the status messages the self-service pages show,
// by key, so that the query string never carries free text.
var selfServiceNotices = map[string]string{
	"expired":                authn.MsgFlowExpired,
	"pin-locked":             authn.MsgPINLocked,
	"pin-locked-signup":      authn.MsgPINLockedSignup,
	"pin-locked-reset":       authn.MsgPINLockedReset,
	"answers-locked":         authn.MsgAnswersLocked,
	"resent":                 authn.MsgPINResent,
	"profile-updated":        authn.MsgProfileUpdated,
	"profile-updated-mobile": authn.MsgProfileUpdatedMobile,
	"options-updated":        authn.MsgSecurityOptionsDone,
}

// noticeOf returns the notice named by the m query parameter.
func noticeOf(r *http.Request) string { return selfServiceNotices[r.URL.Query().Get("m")] }

// stepsArgs is what the "steps" partial shows: the guide's numbered steps.
type stepsArgs struct {
	Label string
	Items []stepItem
}

type stepItem struct {
	N             int
	Name          string
	Done, Current bool
}

// newSteps marks the steps before current (1-based) done.
func newSteps(label string, current int, names ...string) *stepsArgs {
	st := &stepsArgs{Label: label}
	for i, n := range names {
		st.Items = append(st.Items, stepItem{N: i + 1, Name: n, Done: i+1 < current, Current: i+1 == current})
	}
	return st
}

func signupSteps(current int) *stepsArgs {
	return newSteps("Create Your Account steps", current, "Profile Information", "Security Setup", "Confirmation")
}

func forgotUserIDSteps(current int) *stepsArgs {
	return newSteps("Forgot User ID steps", current, "Enter Email Address", "Confirmation")
}

func resetSteps(current int) *stepsArgs {
	return newSteps("Forgot Password steps", current, "Enter User ID", "Select Options", "Verify", "New Password", "Confirmation")
}

// questionArgs is what the "vq-field" partial shows.
type questionArgs struct {
	Page        *page
	ID, Text    string
	Placeholder string
}

// question returns the question to show on a form: a new one when there is
// no usable one (no ID, or the last answer used it up), else the same one
// again. A new question clears the typed answer.
func (s *Server) question(r *http.Request, pg *page, form, id string, fresh bool) (*questionArgs, error) {
	p := portalOf(r)
	if fresh || id == "" || len(id) > 64 {
		q, err := s.cfg.Auth.NewQuestion(r.Context(), p.ID, form)
		if err != nil {
			return nil, err
		}
		if pg.Form != nil {
			pg.Form.Del(authn.FieldQuestion)
		}
		return &questionArgs{Page: pg, ID: q.ID, Text: q.Text}, nil
	}
	return &questionArgs{Page: pg, ID: id, Text: s.cfg.Auth.QuestionText(id)}, nil
}

// optionsArgs is what the "security-options" partial shows.
type optionsArgs struct {
	Page          *page
	Email         string // shown, not editable
	ProfileMobile string // shown when the profile has one; else a field
	Questions     bool   // the policy offers security questions
	List          []milogin.SecurityQuestion
	Rows          []int
	KeepNote      bool
}

func newOptionsArgs(pg *page, pol milogin.Policy, email, mobile string) *optionsArgs {
	return &optionsArgs{Page: pg, Email: email, ProfileMobile: mobile, Questions: pol.SecurityQuestions,
		List: milogin.SecurityQuestions, Rows: []int{1, 2, 3, 4}}
}

// optionFields are the form fields of the "security-options" partial.
var optionFields = []string{"opt_email", "opt_mobile", "opt_questions", "mobile",
	"question1", "question2", "question3", "question4", "answer1", "answer2", "answer3", "answer4"}

// securityInput reads the security options (and user ID and passwords) of a form.
func securityInput(r *http.Request) authn.SecuritySetupInput {
	f := r.PostFormValue
	in := authn.SecuritySetupInput{
		UserID: f("user_id"), Password: f("password"), ConfirmPassword: f("confirm_password"),
		RecoverByEmail: f("opt_email") == "on", RecoverByMobile: f("opt_mobile") == "on", RecoverByQuestions: f("opt_questions") == "on",
		Mobile: f("mobile"),
	}
	for i := 1; i <= milogin.SecurityQuestionCount; i++ {
		n := string(rune('0' + i))
		in.QuestionIDs = append(in.QuestionIDs, f("question"+n))
		in.Answers = append(in.Answers, f("answer"+n))
	}
	return in
}

// optionValues shows stored options in the form fields.
func optionValues(v url.Values, email, mobile, questions bool, ids []string) {
	on := func(name string, b bool) {
		if b {
			v.Set(name, "on")
		}
	}
	on("opt_email", email)
	on("opt_mobile", mobile)
	on("opt_questions", questions)
	for i, id := range ids {
		if i < milogin.SecurityQuestionCount {
			v.Set("question"+string(rune('1'+i)), id)
		}
	}
}

// profileFields are the form fields of the "profile-fields" partial.
var profileFields = []string{"first_name", "middle_initial", "last_name", "suffix", "email", "confirm_email", "work_phone", "mobile"}

func profileInput(r *http.Request) authn.ProfileInput {
	f := r.PostFormValue
	return authn.ProfileInput{
		FirstName: f("first_name"), MiddleInitial: f("middle_initial"), LastName: f("last_name"), Suffix: f("suffix"),
		Email: f("email"), ConfirmEmail: f("confirm_email"), WorkPhone: f("work_phone"), Mobile: f("mobile"),
	}
}

// pinData is what pin.html shows: the "Verify Personal Identification
// Number (PIN)" step of any flow.
type pinData struct {
	Heading string
	Steps   *stepsArgs
	Action  string // CONFIRM posts here
	Resend  string // RESEND PIN posts here
	Back    string // BACK goes here
	Submit  string // the button's label: CONFIRM, or NEXT in Forgot Password
	Where   string // "mobile" or "email"
}

func where(ch milogin.Channel) string {
	if ch == milogin.ChannelSMS {
		return "mobile"
	}
	return "email"
}

// failed answers a service error that is neither the person's input nor a
// flow ending: internal errors become the error page.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) bool {
	if milogin.ErrorKind(err) == milogin.EINTERNAL {
		s.fail(w, r, err)
		return true
	}
	return false
}

// flowEnded reports whether err says the flow behind the cookie is gone.
func flowEnded(err error) bool {
	return milogin.IsKind(err, milogin.EEXPIRED) && milogin.ErrorMessage(err) == authn.MsgFlowExpired
}

func portalPath(p milogin.Portal, rest string) string {
	return "/" + string(p.ID) + rest
}

// failedPage is the page of a step that failed with err: form as it was,
// err's violations, or its message when it has none.
func failedPage(form url.Values, err error) *page {
	pg := &page{Form: form, Errors: milogin.ViolationsOf(err)}
	if pg.Errors == nil {
		pg.Error = milogin.ErrorMessage(err)
	}
	return pg
}

// flowState loads the state of the flow of kind behind the cookie. When it
// has expired (or, with mine, belongs to another account than the one
// signed in) it clears the cookie, sends the browser to start+"?m=expired"
// and returns false; other errors fail the request.
func flowState[C any](s *Server, w http.ResponseWriter, r *http.Request, kind, start string, mine bool) (C, string, bool) {
	p := portalOf(r)
	token := s.flowToken(r, kind, p.ID)
	var c C
	f, err := s.cfg.Auth.FlowState(r.Context(), kind, p.ID, token, &c)
	if err == nil && mine && f.Subject != sessionOf(r).Account.ID {
		err = milogin.Errorf("web.flowState", milogin.EEXPIRED, authn.MsgFlowExpired)
	}
	if err != nil {
		if milogin.IsKind(err, milogin.EEXPIRED) {
			s.clearFlowCookie(w, kind, p.ID)
			redirect(w, r, portalPath(p, start+"?m=expired"))
		} else {
			s.fail(w, r, err)
		}
		return c, "", false
	}
	return c, token, true
}
