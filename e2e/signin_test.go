package e2e

import (
	"fmt"
	"testing"
)

// The demo accounts that `milogin serve --demo` seeds (README).
const (
	demoPassword = "Mitten!State26"
	loginPath    = "/thirdparty/login"
	homePath     = "/thirdparty/home"

	msgIncorrect = "The User ID or password you entered is incorrect."
)

// signIn fills in and submits the sign-in page.
func (b *browser) signIn(userID, password string) {
	b.t.Helper()
	b.visit(loginPath)
	b.fill("User ID", "user_id", userID)
	b.fill("Password", "password", password)
	b.press("LOGIN")
}

// expectSignInPage checks that the browser is on the sign-in page (and not
// signed in).
func (b *browser) expectSignInPage() {
	b.t.Helper()
	if p := b.path(); p != loginPath {
		b.t.Errorf("on %s, want the sign-in page %s", p, loginPath)
	}
	b.field("User ID", "user_id")
	b.field("Password", "password")
	b.expectNoText("Home Page of")
}

// expectHome checks the home page of the signed-in user.
func (b *browser) expectHome(name string) {
	b.t.Helper()
	b.find(heading(1, "Home Page of "+name), fmt.Sprintf("h1 %q", "Home Page of "+name))
	if p := b.path(); p != homePath {
		b.t.Errorf("home page is at %s, want %s", p, homePath)
	}
	b.expectText("Access your applications by clicking on the application links below")
}

// TestSignInPage checks the sign-in page against the guide's text and
// screenshot: banner, labelled fields, LOGIN, SIGN UP after "Don't have an
// account?", and the three help links.
func TestSignInPage(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	b.visit(loginPath)

	b.expect(`//header[contains(normalize-space(.), 'MILogin for Third Party')] | //*[@role='banner'][contains(normalize-space(.), 'MILogin for Third Party')]`,
		`banner (<header>) saying "MILogin for Third Party"`)

	user := b.field("User ID", "user_id")
	if id := b.attr(user, "id"); id != "user_id" {
		t.Errorf("User ID input has id=%q, want user_id", id)
	}
	pass := b.field("Password", "password")
	if id := b.attr(pass, "id"); id != "password" {
		t.Errorf("Password input has id=%q, want password", id)
	}
	if typ := b.attr(pass, "type"); typ != "password" {
		t.Errorf("Password input has type=%q, want password", typ)
	}
	b.button("LOGIN")

	prompt := `//text()[contains(., "Don't have an account?")]`
	if b.expect(prompt, `text "Don't have an account?"`) {
		b.expect(prompt+fmt.Sprintf("/following::*[self::a or self::button][%s]", textIsFold("SIGN UP")),
			`SIGN UP link or button after "Don't have an account?"`)
	}
	for _, l := range []string{"Forgot your User ID?", "Forgot your password?", "Need Help?"} {
		b.link(l)
	}
}

// TestSignIn signs John Smith in and checks the home page.
func TestSignIn(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)

	b.signIn("smithj0001", demoPassword)
	b.expectHome("John Smith")
	b.expectNoText(msgIncorrect)

	b.expect(fmt.Sprintf("//nav//a[@href][%s]", textIsFold("HOME")), "HOME link in a <nav>")
	b.expect(fmt.Sprintf("//nav//a[@href][%s]", textIsFold("CHANGE PASSWORD")), "CHANGE PASSWORD link in a <nav>")
	b.expect(logoutButton, "LOGOUT button in a POST form in a <nav>")
	for _, s := range []string{"HOME", "CHANGE PASSWORD", "LOGOUT"} {
		if got := b.visibleText(fmt.Sprintf("(//nav//*[self::a or self::button][%s])[1]", textIsFold(s))); got != s {
			t.Errorf("menu item %q is shown as %q", s, got)
		}
	}

	// The session survives a reload and a fresh visit.
	b.reload()
	b.expectHome("John Smith")
	b.visit(homePath)
	b.expectHome("John Smith")
}

// logoutButton is the menu's LOGOUT: a submit button in a POST form.
var logoutButton = fmt.Sprintf(`//nav//form[translate(@method, 'post', 'POST')='POST']//*[self::button or self::input[@type='submit']][%s or translate(@value, '%s', '%s')='LOGOUT']`,
	textIsFold("LOGOUT"), lower, upper)

// logout presses the menu's LOGOUT button.
func (b *browser) logout() {
	b.t.Helper()
	b.find(logoutButton, "LOGOUT button in a POST form in a <nav>")
	b.click(logoutButton, "LOGOUT")
}

// TestLogout: LOGOUT ends the session on the server, so neither Back nor a
// reload nor a fresh visit shows the home page again.
func TestLogout(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)

	b.signIn("smithj0001", demoPassword)
	b.expectHome("John Smith")

	b.logout()
	b.expectSignInPage()
	b.expectText("You have been logged out.")

	b.back() // to the history entry of /thirdparty/home
	b.expectSignInPage()

	b.visit(homePath)
	b.expectSignInPage()
	b.reload()
	b.expectSignInPage()
}

// TestWithoutJavaScript: signing in and out works with JavaScript disabled
// (SPEC §9: pages work without JavaScript).
func TestWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv, withoutJavaScript())

	b.signIn("smithj0001", "wrong-"+demoPassword)
	b.expectText(msgIncorrect)

	b.fill("User ID", "user_id", "smithj0001")
	b.fill("Password", "password", demoPassword)
	b.press("LOGIN")
	b.expectHome("John Smith")

	b.logout()
	b.expectSignInPage()
	b.expectText("You have been logged out.")
	b.visit(homePath)
	b.expectSignInPage()
}
