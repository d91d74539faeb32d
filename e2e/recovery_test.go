package e2e

import (
	"strings"
	"testing"
)

// The demo account with every recovery option (cmd/milogin/demo_recovery.go).
const (
	garciaUserID = "garciam0001"
	garciaEmail  = "maria.garcia@example.org"
	garciaMobile = "517-555-0123"

	resetPINSubject = "Your MILogin PIN to reset your password"
)

// forgotUserID fills in Forgot User ID from its first page.
func (b *browser) forgotUserID(email string) {
	b.t.Helper()
	if p := b.path(); p != forgotUserIDPath {
		b.t.Errorf("on %s, want %s", p, forgotUserIDPath)
	}
	b.find(heading(1, "Forgot User ID"), `h1 "Forgot User ID"`)
	b.expectSteps("Enter Email Address", "Enter Email Address", "Confirmation")
	b.find(heading(2, "Enter Email Address"), `h2 "Enter Email Address"`)
	b.expectText("Provide your Email address to proceed:", "* Required", `Verification Question: Which word from list "`)
	b.button("RESET")
	b.fill("Email Address", "email", email)
	b.answerVerificationQuestion()
	b.press("SUBMIT")
	b.expectSteps("Confirmation", "Enter Email Address", "Confirmation")
	b.find(heading(2, "Confirmation"), `h2 "Confirmation"`)
	b.expectText("Success", "Your user ID has been sent to the email address you provided.")
	b.link("LOGIN")
}

// TestForgotUserID: the guide's Forgot MILogin User ID, for a known and an
// unknown address: the same page, and the guide's email only for the known one.
func TestForgotUserID(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	b.visit(loginPath)
	b.follow("Forgot your User ID?")

	// Mistakes first: nothing typed, then a wrong answer.
	b.press("SUBMIT")
	b.expectError("Email Address is required.")
	b.expectError("Verification Question is required.")
	b.fill("Email Address", "email", "JOHN.SMITH@example.org")
	b.typeInto(`//input[@id='vq_answer']`, "wrong")
	b.press("SUBMIT")
	b.expectError("The answer to the verification question is incorrect. Please answer the new question.")
	if got := b.value("Email Address", "email"); got != "JOHN.SMITH@example.org" {
		t.Errorf("the typed email was not kept: %q", got)
	}
	b.answerVerificationQuestion()
	b.press("SUBMIT")
	b.expectText("Your user ID has been sent to the email address you provided.")

	m := waitMail(t, srv, johnEmail, "Regarding your MILogin user account", "Pursuant to your request", 0)
	want := "Hello,\n\nPursuant to your request, the following username is associated with the email address provided:\n\nsmithj0001\n\nIf you are facing any issues, please use Help Page link (" + srv.URL + "/thirdparty/help) to contact the help desk for further assistance.\n\nThanks,\nMILogin Team"
	if got := strings.ReplaceAll(strings.TrimSpace(m.Text), "\r\n", "\n"); got != want {
		t.Errorf("user ID email:\n%s\nwant the guide's:\n%s", got, want)
	}

	// An unknown address: the same confirmation.
	b.visit(forgotUserIDPath)
	b.forgotUserID("nobody@example.org")
	b.follow("LOGIN")
	b.expectSignInPage()
}

// startForgotPassword runs 1 Enter User ID and checks 2 Select Options
// offers exactly options.
func (b *browser) startForgotPassword(userID string, options []string) {
	b.t.Helper()
	if p := b.path(); p != forgotPasswordPath {
		b.t.Errorf("on %s, want %s", p, forgotPasswordPath)
	}
	steps := []string{"Enter User ID", "Select Options", "Verify", "New Password", "Confirmation"}
	b.find(heading(1, "Forgot Password"), `h1 "Forgot Password"`)
	b.expectSteps("Enter User ID", steps...)
	b.find(heading(2, "Enter User ID"), `h2 "Enter User ID"`)
	b.expectText("Provide your User ID to proceed:")
	if ph := b.attr(b.field("User ID", "user_id"), "placeholder"); ph != "Enter User ID" {
		b.t.Errorf("User ID placeholder %q", ph)
	}
	if ph := b.attr(`//input[@id='vq_answer']`, "placeholder"); ph != "Provide Answer to Verification Question" {
		b.t.Errorf("answer placeholder %q", ph)
	}
	b.button("RESET")
	b.fill("User ID", "user_id", userID)
	b.answerVerificationQuestion()
	b.press("NEXT")
	b.expectSteps("Select Options", steps...)
	b.find(heading(2, "Select Options"), `h2 "Select Options"`)
	for _, o := range []string{"Email", "Text Message", "Security Questions"} {
		want := false
		for _, x := range options {
			want = want || x == o
		}
		if got := b.count(labelledControl(o)) > 0; got != want {
			b.t.Errorf("option %q offered: %v, want %v", o, got, want)
		}
	}
}

// newPassword runs 4 New Password and checks 5 Confirmation.
func (b *browser) newPassword(password string) {
	b.t.Helper()
	b.expectSteps("New Password", "Enter User ID", "Select Options", "Verify", "New Password", "Confirmation")
	b.find(heading(2, "New Password"), `h2 "New Password"`)
	b.expectText("Password Guidelines:")
	b.fill("Enter New Password", "new_password", password)
	b.fill("Confirm New Password", "confirm_password", password)
	b.press("SUBMIT")
	b.expectSteps("Confirmation", "Enter User ID", "Select Options", "Verify", "New Password", "Confirmation")
	b.expectText("Success", "Your password has been successfully updated.")
	b.link("LOGIN")
}

// resetPasswordByEmail runs Forgot Password with a PIN by email.
func (b *browser) resetPasswordByEmail(srv *server, userID, email, password string, options []string) {
	b.t.Helper()
	b.startForgotPassword(userID, options)
	b.choose("Email")
	b.press("NEXT")
	b.expectSteps("Verify", "Enter User ID", "Select Options", "Verify", "New Password", "Confirmation")
	b.expectPINStep("email", "NEXT")
	b.fill("PIN", "pin", mailedPIN(b.t, srv, email, resetPINSubject, 0))
	b.press("NEXT")
	b.newPassword(password)
	waitMail(b.t, srv, email, "Regarding your MILogin user account", "has been reset with the Forgot your password? link", 0)
}

// TestForgotPasswordByEmail: the guide's example, with a locked account:
// the reset unlocks it.
func TestForgotPasswordByEmail(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	for i := 0; i < 5; i++ {
		b.signIn(garciaUserID, "Wrong!Password9")
	}
	b.expectText("Your account is locked")
	b.follow("Forgot your password?")
	b.resetPasswordByEmail(srv, garciaUserID, garciaEmail, "Sleeping#Bear2026", []string{"Email", "Text Message", "Security Questions"})
	b.follow("LOGIN")
	b.signIn(garciaUserID, "Sleeping#Bear2026")
	b.expectHome("Maria Garcia")
}

// TestForgotPasswordByText: the PIN goes by text, read from the demo mailbox;
// a wrong PIN is counted; the new password must differ from the last 3.
func TestForgotPasswordByText(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	b.visit(forgotPasswordPath)
	b.startForgotPassword(garciaUserID, []string{"Email", "Text Message", "Security Questions"})
	b.press("NEXT")
	b.expectError("Please select one of the options.")
	b.choose("Text Message")
	b.press("NEXT")
	b.expectPINStep("mobile", "NEXT")
	pin := textedPIN(t, srv, garciaMobile, 0)
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	b.fill("PIN", "pin", wrong)
	b.press("NEXT")
	b.expectText("The PIN you entered is incorrect. You have 4 more tries.")
	b.fill("PIN", "pin", pin)
	b.press("NEXT")

	b.fill("Enter New Password", "new_password", demoPassword)
	b.fill("Confirm New Password", "confirm_password", demoPassword)
	b.press("SUBMIT")
	b.expectError("Password should not be one of the last 3 used passwords.")
	b.newPassword("Tahquamenon#Falls1")
	b.follow("LOGIN")
	b.signIn(garciaUserID, "Tahquamenon#Falls1")
	b.expectHome("Maria Garcia")
}

// TestForgotPasswordBySecurityQuestions: the four answers (case and spaces
// do not matter); a wrong set is refused without saying which.
func TestForgotPasswordBySecurityQuestions(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	b.visit(forgotPasswordPath)
	b.startForgotPassword(garciaUserID, []string{"Email", "Text Message", "Security Questions"})
	b.choose("Security Questions")
	b.press("NEXT")
	b.expectSteps("Verify", "Enter User ID", "Select Options", "Verify", "New Password", "Confirmation")
	questions := []string{"What was the name of your first pet?", "In what city or town were you born?",
		"What was the make and model of your first car?", "What was the name of your first employer?"}
	answers := []string{"rex", "  LANSING ", "Ford   Focus", "Meijer"}
	for i, q := range questions {
		b.fill(q, "answer"+string(rune('1'+i)), "wrong")
	}
	b.press("NEXT")
	b.expectText("One or more of your answers is incorrect. Please try again.")
	for i, q := range questions {
		b.fill(q, "answer"+string(rune('1'+i)), answers[i])
	}
	b.press("NEXT")
	b.newPassword("Mackinac#Bridge57")
	b.follow("LOGIN")
	b.signIn(garciaUserID, "Mackinac#Bridge57")
	b.expectHome("Maria Garcia")
}

// TestForgotPasswordUnknownUserID: an unknown user ID walks the same pages
// (no hint that it does not exist) but no PIN ever works.
func TestForgotPasswordUnknownUserID(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	b.visit(forgotPasswordPath)
	b.fill("User ID", "user_id", "nobodyx0001")
	b.answerVerificationQuestion()
	b.press("NEXT")
	b.find(heading(2, "Select Options"), `h2 "Select Options"`)
	b.choose("Email")
	b.press("NEXT")
	b.expectPINStep("email", "NEXT")
	b.fill("PIN", "pin", "123456")
	b.press("NEXT")
	b.expectText("The PIN you entered is incorrect. You have 4 more tries.")
}
