package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

const (
	msgTimedOut          = "Your session timed out."
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

// idle makes the browser's Third Party session look idle for d, as if the
// person had walked away: its last-seen time is moved back in the server's
// database (another process may write to it while the server runs).
func (b *browser) idle(srv *server, d time.Duration) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatalf("reading the browser's cookies: %v", err)
	}
	var token string
	for _, c := range res.Cookies {
		if c.Name == "milogin-thirdparty" || c.Name == "__Host-milogin-thirdparty" {
			token = c.Value
		}
	}
	if token == "" {
		b.t.Fatal("the browser holds no Third Party session cookie")
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(srv.Data, "milogin.db"), sqlstore.Options{})
	if err != nil {
		b.t.Fatal(err)
	}
	defer store.Close()
	err = store.Write(context.Background(), func(tx milogin.Tx) error {
		_, err := tx.Sessions().Update(context.Background(), authn.TokenID(token), func(s *milogin.Session) error {
			s.LastSeenAt = s.LastSeenAt.Add(-d)
			return nil
		})
		return err
	})
	if err != nil {
		b.t.Fatalf("ageing the session: %v", err)
	}
}

// TestSignedOutAfterTimeOut: a session left idle past the portal's time-out
// lands on the sign-in page with "Your session timed out.", and signing in
// again returns to the page the browser was on.
func TestSignedOutAfterTimeOut(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const security = "/thirdparty/security-options"
	b := newBrowser(t, srv)
	b.signIn("smithj0001", demoPassword)
	b.visit(security)
	b.idle(srv, 31*time.Minute)
	b.reload()
	b.expectSignInPage()
	b.expectText(msgTimedOut)
	b.signInHere("smithj0001", demoPassword)
	if p := b.path(); p != security {
		t.Errorf("signing in again ended on %s, want %s", p, security)
	}
}
