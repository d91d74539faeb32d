package e2e

import (
	"strings"
	"testing"
)

const (
	optCancel   = "Cancel"
	optContinue = "Logout the other session and continue with a new session"
)

// signInElsewhere signs John Smith in from a Go HTTP client: the "other
// session" of the one-active-session rule.
func signInElsewhere(t *testing.T, srv *server) *goClient {
	t.Helper()
	c := newGoClient(t, srv)
	resp, body := c.signIn("smithj0001", demoPassword)
	if resp.Request.URL.Path != homePath || !strings.Contains(body, "Home Page of John Smith") {
		t.Fatalf("Go client: signing in ended on %s (%s), want %s with \"Home Page of John Smith\":\n%s",
			resp.Request.URL, resp.Status, homePath, body)
	}
	return c
}

// stillSignedIn reports whether the Go client's session still reaches home.
func (c *goClient) stillSignedIn() (bool, string) {
	c.t.Helper()
	resp, body := c.get(homePath)
	return resp.Request.URL.Path == homePath && resp.StatusCode == 200 && strings.Contains(body, "Home Page of John Smith"),
		resp.Request.URL.String() + " " + resp.Status
}

// expectActiveSessionWarning checks the guide's "MILogin User ID Already Has
// an Active Session" screen.
func (b *browser) expectActiveSessionWarning() {
	b.t.Helper()
	b.find(heading(0, "Warning"), `heading "Warning"`)
	b.expectText(
		"Your MILogin User ID already has an active session.",
		"If you choose to continue, the existing MILogin session will be logged out and any unsaved changes will be lost.",
	)
	fieldset := "//fieldset[legend[" + textIs("Select from the following options:") + "]]"
	b.find(fieldset, `fieldset with legend "Select from the following options:"`)
	for _, opt := range []string{optCancel, optContinue} {
		sel := b.find(fieldset+labelledControl(opt), "radio button "+opt+" in the fieldset")
		if typ := b.attr(sel, "type"); typ != "radio" {
			b.t.Errorf("option %q is an input of type %q, want radio", opt, typ)
		}
	}
	b.button("OK")
	b.expectNoText("Home Page of")
}

// TestActiveSessionLogoutOther: signing in while a session is active
// elsewhere warns; "Logout the other session…" ends that session and signs
// the browser in.
func TestActiveSessionLogoutOther(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	other := signInElsewhere(t, srv)
	b := newBrowser(t, srv)

	b.signIn("smithj0001", demoPassword)
	b.expectActiveSessionWarning()
	b.choose(optContinue)
	b.press("OK")
	b.expectHome("John Smith")

	if ok, where := other.stillSignedIn(); ok {
		t.Errorf("the other session still reaches the home page after being logged out (%s)", where)
	} else if !strings.Contains(where, loginPath) {
		t.Errorf("the other session's GET %s ended on %s, want the sign-in page %s", homePath, where, loginPath)
	}
}

// TestActiveSessionCancel: Cancel abandons the new sign-in and leaves the
// other session alone.
func TestActiveSessionCancel(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	other := signInElsewhere(t, srv)
	b := newBrowser(t, srv)

	b.signIn("smithj0001", demoPassword)
	b.expectActiveSessionWarning()
	b.choose(optCancel)
	b.press("OK")
	b.expectSignInPage()

	if ok, where := other.stillSignedIn(); !ok {
		t.Errorf("after Cancel the other session no longer reaches the home page (GET %s ended on %s)", homePath, where)
	}
	// The browser did not get a session either.
	b.visit(homePath)
	b.expectSignInPage()
}
