package e2e

import (
	"strings"
	"testing"
)

const (
	msgSignedInElsewhere = "You were signed out because your MILogin User ID signed in on another device."
	msgPasswordChanged   = "You were signed out because your password was changed. Please sign in with your new password."
)

// takeOver signs userID in from the Go client and answers the "already has
// an active session" warning with "Logout the other session and continue".
func (c *goClient) takeOver(userID, password string) {
	c.t.Helper()
	resp, body := c.signIn(userID, password)
	form, ok := findForm(body, "choice")
	if !ok {
		c.t.Fatalf("Go client: signing in ended on %s, want the active-session warning:\n%s", resp.Request.URL, body)
	}
	action, err := resp.Request.URL.Parse(form.action)
	if err != nil {
		c.t.Fatal(err)
	}
	form.values.Set("choice", "continue")
	resp, err = c.http.PostForm(action.String(), form.values)
	if err != nil {
		c.t.Fatalf("Go client: POST %s: %v", action, err)
	}
	if body := readBody(c.t, resp); resp.Request.URL.Path != homePath {
		c.t.Fatalf("Go client: the takeover ended on %s, want %s:\n%s", resp.Request.URL, homePath, body)
	}
}

// signInHere signs in on the sign-in page the browser is on (keeping what
// the page carries, such as the way back), taking over any other session.
func (b *browser) signInHere(userID, password string) {
	b.t.Helper()
	b.fill("User ID", "user_id", userID)
	b.fill("Password", "password", password)
	b.press("LOGIN")
	if strings.HasSuffix(b.path(), "/login/active-session") {
		b.choose(optContinue)
		b.press("OK")
	}
}

// TestSignedOutSaysWhy: a browser whose session was ended by a sign-in on
// another device, then by a password reset, lands on the sign-in page with
// the reason, and signing in again brings it back to the page it was on.
func TestSignedOutSaysWhy(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const profile = "/thirdparty/update-profile"
	b := newBrowser(t, srv)
	b.signIn(garciaUserID, demoPassword)
	b.visit(profile)
	b.find(heading(1, "Update Profile"), `h1 "Update Profile"`)

	// Another device signs in with the same User ID and ends this session.
	newGoClient(t, srv).takeOver(garciaUserID, demoPassword)
	b.reload()
	b.expectSignInPage()
	b.expectText(msgSignedInElsewhere)
	b.signInHere(garciaUserID, demoPassword)
	if p := b.path(); p != profile {
		t.Errorf("signing in again ended on %s, want the page the browser was on, %s", p, profile)
	}

	// Someone resets the password on another browser: every session ends.
	other := newBrowser(t, srv)
	other.visit(forgotPasswordPath)
	other.resetPasswordByEmail(srv, garciaUserID, garciaEmail, "Sleeping#Bear2026", []string{"Email", "Text Message", "Security Questions"})
	b.reload()
	b.expectSignInPage()
	b.expectText(msgPasswordChanged)
	b.expectNoText(msgSignedInElsewhere)
	b.signInHere(garciaUserID, "Sleeping#Bear2026")
	if p := b.path(); p != profile {
		t.Errorf("signing in after the reset ended on %s, want %s", p, profile)
	}
}
