package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
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
	return ms
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
	wantAll(t, "confirmation", done.body, "Confirmation", "Success", "Your account has been created. Your User ID is <strong>leea0000</strong>.", ">LOGIN<")
	if m := e.messages(t)[0]; m.Subject != "Account Creation Confirmed" || m.To != "ann.lee@example.org" {
		t.Errorf("newest message: %q to %s", m.Subject, m.To)
	}
	wantRedirect(t, e.login(t, e.client(t), "leea0000", "Lake#Huron1987"), "/thirdparty/home")
}

var authnMeta = authn.Meta{IP: "192.0.2.1", UserAgent: "test"}
