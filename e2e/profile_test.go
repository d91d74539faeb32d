package e2e

import (
	"strings"
	"testing"
)

// changePassword uses the CHANGE PASSWORD menu of a signed-in user.
func (b *browser) changePassword(current, next string) {
	b.t.Helper()
	b.follow("CHANGE PASSWORD")
	b.find(heading(1, "Change Password"), `h1 "Change Password"`)
	b.expectSteps("Enter Password", "Enter Password", "Confirmation")
	b.fill("Enter Current Password", "current_password", current)
	b.fill("Enter New Password", "new_password", next)
	b.fill("Confirm New Password", "confirm_password", next)
	b.press("SUBMIT")
}

// TestChangePasswordHistory: Change Password refuses each of the
// last 3 passwords, the current one included, and accepts a fresh one.
func TestChangePasswordHistory(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	b.signIn("smithj0001", demoPassword)
	b.expectHome("John Smith")

	passwords := []string{demoPassword, "Pictured#Rocks1", "Sleeping#Bear22"}
	for i := 1; i < len(passwords); i++ {
		b.changePassword(passwords[i-1], passwords[i])
		b.expectText("Your password has been successfully updated.")
		b.follow("HOME")
	}
	// The current password and the two before it are refused.
	for _, old := range passwords {
		b.changePassword(passwords[len(passwords)-1], old)
		b.expectError("Password should not be one of the last 3 used passwords.")
		b.expectNoText("Your password has been successfully updated.")
		b.follow("HOME")
	}
	b.changePassword(passwords[len(passwords)-1], "Porcupine#Mtns33")
	b.expectText("Success", "Your password has been successfully updated.")
	b.logout()
	b.signIn("smithj0001", "Porcupine#Mtns33")
	b.expectHome("John Smith")
}

// TestUpdateEmailWithPIN: Update Profile shows the guide's callout;
// a new email needs the current password and the PIN sent to the new
// address before it replaces the old one; the old address is told; an
// address another account uses is refused.
func TestUpdateEmailWithPIN(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	b.signIn("smithj0001", demoPassword)
	b.follow("UPDATE PROFILE")
	b.find(heading(1, "Update Profile"), `h1 "Update Profile"`)
	b.find(heading(2, "Profile Information"), `h2 "Profile Information"`)
	b.expectText("Talk to your MWA Administrator before changing the Email Address.",
		"Enter your profile information", "* Required",
		"By providing an e-mail address, a new PIN can be sent to you to help with resetting a forgotten password.",
		"By providing a mobile number, a text message can be sent to you to help with resetting a forgotten password.")
	if got := b.value("Email Address", "email"); got != johnEmail {
		t.Errorf("Email Address shows %q", got)
	}

	// Another account's address: the FAQ's rule.
	b.fill("Email Address", "email", "Jane.Doe@example.org")
	b.fill("Confirm Email Address", "confirm_email", "jane.doe@example.org")
	b.fill("Current Password", "current_password", demoPassword)
	b.press("SUBMIT")
	b.expectError("This email address is already used by another MILogin account. Please provide a unique email address.")

	const newEmail = "john.smith@miworks.example.org"
	b.fill("Email Address", "email", newEmail)
	b.fill("Confirm Email Address", "confirm_email", newEmail)
	b.press("SUBMIT")
	b.expectError("Current Password is required to change your Email Address or Mobile Number.")
	b.fill("Current Password", "current_password", demoPassword)
	b.press("SUBMIT")
	b.find(heading(1, "Update Profile"), `h1 "Update Profile"`)
	b.expectPINStep("email", "CONFIRM")
	pin := mailedPIN(t, srv, newEmail, "Your MILogin PIN to confirm your new email address", 0)

	// Not changed yet.
	b.follow("BACK")
	if got := b.value("Email Address", "email"); got != johnEmail {
		t.Errorf("the email changed before the PIN: %q", got)
	}
	b.visit("/thirdparty/update-profile/verify")
	b.fill("PIN", "pin", pin)
	b.press("CONFIRM")
	b.expectText("Your profile has been successfully updated.")
	if got := b.value("Email Address", "email"); got != newEmail {
		t.Errorf("Email Address after the PIN: %q", got)
	}
	waitMail(t, srv, johnEmail, "Regarding your MILogin user account", "has been changed to", 0)

	// Forgot User ID now answers at the new address.
	b.logout()
	b.follow("Forgot your User ID?")
	b.forgotUserID(newEmail)
	m := waitMail(t, srv, newEmail, "Regarding your MILogin user account", "Pursuant to your request", 0)
	if !strings.Contains(m.Text, "smithj0001") {
		t.Errorf("user ID email:\n%s", m.Text)
	}
}

// TestSecurityOptions: Security Options shows the account's options
// and saves a change confirmed by the current password, or by a PIN.
func TestSecurityOptions(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	b.signIn("smithj0001", demoPassword)
	b.follow("SECURITY OPTIONS")
	b.find(heading(1, "Security Options"), `h1 "Security Options"`)
	b.expectText("To choose your preferred password recovery method(s), please click on the buttons below. Multiple options can be selected.", johnEmail)
	if !b.checked("Email") || b.checked("Security Questions") {
		t.Error("the options shown are not the account's")
	}

	// Add the security questions, confirmed by a PIN to the email address.
	b.choose("Security Questions")
	for i, q := range []string{"first-pet", "birth-city", "first-car", "childhood-street"} {
		n := string(rune('1' + i))
		b.selectOption("Security Question #"+n, "question"+n, q)
		b.fill("Security Answer #"+n, "answer"+n, []string{"Rex", "Lansing", "Ford", "Elm Street"}[i])
	}
	b.press("SUBMIT")
	b.expectPINStep("email", "CONFIRM")
	b.fill("PIN", "pin", mailedPIN(t, srv, johnEmail, "Your MILogin PIN to change your security options", 0))
	b.press("CONFIRM")
	b.expectText("Your security options have been successfully updated.")
	if !b.checked("Security Questions") {
		t.Error("Security Questions not saved")
	}

	// Add Mobile: the current password proves the person, and the PIN
	// texted to the new number proves the number (an unproven number serves
	// no recovery and counts against no one).
	b.choose("Mobile (Text/SMS)")
	b.fill("Mobile Number", "mobile", "517-555-0188")
	b.fill("Current Password", "current_password", demoPassword)
	b.press("SUBMIT")
	b.expectPINStep("mobile", "CONFIRM")
	b.fill("PIN", "pin", textedPIN(t, srv, "517-555-0188", 0))
	b.press("CONFIRM")
	b.expectText("Your security options have been successfully updated.", "517-555-0188")

	// Forgot Password now offers all three.
	b.logout()
	b.follow("Forgot your password?")
	b.startForgotPassword("smithj0001", []string{"Email", "Text Message", "Security Questions"})
}
