package e2e

import (
	"testing"
)

// TestPasswordExpiryNotice: Bob Brown's password was changed 350 days ago;
// with the 360-day policy the home page warns him.
func TestPasswordExpiryNotice(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)

	b.signIn("brownb0001", demoPassword)
	b.expectHome("Bob Brown")
	b.expectText("Your password will expire in 10 days")
}

// expectChangePasswordPage checks the Change Password page of the guide
// ("Change a Password"), as shown for an expired password.
func (b *browser) expectChangePasswordPage() {
	b.t.Helper()
	b.find(heading(1, "Change Password"), `h1 "Change Password"`)
	b.expectText("Please enter new password to reset your expired password.")
	b.field("Enter Current Password", "current_password")
	b.field("Enter New Password", "new_password")
	b.field("Confirm New Password", "confirm_password")
	b.button("SUBMIT")
	b.button("RESET")
	b.expectNoText("Home Page of")
}

// TestExpiredPasswordMustBeChanged: Jane Doe's password has expired, so
// signing in leads to Change Password. A password that breaks
// the rules is refused with one message per failed rule; a good one is
// accepted, leads home, and is the password from then on.
func TestExpiredPasswordMustBeChanged(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)

	b.signIn("doej0001", demoPassword)
	b.expectChangePasswordPage()

	const bad = "short"
	b.fill("Enter Current Password", "current_password", demoPassword)
	b.fill("Enter New Password", "new_password", bad)
	b.fill("Confirm New Password", "confirm_password", bad)
	b.press("SUBMIT")
	b.expectChangePasswordPage()
	b.expectText("at least 8 characters")
	b.expectNoText("Your password has been successfully updated.")

	const good = "Lake#Huron1987"
	b.fill("Enter Current Password", "current_password", demoPassword)
	b.fill("Enter New Password", "new_password", good)
	b.fill("Confirm New Password", "confirm_password", good)
	b.press("SUBMIT")
	b.expectText("Your password has been successfully updated.")
	b.follow("HOME")
	b.expectHome("Jane Doe")
	b.expectNoText("Please enter new password to reset your expired password.")

	// The new password is the password now; the old one is not.
	b.logout()
	b.expectSignInPage()
	b.signIn("doej0001", demoPassword)
	b.expectText(msgIncorrect)
	b.signIn("doej0001", good)
	b.expectHome("Jane Doe")
}
