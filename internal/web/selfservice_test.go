package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/authn/questiontest"
)

var (
	vqIDRE   = regexp.MustCompile(`name="vq_id" value="([0-9a-f]+)"`)
	vqTextRE = regexp.MustCompile(`Verification Question: ([^<]+)</label>`)
	pinRE    = regexp.MustCompile(`\b\d{6}\b`)
)

// answerQuestion reads the verification question of a page and returns the
// form fields that answer it.
func answerQuestion(t *testing.T, body string) url.Values {
	t.Helper()
	id := vqIDRE.FindStringSubmatch(body)
	text := vqTextRE.FindStringSubmatch(body)
	if id == nil || text == nil {
		t.Fatalf("no verification question on the page:\n%s", body)
	}
	q := html.UnescapeString(text[1])
	a := questiontest.Solve(q)
	if a == "" {
		t.Fatalf("cannot answer %q", q)
	}
	return url.Values{"vq_id": {id[1]}, "vq_answer": {a}}
}

func merge(vs ...url.Values) url.Values {
	out := url.Values{}
	for _, v := range vs {
		for k, x := range v {
			out[k] = x
		}
	}
	return out
}

// lastPIN returns the PIN in the newest message to `to`.
func (e *env) lastPIN(t *testing.T, to string) string {
	t.Helper()
	for _, m := range e.messages(t) {
		if m.To == to {
			if p := pinRE.FindString(m.Text); p != "" {
				return p
			}
		}
	}
	t.Fatalf("no PIN sent to %s", to)
	return ""
}

// messages lists the outbox, newest first, without the decoys queued for
// unknown people.
func (e *env) messages(t *testing.T) []*milogin.Message {
	t.Helper()
	var ms []*milogin.Message
	err := e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(context.Background(), milogin.MessageFilter{Limit: 200})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(ms, func(m *milogin.Message) bool { return m.Channel == milogin.ChannelDecoy })
}

func wantAll(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func wantRedirect(t *testing.T, r resp, to string) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.header.Get("Location") != to {
		t.Fatalf("got %d → %q, want 303 → %q\n%s", r.status, r.header.Get("Location"), to, r.body)
	}
}

var annProfile = url.Values{
	"first_name": {"Ann"}, "last_name": {"Lee"}, "email": {"ann.lee@example.org"}, "confirm_email": {"ann.lee@example.org"},
	"work_phone": {"517-555-0111"}, "agree_terms": {"on"},
}

var annSecurity = url.Values{
	"user_id": {"leea0000"}, "password": {"Lake#Huron1987"}, "confirm_password": {"Lake#Huron1987"},
	"opt_email": {"on"}, "opt_questions": {"on"},
	"question1": {"first-pet"}, "question2": {"birth-city"}, "question3": {"first-car"}, "question4": {"first-employer"},
	"answer1": {"Rex"}, "answer2": {"Lansing"}, "answer3": {"Ford"}, "answer4": {"Meijer"},
}

func TestSignupJourney(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	base := e.srv.URL + "/thirdparty/signup"
	p := do(t, c, "GET", base, nil)
	wantAll(t, "step 1", p.body, "<h1>Create Your Account</h1>", "Profile Information", "Security Setup", "Confirmation",
		"Enter your profile information", "Required", "First Name</label>", "Middle Initial</label>", "Last Name</label>", "Suffix</label>",
		"Email Address</label>", "Confirm Email Address</label>", "Work Phone Number</label>", "Mobile Number</label>",
		"By providing an e-mail address, a new PIN can be sent to you to help with resetting a forgotten password.",
		"By providing a mobile number, a text message can be sent to you to help with resetting a forgotten password.",
		"Verification Question: Which word from list", "I agree to the terms &amp; conditions.", ">NEXT<", ">RESET<",
		`aria-current="step"`)

	r := do(t, c, "POST", base, merge(annProfile, answerQuestion(t, p.body)))
	wantRedirect(t, r, "/thirdparty/signup/security")

	s := do(t, c, "GET", base+"/security", nil)
	wantAll(t, "step 2", s.body, "Security Setup", "Provide user id and password information to complete your profile",
		"User ID</label>", `placeholder="Enter a User ID"`, "Password</label>", `placeholder="Enter password"`,
		"Confirm New Password</label>", `placeholder="Confirm password"`, "User ID Guidelines:",
		"Enter your last name, first initial, and any 4 numbers with no space between them. For Example: John Smith and using 9999 as an example for the four digit number, you would enter smithj9999.",
		"User ID cannot contain space.", "Password Guidelines:", "Must be at least 8 characters in length",
		"Should not be one of the last 3 used passwords", "Should not be based on your User ID",
		"Security Options", "To choose your preferred password recovery method(s), please click on the buttons below. Multiple options can be selected.",
		">Email<", ">Mobile (Text/SMS)<", ">Security Questions<", "--Select Security Question #1--", `placeholder="Enter Security Answer #4"`,
		`By selecting "Mobile" option, you agree to receive text messages on your mobile number.`, "Standard message &amp; data rates may apply.",
		"ann.lee@example.org", ">CREATE ACCOUNT<", ">BACK<", `value="leea0000"`, `data-stem="leea"`)

	r = do(t, c, "POST", base+"/security", merge(annSecurity, url.Values{"action": {"create"}}))
	wantRedirect(t, r, "/thirdparty/signup/pin")
	pin := do(t, c, "GET", base+"/pin", nil)
	wantAll(t, "PIN step", pin.body, "Verify Personal Identification Number (PIN)", "PIN</label>", `placeholder="Enter the PIN"`,
		">RESEND PIN<", "Please enter the PIN received on your email.", `If you did not receive the PIN, click "Resend PIN" button.`,
		">BACK<", ">CONFIRM<")
	if _, err := e.auth.SignIn(context.Background(), milogin.ThirdParty, "leea0000", "Lake#Huron1987", authnMeta); err == nil {
		t.Fatal("account exists before the PIN")
	}
	r = do(t, c, "POST", base+"/pin", url.Values{"pin": {"12 34 5"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "The PIN is the 6-digit number we sent you.") {
		t.Errorf("malformed PIN: %d", r.status)
	}
	r = do(t, c, "POST", base+"/pin", url.Values{"pin": {e.lastPIN(t, "ann.lee@example.org")}})
	wantRedirect(t, r, "/thirdparty/signup/done")
	done := do(t, c, "GET", base+"/done", nil)
	wantAll(t, "confirmation", done.body, "Confirmation", "Success", "Your request is complete. An email has been sent to a*****e@example.org", ">LOGIN<")
	if m := e.messages(t)[0]; m.Subject != "Account Creation Confirmed" || m.To != "ann.lee@example.org" {
		t.Errorf("newest message: %q to %s", m.Subject, m.To)
	}
	wantRedirect(t, e.login(t, e.client(t), "leea0000", "Lake#Huron1987"), "/thirdparty/home")
}

var authnMeta = authn.Meta{IP: "192.0.2.1", UserAgent: "test"}

// wantField checks a field shows its error the accessible way: the message
// next to it, aria-invalid and aria-describedby pointing at the message.
func wantField(t *testing.T, body, field, msg string) {
	t.Helper()
	esc := html.EscapeString(msg)
	if !strings.Contains(body, `id="`+field+`-error" class="field-error">`+esc) {
		t.Errorf("no error %q beside %s", msg, field)
	}
	if !strings.Contains(body, `<a href="#`+field+`">`+esc+`</a>`) {
		t.Errorf("no error %q in the summary", msg)
	}
	re := regexp.MustCompile(`(?s)<(input|select)[^>]*id="` + regexp.QuoteMeta(field) + `"[^>]*>`)
	tag := re.FindString(body)
	if tag != "" && (!strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, field+`-error`)) {
		t.Errorf("%s: %s lacks aria-invalid or aria-describedby", field, tag)
	}
}

func TestSignupStep1RulesAndQuestion(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	base := e.srv.URL + "/thirdparty/signup"
	p := do(t, c, "GET", base, nil)
	q := answerQuestion(t, p.body)

	r := do(t, c, "POST", base, url.Values{"action": {"next"}, "vq_id": q["vq_id"], "first_name": {"J0hn"}, "middle_initial": {"QR"},
		"email": {"not-an-email"}, "confirm_email": {"x@example.org"}, "work_phone": {"12345"}, "mobile": {"abc"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d", r.status)
	}
	for field, msg := range map[string]string{
		"first_name":     "First Name can contain letters, spaces, hyphens (-), apostrophes (') and periods (.) only.",
		"middle_initial": "Middle Initial is one letter.",
		"last_name":      "Last Name is required.",
		"email":          "Enter a valid email address, such as name@example.org.",
		"work_phone":     "Work Phone Number must be a 10-digit phone number, such as 517-555-0100.",
		"mobile":         "Mobile Number must be a 10-digit phone number, such as 517-555-0100.",
		"agree_terms":    "Please agree to the terms & conditions to continue.",
		"vq_answer":      "Verification Question is required.",
	} {
		wantField(t, r.body, field, msg)
	}
	if !strings.Contains(r.body, `value="J0hn"`) || !strings.Contains(r.body, `value="not-an-email"`) {
		t.Error("typed input not shown again")
	}
	if !strings.Contains(r.body, `name="vq_id" value="`+q.Get("vq_id")+`"`) {
		t.Error("an unanswered question was replaced")
	}

	// A wrong answer: a new question, the message, the answer cleared, the rest kept.
	r = do(t, c, "POST", base, merge(annProfile, url.Values{"action": {"next"}, "vq_id": q["vq_id"], "vq_answer": {"wrongword"}}))
	wantField(t, r.body, "vq_answer", "The answer to the verification question is incorrect. Please answer the new question.")
	if strings.Contains(r.body, q.Get("vq_id")) || strings.Contains(r.body, `value="wrongword"`) {
		t.Error("the used question or its answer is still on the page")
	}
	if !strings.Contains(r.body, `value="ann.lee@example.org"`) || !strings.Contains(r.body, `id="agree_terms" name="agree_terms" value="on" checked`) {
		t.Error("input lost after a wrong answer")
	}
	// The old question cannot be replayed.
	r = do(t, c, "POST", base, merge(annProfile, url.Values{"action": {"next"}}, q))
	wantField(t, r.body, "vq_answer", "The verification question has expired. Please answer the new question.")

	// RESET clears the step.
	q2 := answerQuestion(t, r.body)
	r = do(t, c, "POST", base, merge(annProfile, url.Values{"action": {"reset"}}, q2))
	if r.status != http.StatusOK || strings.Contains(r.body, "ann.lee@example.org") || strings.Contains(r.body, "field-error") {
		t.Errorf("RESET: %d", r.status)
	}

	// A registered address is not refused at this step: that would tell
	// who has an account (TestSignupPagesSayTheSameForARegisteredEmail).
	r = do(t, c, "POST", base, merge(annProfile, url.Values{"action": {"next"}, "email": {"JOHN.smith@example.org"}, "confirm_email": {"john.smith@example.org"}}, answerQuestion(t, r.body)))
	wantRedirect(t, r, "/thirdparty/signup/security")

	// Sign-up exists only where the portal offers it: not on workforce
	// (the citizen portal has its own, citizen_test.go).
	if r := do(t, c, "GET", e.srv.URL+"/workforce/signup", nil); r.status != http.StatusNotFound {
		t.Errorf("workforce sign-up: %d", r.status)
	}
	if r := do(t, e.client(t), "GET", base+"/security", nil); r.header.Get("Location") != "/thirdparty/signup?m=expired" {
		t.Errorf("step 2 without a sign-up: %d %s", r.status, r.header.Get("Location"))
	}
	if r := do(t, e.client(t), "GET", base+"?m=expired", nil); !strings.Contains(r.body, "This page has expired. Please start again.") {
		t.Error("no expired notice")
	}
}

// startSignup runs step 1 for Ann Lee and returns the client holding the flow.
func (e *env) startSignup(t *testing.T) *http.Client {
	t.Helper()
	c := e.client(t)
	p := do(t, c, "GET", e.srv.URL+"/thirdparty/signup", nil)
	wantRedirect(t, do(t, c, "POST", e.srv.URL+"/thirdparty/signup", merge(annProfile, url.Values{"action": {"next"}}, answerQuestion(t, p.body))),
		"/thirdparty/signup/security")
	return c
}

func TestSignupStep2RulesAndBack(t *testing.T) {
	e := newEnv(t, false)
	c := e.startSignup(t)
	base := e.srv.URL + "/thirdparty/signup"
	r := do(t, c, "POST", base+"/security", url.Values{"action": {"create"}, "user_id": {"lee a"}, "password": {"lee"}, "confirm_password": {"x"},
		"opt_mobile": {"on"}, "opt_questions": {"on"}, "question1": {"first-pet"}, "question2": {"first-pet"}, "question3": {"bogus"},
		"answer1": {"Rex"}, "answer2": {"x"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d", r.status)
	}
	for field, msg := range map[string]string{
		"user_id":          "User ID cannot contain space.",
		"confirm_password": "Confirm New Password must match the password.",
		"mobile":           "Mobile Number is required for the Mobile (Text/SMS) option.",
		"question2":        "Security Question #2 is the same as another one. Choose four different questions.",
		"question3":        "Select Security Question #3 from the list.",
		"question4":        "Select Security Question #4.",
		"answer2":          "Security Answer #2 must be at least 2 characters long.",
		"answer3":          "Enter Security Answer #3.",
	} {
		wantField(t, r.body, field, msg)
	}
	for _, msg := range []string{"Password must be at least 8 characters in length.", "Password must include characters from 3 of the following categories"} {
		if !strings.Contains(r.body, msg) {
			t.Errorf("no %q", msg)
		}
	}
	if strings.Contains(r.body, `value="lee"`) || strings.Contains(r.body, `value="x"`) && strings.Contains(r.body, `name="confirm_password" value`) {
		t.Error("a password was echoed")
	}
	if !strings.Contains(r.body, `value="lee a"`) || !strings.Contains(r.body, `<option value="first-pet" selected>`) {
		t.Error("typed input not kept")
	}
	r = do(t, c, "POST", base+"/security", url.Values{"action": {"create"}, "user_id": {"leea0000"}, "password": {"Lake#Huron1987"}, "confirm_password": {"Lake#Huron1987"}})
	wantField(t, r.body, "options", "Select at least one security option.")

	// BACK keeps both steps.
	wantRedirect(t, do(t, c, "POST", base+"/security", url.Values{"action": {"back"}, "user_id": {"leea0042"}, "opt_email": {"on"}, "opt_questions": {"on"}, "question1": {"first-car"}}),
		"/thirdparty/signup")
	p := do(t, c, "GET", base, nil)
	if !strings.Contains(p.body, `value="ann.lee@example.org"`) || strings.Contains(p.body, "Verification Question") {
		t.Error("BACK to step 1 lost the profile or asks a new question")
	}
	wantRedirect(t, do(t, c, "POST", base, merge(annProfile, url.Values{"action": {"next"}, "first_name": {"Anne"}})), "/thirdparty/signup/security")
	s := do(t, c, "GET", base+"/security", nil)
	for _, want := range []string{`value="leea0042"`, `id="opt_email" name="opt_email" value="on" checked`, `id="opt_questions" name="opt_questions" value="on" checked`, `<option value="first-car" selected>`} {
		if !strings.Contains(s.body, want) {
			t.Errorf("step 2 after BACK lacks %s", want)
		}
	}
}

func TestSignupPINLocksAfterFiveWrong(t *testing.T) {
	e := newEnv(t, false)
	c := e.startSignup(t)
	base := e.srv.URL + "/thirdparty/signup"
	wantRedirect(t, do(t, c, "POST", base+"/security", merge(annSecurity, url.Values{"action": {"create"}})), "/thirdparty/signup/pin")
	pin := e.lastPIN(t, "ann.lee@example.org")
	wrong := "000000"
	if pin == wrong {
		wrong = "999999"
	}
	if r := do(t, c, "POST", base+"/pin/resend", url.Values{}); r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "A PIN was sent less than 30 seconds ago.") {
		t.Errorf("immediate resend: %d", r.status)
	}
	for i := 4; i >= 1; i-- {
		r := do(t, c, "POST", base+"/pin", url.Values{"pin": {wrong}})
		tries := "tries"
		if i == 1 {
			tries = "try"
		}
		wantField(t, r.body, "pin", fmt.Sprintf("The PIN you entered is incorrect. You have %d more %s.", i, tries))
	}
	r := do(t, c, "POST", base+"/pin", url.Values{"pin": {wrong}})
	// What was entered is kept (never the password), and the page says so.
	wantRedirect(t, r, "/thirdparty/signup/security?m=pin-locked-signup")
	p := do(t, c, "GET", base+"/security?m=pin-locked-signup", nil)
	wantAll(t, "after five wrong PINs", p.body, authn.MsgPINLockedSignup, `value="leea0000"`, `id="opt_questions" name="opt_questions" value="on" checked`)
	if strings.Contains(p.body, "Lake#Huron1987") {
		t.Error("the password is shown again")
	}
	if r := do(t, c, "POST", base+"/pin", url.Values{"pin": {pin}}); r.header.Get("Location") == "/thirdparty/signup/done" {
		t.Fatal("the right PIN worked after five wrong ones")
	}
	// CREATE ACCOUNT again: a new PIN, and five more wrong ones end it.
	wantRedirect(t, do(t, c, "POST", base+"/security", merge(annSecurity, url.Values{"action": {"create"}})), "/thirdparty/signup/pin")
	pin = e.lastPIN(t, "ann.lee@example.org")
	if pin == wrong {
		wrong = "999999"
	}
	for range 4 {
		do(t, c, "POST", base+"/pin", url.Values{"pin": {wrong}})
	}
	wantRedirect(t, do(t, c, "POST", base+"/pin", url.Values{"pin": {wrong}}), "/thirdparty/signup?m=pin-locked")
	p = do(t, c, "GET", base+"?m=pin-locked", nil)
	if !strings.Contains(p.body, "You have entered an incorrect PIN too many times. Please start again to receive a new PIN.") || !strings.Contains(p.body, "Verification Question") {
		t.Error("after ten wrong PINs: no message or no fresh start")
	}
}

func TestForgotUserIDAnswersTheSame(t *testing.T) {
	e := newEnv(t, false)
	base := e.srv.URL + "/thirdparty/forgot-user-id"
	var bodies []string
	for _, email := range []string{"john.smith@example.org", "nobody@example.org"} {
		c := e.client(t)
		p := do(t, c, "GET", base, nil)
		wantAll(t, "Forgot User ID", p.body, "<h1>Forgot User ID</h1>", "Enter Email Address", "Confirmation",
			"Provide your Email address to proceed:", "Email Address</label>", "Verification Question: Which word from list", ">SUBMIT<", ">RESET<")
		r := do(t, c, "POST", base, merge(url.Values{"action": {"submit"}, "email": {email}}, answerQuestion(t, p.body)))
		wantRedirect(t, r, "/thirdparty/forgot-user-id/done")
		bodies = append(bodies, do(t, c, "GET", base+"/done", nil).body)
	}
	if bodies[0] != bodies[1] {
		t.Error("the confirmation differs for an unknown address")
	}
	wantAll(t, "confirmation", bodies[0], "Success", "Your user ID has been sent to the email address you provided.", ">LOGIN<")
	ms := e.messages(t)
	if len(ms) != 1 || ms[0].To != "john.smith@example.org" || !strings.Contains(ms[0].Text, "\n\nsmithj0001\n\n") {
		t.Fatalf("outbox: %+v", ms)
	}
	r := do(t, e.client(t), "POST", base, url.Values{"email": {""}})
	wantField(t, r.body, "email", "Email Address is required.")
	wantField(t, r.body, "vq_answer", "The verification question has expired. Please answer the new question.")
}

// resetClient runs Forgot Password step 1 for userID.
func (e *env) resetClient(t *testing.T, userID string) (*http.Client, resp) {
	t.Helper()
	c := e.client(t)
	base := e.srv.URL + "/thirdparty/forgot-password"
	p := do(t, c, "GET", base, nil)
	r := do(t, c, "POST", base, merge(url.Values{"action": {"next"}, "user_id": {userID}}, answerQuestion(t, p.body)))
	return c, r
}

func TestForgotPasswordPages(t *testing.T) {
	e := newEnv(t, false)
	base := e.srv.URL + "/thirdparty/forgot-password"
	p := do(t, e.client(t), "GET", base, nil)
	wantAll(t, "step 1", p.body, "<h1>Forgot Password</h1>", "Enter User ID", "Select Options", "Verify", "New Password", "Confirmation",
		"Provide your User ID to proceed:", `placeholder="Enter User ID"`, `placeholder="Provide Answer to Verification Question"`, ">NEXT<", ">RESET<")

	// A known and an unknown user ID see the same options page.
	known, r := e.resetClient(t, "smithj0001")
	wantRedirect(t, r, "/thirdparty/forgot-password/options")
	unknown, r := e.resetClient(t, "nobody0042")
	wantRedirect(t, r, "/thirdparty/forgot-password/options")
	a := do(t, known, "GET", base+"/options", nil)
	b := do(t, unknown, "GET", base+"/options", nil)
	wantAll(t, "options", a.body, "Select Options", "Password Recovery Options", `for="method-email">Email</label>`, "contact the MILogin Helpdesk")
	// The decoy options depend on the code key, fixed in these tests: for
	// nobody0042 they are Email only, like smithj0001's real ones.
	if strings.Contains(b.body, "method-text") || strings.Contains(b.body, "method-questions") {
		t.Fatal("nobody0042 got more decoy options than expected under the test key; pick another user ID")
	}
	if a.body != b.body {
		t.Error("the options page of an unknown user ID differs from a real one's")
	}

	r = do(t, known, "POST", base+"/options", url.Values{})
	wantField(t, r.body, "method", "Please select one of the options.")
	wantRedirect(t, do(t, known, "POST", base+"/options", url.Values{"method": {"email"}}), "/thirdparty/forgot-password/verify")
	wantRedirect(t, do(t, unknown, "POST", base+"/options", url.Values{"method": {"email"}}), "/thirdparty/forgot-password/verify")
	va := do(t, known, "GET", base+"/verify", nil)
	vb := do(t, unknown, "GET", base+"/verify", nil)
	wantAll(t, "verify", va.body, "Verify Personal Identification Number (PIN)", "Please enter the PIN received on your email.", ">NEXT<", ">RESEND PIN<")
	if va.body != vb.body {
		t.Error("the PIN page of an unknown user ID differs")
	}
	// The new-password step needs the verification first.
	wantRedirect(t, do(t, known, "GET", base+"/new-password", nil), "/thirdparty/forgot-password/verify")

	r = do(t, known, "POST", base+"/verify", url.Values{"pin": {"12345"}})
	wantField(t, r.body, "pin", "The PIN is the 6-digit number we sent you.")
	wantRedirect(t, do(t, known, "POST", base+"/verify", url.Values{"pin": {e.lastPIN(t, "john.smith@example.org")}}), "/thirdparty/forgot-password/new-password")
	n := do(t, known, "GET", base+"/new-password", nil)
	wantAll(t, "new password", n.body, "Enter New Password</label>", "Confirm New Password</label>", "Password Guidelines:", ">SUBMIT<")
	r = do(t, known, "POST", base+"/new-password", url.Values{"new_password": {goodPassword}, "confirm_password": {"x"}})
	wantField(t, r.body, "new_password", "Password should not be one of the last 3 used passwords.")
	wantField(t, r.body, "confirm_password", "Confirm New Password must match the new password.")
	wantRedirect(t, do(t, known, "POST", base+"/new-password", url.Values{"new_password": {"Lake#Huron1987"}, "confirm_password": {"Lake#Huron1987"}}),
		"/thirdparty/forgot-password/done")
	d := do(t, known, "GET", base+"/done", nil)
	wantAll(t, "done", d.body, "Success", "Your password has been successfully updated.", ">LOGIN<")
	wantRedirect(t, e.login(t, e.client(t), "smithj0001", "Lake#Huron1987"), "/thirdparty/home")
	// The flow is over.
	if r := do(t, known, "GET", base+"/new-password", nil); !strings.HasPrefix(r.header.Get("Location"), "/thirdparty/forgot-password?m=expired") {
		t.Errorf("finished flow: %s", r.header.Get("Location"))
	}
}

func TestForgotPasswordProfileIncomplete(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	for _, id := range []string{"smithj0001"} {
		err := e.store.Write(ctx, func(tx milogin.Tx) error {
			a, err := tx.Accounts().GetByUserID(ctx, milogin.ThirdParty, id)
			if err != nil {
				return err
			}
			_, err = tx.Accounts().Update(ctx, a.ID, func(a *milogin.Account) error { a.Mobile, a.MobileVerified = "517-555-0100", true; return nil })
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.auth.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: "smithj0002", FirstName: "John", LastName: "Smith",
		Email: "john2@example.org", Mobile: "(517) 555-0100", MobileVerified: true, Password: goodPassword}, "test", authnMeta)
	if err != nil {
		t.Fatal(err)
	}
	_, r := e.resetClient(t, "smithj0001")
	if r.status != http.StatusForbidden {
		t.Fatalf("status %d", r.status)
	}
	wantAll(t, "incomplete", r.body, "Password cannot be changed since your profile is incomplete. Please use Help Page link to contact the helpdesk for further assistance.",
		`<a href="/thirdparty/help">Help Page</a>`, "Verification Question: Which word")
}

func TestProfileAndSecurityOptionsPages(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	e.login(t, c, "smithj0001", goodPassword)
	home := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	wantAll(t, "menu", home.body, ">UPDATE PROFILE<", ">SECURITY OPTIONS<")

	base := e.srv.URL + "/thirdparty/update-profile"
	p := do(t, c, "GET", base, nil)
	wantAll(t, "update profile", p.body, "<h1>Update Profile</h1>", "Talk to your MWA Administrator before changing the Email Address.",
		"link your MILogin account to their own records by your User ID and Email Address", `value="john.smith@example.org"`, "Current Password</label>")
	r := do(t, c, "POST", base, url.Values{"first_name": {"John"}, "last_name": {""}, "email": {"new@example.org"}, "confirm_email": {"other@example.org"}, "work_phone": {"517-555-0100"}})
	wantField(t, r.body, "last_name", "Last Name is required.")
	wantField(t, r.body, "confirm_email", "Email Address and Confirm Email Address do not match.")
	wantField(t, r.body, "current_password", "Current Password is required to change your Email Address or Mobile Number.")
	r = do(t, c, "POST", base, url.Values{"first_name": {"John"}, "last_name": {"Smith"}, "suffix": {"Jr."}, "email": {"john.smith@example.org"},
		"confirm_email": {"john.smith@example.org"}, "work_phone": {"517-555-0100"}})
	wantRedirect(t, r, "/thirdparty/update-profile?m=profile-updated")
	if p := do(t, c, "GET", base+"?m=profile-updated", nil); !strings.Contains(p.body, "Your profile has been successfully updated.") || !strings.Contains(p.body, `value="Jr."`) {
		t.Error("no confirmation or suffix not saved")
	}

	so := e.srv.URL + "/thirdparty/security-options"
	s := do(t, c, "GET", so, nil)
	wantAll(t, "security options", s.body, "<h1>Security Options</h1>", `id="opt_email" name="opt_email" value="on" checked`, "john.smith@example.org",
		">SUBMIT<")
	r = do(t, c, "POST", so, url.Values{"current_password": {goodPassword}})
	wantField(t, r.body, "options", "Select at least one security option.")
	// A new number for Mobile (Text/SMS): the password proves the person,
	// the PIN sent to the number proves the number.
	r = do(t, c, "POST", so, url.Values{"opt_email": {"on"}, "opt_mobile": {"on"}, "mobile": {"517-555-0199"}})
	wantField(t, r.body, "current_password", authn.MsgCurrentPasswordForMobile)
	wantAll(t, "kept", r.body, `value="517-555-0199"`)
	r = do(t, c, "POST", so, url.Values{"opt_email": {"on"}, "opt_mobile": {"on"}, "mobile": {"517-555-0199"}, "current_password": {goodPassword}})
	wantRedirect(t, r, "/thirdparty/security-options/verify")
	v := do(t, c, "GET", so+"/verify", nil)
	wantAll(t, "security options PIN", v.body, "Verify Personal Identification Number (PIN)", "A PIN was sent to ***-***-0199.")
	wantRedirect(t, do(t, c, "POST", so+"/verify", url.Values{"pin": {e.lastPIN(t, "517-555-0199")}}), "/thirdparty/security-options?m=options-updated")
	s = do(t, c, "GET", so+"?m=options-updated", nil)
	wantAll(t, "after", s.body, "Your security options have been successfully updated.", `id="opt_mobile" name="opt_mobile" value="on" checked`, "517-555-0199")

	// Signed out, these pages send to the sign-in page.
	for _, path := range []string{"/thirdparty/update-profile", "/thirdparty/security-options"} {
		if r := do(t, e.client(t), "GET", e.srv.URL+path, nil); !strings.HasPrefix(r.header.Get("Location"), "/thirdparty/login?next=") {
			t.Errorf("%s signed out: %d %s", path, r.status, r.header.Get("Location"))
		}
	}
}

func TestSelfServicePostsRefuseOtherSites(t *testing.T) {
	e := newEnv(t, false)
	for _, path := range []string{"/thirdparty/signup", "/thirdparty/forgot-user-id", "/thirdparty/forgot-password", "/thirdparty/update-profile"} {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader("email=a%40example.org"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d", path, res.StatusCode)
		}
	}
	if len(e.messages(t)) != 0 {
		t.Error("a cross-site POST queued a message")
	}
}

// Sign-up told whether an address was registered: its profile step refused
// it with the FAQ's message. Now both journeys look the same, step by step,
// to the end; only the holder of a registered address learns, by email,
// that it already has an account.
func TestSignupPagesSayTheSameForARegisteredEmail(t *testing.T) {
	e := newEnv(t, false)
	base := e.srv.URL + "/thirdparty/signup"
	journey := func(email, userID string) []string {
		c := e.client(t)
		p := do(t, c, "GET", base, nil)
		r := do(t, c, "POST", base, merge(annProfile, url.Values{"email": {email}, "confirm_email": {email}}, answerQuestion(t, p.body)))
		wantRedirect(t, r, "/thirdparty/signup/security")
		r = do(t, c, "POST", base+"/security", merge(annSecurity, url.Values{"action": {"create"}, "user_id": {userID}}))
		wantRedirect(t, r, "/thirdparty/signup/pin")
		r = do(t, c, "POST", base+"/pin", url.Values{"pin": {e.lastPIN(t, email)}})
		wantRedirect(t, r, "/thirdparty/signup/done")
		done := do(t, c, "GET", base+"/done", nil)
		// The pages differ only by the (masked) address typed in.
		return []string{strings.ReplaceAll(done.body, milogin.MaskEmail(email), "ADDRESS")}
	}
	fresh := journey("ann.lee@example.org", "leea0000")
	taken := journey("john.smith@example.org", "leea0001")
	if fresh[0] != taken[0] {
		t.Error("the confirmation differs for a registered address")
	}
	if _, err := e.auth.SignIn(context.Background(), milogin.ThirdParty, "leea0001", "Lake#Huron1987", authnMeta); err == nil {
		t.Error("a second account was created for a registered address")
	}
	ms := e.messages(t)
	if len(ms) == 0 || ms[0].To != "john.smith@example.org" || !strings.Contains(ms[0].Text, "smithj0001") {
		t.Errorf("the holder was not emailed the account's User ID: %+v", ms[0])
	}
}

// Five wrong PINs in Forgot Password restarted it at step 1 with nothing
// kept; now the page says what happened and goes back to Select Options
// for a new PIN (once), for a known and an unknown user ID alike.
func TestForgotPasswordFiveWrongPINsOfferANewPIN(t *testing.T) {
	e := newEnv(t, false)
	base := e.srv.URL + "/thirdparty/forgot-password"
	var pages []string
	for _, id := range []string{"smithj0001", "nobody0042"} {
		c, r := e.resetClient(t, id)
		wantRedirect(t, r, "/thirdparty/forgot-password/options")
		wantRedirect(t, do(t, c, "POST", base+"/options", url.Values{"method": {"email"}}), "/thirdparty/forgot-password/verify")
		for range 4 {
			do(t, c, "POST", base+"/verify", url.Values{"pin": {"000000"}})
		}
		r = do(t, c, "POST", base+"/verify", url.Values{"pin": {"000000"}})
		wantRedirect(t, r, "/thirdparty/forgot-password/options?m=pin-locked-reset")
		p := do(t, c, "GET", base+"/options?m=pin-locked-reset", nil)
		wantAll(t, "options after five wrong PINs", p.body, authn.MsgPINLockedReset, "Select Options")
		pages = append(pages, p.body)
		wantRedirect(t, do(t, c, "POST", base+"/options", url.Values{"method": {"email"}}), "/thirdparty/forgot-password/verify")
	}
	if pages[0] != pages[1] {
		t.Error("a known and an unknown user ID see different pages after five wrong PINs")
	}
}
