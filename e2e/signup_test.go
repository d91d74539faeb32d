package e2e

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"milogin"
	"milogin/internal/authn/questiontest"
	"milogin/internal/notify/smtptest"
)

// Self-service journeys (issue 3): sign up with a PIN (this file), forgot
// user ID and forgot password by each option (recovery_test.go), change
// password and update email with a PIN (profile_test.go). Every page is
// checked with axe-core as it is reached (afterNavigate).

const (
	signupPath         = "/thirdparty/signup"
	forgotUserIDPath   = "/thirdparty/forgot-user-id"
	forgotPasswordPath = "/thirdparty/forgot-password"
)

// answerVerificationQuestion reads the verification question of the page
// the way a person does, and types the answer.
func (b *browser) answerVerificationQuestion() {
	b.t.Helper()
	label := b.visibleText(b.find(`//label[@for='vq_answer']`, "the verification question"))
	_, q, ok := strings.Cut(label, "Verification Question: ")
	if !ok {
		b.t.Fatalf("verification question label %q", label)
	}
	a := questiontest.Solve(q)
	if a == "" {
		b.t.Fatalf("cannot answer the verification question %q", q)
	}
	b.typeInto(`//input[@id='vq_answer']`, a)
}

// typeInto clears the input at xpath and types value.
func (b *browser) typeInto(xpath, value string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Clear(xpath), chromedp.SendKeys(xpath, value)); err != nil {
		b.t.Fatalf("typing into %s: %v", xpath, err)
	}
}

// selectOption picks the option with value in the <select> labelled label.
func (b *browser) selectOption(label, name, value string) {
	b.t.Helper()
	sel := b.field(label, name)
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetValue(sel, value)); err != nil {
		b.t.Fatalf("selecting %q in %q: %v", value, label, err)
	}
}

// value is the current value of the input labelled label.
func (b *browser) value(label, name string) string {
	b.t.Helper()
	sel := b.field(label, name)
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(sel))
	if err != nil {
		b.t.Fatalf("reading %q: %v", label, err)
	}
	return v
}

// checked reports whether the checkbox or radio labelled label was
// rendered checked (the pages are rendered by the server).
func (b *browser) checked(label string) bool {
	b.t.Helper()
	sel := b.find(labelledControl(label), fmt.Sprintf("option labelled %q", label))
	return b.count(sel+"[@checked]") > 0
}

// expectError checks that the page shows message as an error, in the
// summary at the top and beside its field.
func (b *browser) expectError(message string) {
	b.t.Helper()
	b.expect(fmt.Sprintf(`//*[@id='error-summary']//a[%s]`, textIs(message)), fmt.Sprintf("error %q in the summary", message))
	b.expect(fmt.Sprintf(`//*[contains(@class,'field-error')][contains(normalize-space(.), %s)]`, xq(message)), fmt.Sprintf("error %q beside its field", message))
}

var pinRE = regexp.MustCompile(`\b\d{6}\b`)

// waitMail waits until more than `seen` emails to `to` with the subject and
// text containing contains have arrived, and returns the newest.
func waitMail(t *testing.T, srv *server, to, subject, contains string, seen int) smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var matched []smtptest.Message
		for _, m := range srv.Mail.Messages() {
			if m.Subject == subject && strings.Contains(m.Text, contains) &&
				slices.ContainsFunc(m.To, func(x string) bool { return strings.EqualFold(strings.Trim(x, "<> "), to) }) {
				matched = append(matched, m)
			}
		}
		if len(matched) > seen {
			return matched[len(matched)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email %q containing %q to %s arrived (have %d, want more than %d)", subject, contains, to, len(matched), seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mailedPIN waits for the (seen+1)-th email with subject to `to` and returns
// its PIN.
func mailedPIN(t *testing.T, srv *server, to, subject string, seen int) string {
	t.Helper()
	m := waitMail(t, srv, to, subject, "", seen)
	pin := pinRE.FindString(m.Text)
	if pin == "" {
		t.Fatalf("no PIN in the email %q:\n%s", subject, m.Text)
	}
	return pin
}

var mailboxTextRE = regexp.MustCompile(`(?s)<dd>([^<]*)</dd>\s*<dt>Channel</dt><dd>sms</dd>.*?<pre class="message-body">([^<]*)</pre>`)

// textedPIN reads the newest text message to mobile from the development
// mailbox (/dev/mailbox, demo mode), the way a tester without a phone does,
// waiting until there are more than seen texts to it.
func textedPIN(t *testing.T, srv *server, mobile string, seen int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(srv.URL + "/dev/mailbox")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var texts []string
		for _, m := range mailboxTextRE.FindAllStringSubmatch(string(body), -1) {
			if html.UnescapeString(m[1]) == mobile {
				texts = append(texts, html.UnescapeString(m[2]))
			}
		}
		if len(texts) > seen {
			pin := pinRE.FindString(texts[0]) // newest first
			if pin == "" {
				t.Fatalf("no PIN in the text %q", texts[0])
			}
			return pin
		}
		if time.Now().After(deadline) {
			t.Fatalf("no text message to %s on /dev/mailbox", mobile)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// expectSteps checks the numbered steps of a wizard and which is current.
func (b *browser) expectSteps(current string, names ...string) {
	b.t.Helper()
	for i, n := range names {
		b.expect(fmt.Sprintf(`//ol[contains(@class,'steps')]/li[contains(normalize-space(.), %s)]`, xq(fmt.Sprintf("%d %s", i+1, n))), fmt.Sprintf("step %d %s", i+1, n))
	}
	b.expect(fmt.Sprintf(`//ol[contains(@class,'steps')]/li[@aria-current='step'][contains(normalize-space(.), %s)]`, xq(current)), fmt.Sprintf("current step %q", current))
}

// expectProfileStep checks 1 Profile Information of Create Your Account.
// The verification question is asked until a sign-up has started.
func (b *browser) expectProfileStep(question bool) {
	b.t.Helper()
	if p := b.path(); p != signupPath {
		b.t.Errorf("on %s, want %s", p, signupPath)
	}
	b.find(heading(1, "Create Your Account"), `h1 "Create Your Account"`)
	b.expectSteps("Profile Information", "Profile Information", "Security Setup", "Confirmation")
	b.find(heading(2, "Profile Information"), `h2 "Profile Information"`)
	b.expectText("Enter your profile information", "* Required",
		"By providing an e-mail address, a new PIN can be sent to you to help with resetting a forgotten password.",
		"By providing a mobile number, a text message can be sent to you to help with resetting a forgotten password.")
	if question {
		b.expectText(`Verification Question: Which word from list "`)
	} else {
		b.expectNoText("Verification Question:")
	}
	for _, f := range [][2]string{{"First Name", "first_name"}, {"Middle Initial", "middle_initial"}, {"Last Name", "last_name"}, {"Suffix", "suffix"},
		{"Email Address", "email"}, {"Confirm Email Address", "confirm_email"}, {"Work Phone Number", "work_phone"}, {"Mobile Number", "mobile"},
		{"I agree to the terms & conditions.", "agree_terms"}} {
		b.field(f[0], f[1])
	}
	b.button("NEXT")
	b.button("RESET")
}

// expectSecurityStep checks 2 Security Setup.
func (b *browser) expectSecurityStep() {
	b.t.Helper()
	b.find(heading(1, "Create Your Account"), `h1 "Create Your Account"`)
	b.expectSteps("Security Setup", "Profile Information", "Security Setup", "Confirmation")
	b.find(heading(2, "Security Setup"), `h2 "Security Setup"`)
	b.expectText("Provide user id and password information to complete your profile",
		"User ID Guidelines:",
		"Enter your last name, first initial, and any 4 numbers with no space between them. For Example: John Smith and using 9999 as an example for the four digit number, you would enter smithj9999.",
		"User ID cannot contain space.",
		"Password Guidelines:", "Must be at least 8 characters in length", "Must include characters from 3 of the following categories:",
		"Upper case letters (A-Z)", "Lower case letter (a-z)", "Numbers (0-9)", "Special characters (",
		"Should not be one of the last 3 used passwords", "Should not be based on your User ID",
		"Security Options",
		"To choose your preferred password recovery method(s), please click on the buttons below. Multiple options can be selected.",
		"By selecting \"Mobile\" option, you agree to receive text messages on your mobile number.",
		"Standard message & data rates may apply.")
	b.field("User ID", "user_id")
	b.field("Password", "password")
	b.field("Confirm New Password", "confirm_password")
	b.field("Email", "opt_email")
	b.field("Mobile (Text/SMS)", "opt_mobile")
	b.field("Security Questions", "opt_questions")
	for i := 1; i <= 4; i++ {
		b.field(fmt.Sprintf("Security Question #%d", i), fmt.Sprintf("question%d", i))
		b.field(fmt.Sprintf("Security Answer #%d", i), fmt.Sprintf("answer%d", i))
		b.expect(fmt.Sprintf(`//select[@name='question%d']/option[%s]`, i, textIs(fmt.Sprintf("--Select Security Question #%d--", i))), "the select's prompt")
	}
	b.button("CREATE ACCOUNT")
	b.button("BACK")
}

// expectPINStep checks the "Verify Personal Identification Number (PIN)" step.
func (b *browser) expectPINStep(where, submit string) {
	b.t.Helper()
	b.find(heading(2, "Verify Personal Identification Number (PIN)"), `h2 "Verify Personal Identification Number (PIN)"`)
	b.expectText("* Required", "Please enter the PIN received on your "+where+".", `If you did not receive the PIN, click "Resend PIN" button.`)
	b.field("PIN", "pin")
	if ph := b.attr(b.field("PIN", "pin"), "placeholder"); ph != "Enter the PIN" {
		b.t.Errorf("PIN placeholder %q", ph)
	}
	b.button("RESEND PIN")
	b.link("BACK")
	b.button(submit)
}

type newUser struct {
	first, last, email, phone, userID, password string
}

// signUp walks Create Your Account for u from the sign-in page, with Email
// and Security Questions as recovery options, and confirms the PIN read from
// the SMTP server. Along the way it tries what a new user gets wrong.
func (b *browser) signUp(srv *server, u newUser) {
	b.t.Helper()
	b.visit(loginPath)
	b.signUpHere(srv, u)
}

// signUpHere is signUp from the sign-in page the browser is on (one an
// application sent it to, whose sign-in goes on after LOGIN).
func (b *browser) signUpHere(srv *server, u newUser) {
	b.t.Helper()
	b.follow("SIGN UP")
	b.expectProfileStep(true)

	// Nothing filled in: one message per rule, on the same page.
	b.press("NEXT")
	b.expectProfileStep(true)
	for _, m := range []string{"First Name is required.", "Last Name is required.", "Email Address is required.",
		"Confirm Email Address is required.", "Work Phone Number is required.", "Please agree to the terms & conditions to continue.",
		"Verification Question is required."} {
		b.expectError(m)
	}

	b.fill("First Name", "first_name", u.first)
	b.fill("Last Name", "last_name", u.last)
	b.fill("Email Address", "email", u.email)
	b.fill("Confirm Email Address", "confirm_email", strings.ToUpper(u.email))
	b.fill("Work Phone Number", "work_phone", u.phone)
	b.choose("I agree to the terms & conditions.")
	// A wrong answer: a new question, a clear message, the input kept.
	b.typeInto(`//input[@id='vq_answer']`, "notaword")
	b.press("NEXT")
	b.expectProfileStep(true)
	b.expectError("The answer to the verification question is incorrect. Please answer the new question.")
	if got := b.value("First Name", "first_name"); got != u.first {
		b.t.Errorf("First Name after the wrong answer: %q", got)
	}
	b.answerVerificationQuestion()
	b.press("NEXT")
	b.expectSecurityStep()

	// The next free user ID is suggested; BACK keeps what was typed.
	if got := b.value("User ID", "user_id"); got != u.userID {
		b.t.Errorf("suggested User ID %q, want %q", got, u.userID)
	}
	b.choose("Security Questions")
	b.press("BACK")
	b.expectProfileStep(false) // the question was answered once for this sign-up
	if got := b.value("Email Address", "email"); got != u.email {
		b.t.Errorf("Email Address after BACK: %q", got)
	}
	b.press("NEXT")
	b.expectSecurityStep()
	if !b.checked("Security Questions") || !b.checked("Email") {
		b.t.Error("Security Setup lost the chosen options after BACK and NEXT")
	}

	// Rules of step 2.
	b.fill("User ID", "user_id", "smith j")
	b.fill("Password", "password", "short")
	b.fill("Confirm New Password", "confirm_password", "other")
	b.press("CREATE ACCOUNT")
	b.expectSecurityStep()
	for _, m := range []string{"User ID cannot contain space.", "Password must be at least 8 characters in length.",
		"Confirm New Password must match the password.", "Select Security Question #1.", "Enter Security Answer #1."} {
		b.expectError(m)
	}

	b.fill("User ID", "user_id", u.userID)
	b.fill("Password", "password", u.password)
	b.fill("Confirm New Password", "confirm_password", u.password)
	// The live checklist (JavaScript) marks the rules met as the user types.
	for _, rule := range []string{"uid-checklist')]/li[@data-rule='uid-format", "uid-checklist')]/li[@data-rule='uid-space",
		"checklist')]/li[@data-rule='length", "checklist')]/li[@data-rule='classes"} {
		b.expect(`//ul[contains(@class,'`+rule+`'][contains(concat(' ', @class, ' '), ' met ')]`, "a rule of the live checklist marked met")
	}
	for i, q := range []string{"first-pet", "birth-city", "first-car", "first-employer"} {
		b.selectOption(fmt.Sprintf("Security Question #%d", i+1), fmt.Sprintf("question%d", i+1), q)
		b.fill(fmt.Sprintf("Security Answer #%d", i+1), fmt.Sprintf("answer%d", i+1), []string{"Rex", "Lansing", "Ford", "Meijer"}[i])
	}
	b.press("CREATE ACCOUNT")
	b.expectPINStep("email", "CONFIRM")
	pin := mailedPIN(b.t, srv, u.email, "Your MILogin PIN to create your account", 0)

	// A wrong PIN is counted and said so; RESEND PIN at once is refused.
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	b.fill("PIN", "pin", wrong)
	b.press("CONFIRM")
	b.expectPINStep("email", "CONFIRM")
	b.expectText("The PIN you entered is incorrect. You have 4 more tries.")
	b.press("RESEND PIN")
	b.expectText("A PIN was sent less than 30 seconds ago. Please wait a moment before requesting another.")

	b.fill("PIN", "pin", pin)
	b.press("CONFIRM")
	b.expectSteps("Confirmation", "Profile Information", "Security Setup", "Confirmation")
	// The page says the same whether or not the address had an account;
	// the email tells which.
	b.expectText("Success", "Your request is complete. An email has been sent to "+milogin.MaskEmail(u.email))
	confirmed := waitMail(b.t, srv, u.email, "Account Creation Confirmed", "", 0)
	if !strings.Contains(confirmed.Text, u.userID) {
		b.t.Errorf("Account Creation Confirmed email lacks the user ID:\n%s", confirmed.Text)
	}
	b.follow("LOGIN")
	b.expectSignInPage()
}

// TestSignUp: a new person creates an account from the sign-in page (the
// whole sign-up wizard) and signs in with it.
func TestSignUp(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	u := newUser{first: "Pat", last: "Kowalski", email: "pat.kowalski@example.org", phone: "517-555-0150",
		userID: "kowalskip0000", password: "Lake#Huron1987"}
	b.signUp(srv, u)
	b.signIn(u.userID, u.password)
	b.expectHome("Pat Kowalski")
}

// TestSignUpWithoutJavaScript: the whole wizard works with scripts off, and
// a user ID cannot be used twice. (One account per email address is kept at
// confirmation without saying so on the page: see the web tests.)
func TestSignUpWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv, withoutJavaScript())
	b.visit(signupPath)
	b.fill("First Name", "first_name", "John")
	b.fill("Last Name", "last_name", "Smith")
	b.fill("Email Address", "email", "john.smith2@example.org")
	b.fill("Confirm Email Address", "confirm_email", "john.smith2@example.org")
	b.fill("Work Phone Number", "work_phone", "517-555-0100")
	b.fill("Mobile Number", "mobile", "517-555-0177")
	b.choose("I agree to the terms & conditions.")
	b.answerVerificationQuestion()
	b.press("NEXT")
	b.expectSecurityStep()
	if got := b.value("User ID", "user_id"); got != "smithj0000" {
		t.Errorf("suggested %q, want smithj0000 (smithj0001 is taken)", got)
	}
	b.fill("User ID", "user_id", "smithj0001")
	b.fill("Password", "password", "Great#Lakes2026")
	b.fill("Confirm New Password", "confirm_password", "Great#Lakes2026")
	b.choose("Mobile (Text/SMS)")
	b.press("CREATE ACCOUNT")
	b.expectError("That User ID is already taken. Please choose another.")
	b.fill("User ID", "user_id", "smithj0000")
	b.fill("Password", "password", "Great#Lakes2026")
	b.fill("Confirm New Password", "confirm_password", "Great#Lakes2026")
	b.press("CREATE ACCOUNT")
	// Mobile chosen: the PIN goes by text.
	b.expectPINStep("mobile", "CONFIRM")
	b.fill("PIN", "pin", textedPIN(t, srv, "517-555-0177", 0))
	b.press("CONFIRM")
	b.expectText("Your request is complete.")
	b.signIn("smithj0000", "Great#Lakes2026")
	b.expectHome("John Smith")
}

// TestNewUserForgetsEverythingAndGetsBackIn is the definition of
// done: a new user, from the sign-in page, creates an account, forgets both
// the user ID and the password, and gets back in, all in a browser.
func TestNewUserForgetsEverythingAndGetsBackIn(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	u := newUser{first: "Dana", last: "Nguyen", email: "dana.nguyen@example.org", phone: "517-555-0160",
		userID: "nguyend0000", password: "Lake#Huron1987"}
	b.signUp(srv, u)

	// Forgot User ID: the email names it.
	b.follow("Forgot your User ID?")
	b.forgotUserID(u.email)
	m := waitMail(t, srv, u.email, "Regarding your MILogin user account", "Pursuant to your request", 0)
	if !strings.Contains(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n\n"+u.userID+"\n\n") {
		t.Fatalf("user ID email:\n%s", m.Text)
	}

	// Forgot Password with the PIN by email, then back in.
	b.follow("LOGIN")
	b.follow("Forgot your password?")
	b.resetPasswordByEmail(srv, u.userID, u.email, "Another#Lake2026", []string{"Email", "Security Questions"})
	b.follow("LOGIN")
	b.signIn(u.userID, u.password)
	b.expectText(msgIncorrect)
	b.signIn(u.userID, "Another#Lake2026")
	b.expectHome("Dana Nguyen")
}
