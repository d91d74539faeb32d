package e2e

import (
	"strings"
	"testing"
)

// Citizen MiLogin (issue 10): a resident signs up with their driver's
// license against the demo's Secretary of State records, in the FAQ's
// order, and lands on the home page of state services. The demo cards are
// cmd/milogin/demo-cards.csv. Every page is checked with axe-core as it is
// reached (afterNavigate).

const citizenLoginPath = "/citizen/login"

type resident struct {
	first, middle, last, email, phone, username string
}

// citizenSignUpToVerify walks a resident from the citizen sign-in page to
// identity verification: profile, username and password, the email PIN.
func (b *browser) citizenSignUpToVerify(srv *server, r resident, checkRules bool) {
	b.t.Helper()
	b.visit(citizenLoginPath)
	b.follow("SIGN UP")
	b.find(heading(1, "Create Your Account"), `h1 "Create Your Account"`)
	b.expectSteps("Profile Information", "Profile Information", "Username and Password", "Verify Email", "Identity Verification")
	b.expectText("While it is optional to enter a phone number, entering both")
	if checkRules {
		b.press("NEXT")
		for _, m := range []string{"First Name is required.", "Last Name is required.", "Email Address is required.", "Confirm Email Address is required."} {
			b.expectError(m)
		}
	}
	b.fill("First Name", "first_name", r.first)
	b.fill("Middle Name", "middle_name", r.middle)
	b.fill("Last Name", "last_name", r.last)
	b.fill("Email Address", "email", r.email)
	b.fill("Confirm Email Address", "confirm_email", r.email)
	if r.phone != "" {
		b.fill("Phone Number (optional)", "phone", r.phone)
	}
	b.press("NEXT")

	b.expectSteps("Username and Password", "Profile Information", "Username and Password", "Verify Email", "Identity Verification")
	b.expectText("Username Guidelines:", "Must be 6 to 64 characters in length", "Password Guidelines:", "Password Recovery Methods")
	b.expect(`//aside[contains(@class,'guidelines')][.//h2[normalize-space(.)='Username Guidelines:']]`, "the username guidelines in the gray box")
	if !b.checked("Email: " + r.email) {
		b.t.Error("email recovery is not offered checked")
	}
	if r.phone != "" {
		b.field("Mobile (Text/SMS): "+r.phone, "opt_mobile")
	} else if b.count(`//input[@name='opt_mobile']`) > 0 {
		b.t.Error("mobile recovery offered without a phone number")
	}
	if checkRules {
		b.fill("Username", "user_id", "mary")
		b.fill("Password", "password", "short")
		b.fill("Confirm Password", "confirm_password", "short")
		b.press("Create Account")
		b.expectError("Username must be 6 to 64 characters: letters (A-Z, a-z), numbers (0-9) and . _ - @ only, with no spaces.")
		b.expectError("Password must be at least 8 characters in length.")
	}
	b.fill("Username", "user_id", r.username)
	b.fill("Password", "password", "Mitten!State26")
	b.fill("Confirm Password", "confirm_password", "Mitten!State26")
	if r.phone != "" {
		b.choose("Mobile (Text/SMS): " + r.phone)
	}
	b.press("Create Account")

	// The PIN goes to the email, whatever recovery was chosen: it proves it.
	b.expectPINStep("email", "CONFIRM")
	b.expectSteps("Verify Email", "Profile Information", "Username and Password", "Verify Email", "Identity Verification")
	b.fill("PIN", "pin", mailedPIN(b.t, srv, r.email, "Your MILogin PIN to create your account", 0))
	b.press("CONFIRM")

	if p := b.path(); p != "/citizen/signup/verify" {
		b.t.Fatalf("after the PIN: on %s", p)
	}
	b.find(heading(2, "Identity Verification"), `h2 "Identity Verification"`)
	b.expectText("Is your vehicle registered in the name of a business or organization?")
}

// verify fills identity verification and presses Confirm.
func (b *browser) verify(first, last, card string) {
	b.t.Helper()
	b.choose("No")
	b.fill("First Name", "verify_first_name", first)
	b.fill("Last Name", "verify_last_name", last)
	b.fill("Driver's License or State ID Number", "card_number", card)
	b.press("Confirm")
}

func TestCitizenSignupJourney(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t, srv)
	mary := resident{first: "Mary", middle: "Ann", last: "Smith-Jones", email: "mary.sj@example.org", phone: "517-555-0142", username: "mary.sj@home"}
	b.citizenSignUpToVerify(srv, mary, true)

	// A wrong card number: the FAQ's 'incorrect' message, nothing saying
	// which part was wrong.
	b.verify("Mary", "Smith Jones", "S 999 999 999 999")
	b.expectText("The information you entered is incorrect.", "try it with and without the hyphens")
	if b.value("Last Name", "verify_last_name") != "Smith Jones" {
		b.t.Error("the typed last name was not kept")
	}
	// The hyphenated name typed without its hyphen, the 12 digits alone.
	b.verify("Mary", "Smith Jones", "123 456 789 012")
	if p := b.path(); p != "/citizen/home" {
		t.Fatalf("after verification: on %s", p)
	}
	b.expectText("Home Page of Mary Smith-Jones", "Your password will expire in 360 days",
		"Driver and Vehicle Services", "Jobs and Unemployment", "Benefits")
	for _, s := range []string{"Secretary of State Online Services", "Unemployment Insurance (MiWAM)", "MI Bridges: Food, Health Care and Cash Assistance"} {
		b.link(s)
	}
	waitMail(t, srv, mary.email, "Account Creation Confirmed", "mary.sj@home", 0)

	// The account works like any other: LOGOUT, then sign in again.
	b.press("LOGOUT")
	b.visit(citizenLoginPath)
	b.fill("Username", "user_id", mary.username)
	b.expectText("Forgot your username?")
	b.fill("Password", "password", "Mitten!State26")
	b.press("LOGIN")
	b.expectText("Home Page of Mary Smith-Jones")
	b.follow("UPDATE PROFILE")
	b.press("LOGOUT")

	// A second account on the same card is told where to go, and Mary
	// hears about it.
	b2 := newBrowser(t, srv)
	b2.citizenSignUpToVerify(srv, resident{first: "Mary", middle: "Ann", last: "Smith-Jones", email: "mary.other@example.org", username: "mary.again"}, false)
	b2.verify("Mary Ann", "SMITH-JONES", "S123456789012")
	b2.expectText("A MiLogin account already exists for this driver's license or state ID card.", "Forgot your User ID?", "888-767-6424")
	waitMail(t, srv, mary.email, "Someone tried to create a MiLogin account with your license", "mary.sj@home", 0)

	// A suspended card: visit a Secretary of State office. This resident's
	// browser runs no JavaScript: every step works without it.
	b3 := newBrowser(t, srv, withoutJavaScript())
	b3.citizenSignUpToVerify(srv, resident{first: "John", last: "Doe", email: "john.doe@example.org", username: "johndoe70"}, false)
	b3.verify("John", "Doe", "D-123-456-789-013")
	b3.expectText("Please visit a Secretary of State office.")
	if strings.Contains(b3.path(), "home") {
		t.Error("a suspended card created an account")
	}

	// The workforce portal has no sign-up: its accounts come from
	// milogin users add --portal workforce.
	b3.visit("/workforce/login")
	b3.expectNoText("SIGN UP")
	b3.expectText("Forgot your password?")
}
