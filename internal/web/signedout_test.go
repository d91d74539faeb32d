package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"milogin/internal/authn"
)

// TestSignedOutSaysWhyAndReturns: a session ended by a sign-in elsewhere, a
// password reset elsewhere or a time-out sends the browser to the sign-in
// page with the reason, and signing in again returns it to the page it was
// on, for a page it asked for and for a form it sent.
func TestSignedOutSaysWhyAndReturns(t *testing.T) {
	const newPassword = "Lake#Huron1987"
	for _, tc := range []struct {
		name     string
		end      func(t *testing.T, e *env)
		password string // to sign in again
		want     string
	}{
		{"signed in elsewhere", func(t *testing.T, e *env) {
			other := e.client(t)
			e.login(t, other, "smithj0001", goodPassword)
			wantRedirect(t, do(t, other, "POST", e.srv.URL+"/thirdparty/login/active-session", url.Values{"choice": {"continue"}}), "/thirdparty/home")
		}, goodPassword, authn.MsgSignedInElsewhere},
		{"password reset elsewhere", func(t *testing.T, e *env) {
			other, _ := e.resetClient(t, "smithj0001")
			base := e.srv.URL + "/thirdparty/forgot-password"
			do(t, other, "POST", base+"/options", url.Values{"method": {"email"}})
			do(t, other, "POST", base+"/verify", url.Values{"pin": {e.lastPIN(t, "john.smith@example.org")}})
			wantRedirect(t, do(t, other, "POST", base+"/new-password", url.Values{"new_password": {newPassword}, "confirm_password": {newPassword}}),
				"/thirdparty/forgot-password/done")
		}, newPassword, authn.MsgSignedOutPasswordChanged},
		{"timed out", func(t *testing.T, e *env) { e.clk.Add(31 * time.Minute) }, goodPassword, authn.MsgTimedOut},
	} {
		for _, method := range []string{"GET", "POST"} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				e := newEnv(t, false)
				c := e.client(t)
				wantRedirect(t, e.login(t, c, "smithj0001", goodPassword), "/thirdparty/home")
				if r := do(t, c, "GET", e.srv.URL+"/thirdparty/update-profile", nil); r.status != http.StatusOK {
					t.Fatalf("Update Profile before the end: %d", r.status)
				}
				tc.end(t, e)

				var form url.Values
				if method == "POST" {
					form = url.Values{"first_name": {"Johnny"}}
				}
				r := do(t, c, method, e.srv.URL+"/thirdparty/update-profile", form)
				loc := r.header.Get("Location")
				if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/thirdparty/login?") {
					t.Fatalf("%s Update Profile after the end: %d to %q, want the sign-in page", method, r.status, loc)
				}
				login := do(t, c, "GET", e.srv.URL+loc, nil)
				if !strings.Contains(html.UnescapeString(login.body), tc.want) {
					t.Errorf("the sign-in page (%s) does not say %q", loc, tc.want)
				}
				if !strings.Contains(login.body, `name="next" value="/thirdparty/update-profile"`) {
					t.Errorf("the sign-in page (%s) does not carry the way back to Update Profile", loc)
				}
				r = do(t, c, "POST", e.srv.URL+"/thirdparty/login", url.Values{"user_id": {"smithj0001"}, "password": {tc.password}, "next": {"/thirdparty/update-profile"}})
				if got := r.header.Get("Location"); got == "/thirdparty/login/active-session?next=%2Fthirdparty%2Fupdate-profile" {
					r = do(t, c, "POST", e.srv.URL+"/thirdparty/login/active-session", url.Values{"choice": {"continue"}, "next": {"/thirdparty/update-profile"}})
				}
				wantRedirect(t, r, "/thirdparty/update-profile")
			})
		}
	}
}

// TestSignedOutWithoutReason: a browser that never signed in, or whose
// session was merely signed out, sees no claim about why.
func TestSignedOutWithoutReason(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	r := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
	if loc := r.header.Get("Location"); loc != "/thirdparty/login?next=%2Fthirdparty%2Fhome" {
		t.Errorf("anonymous Home went to %q", loc)
	}
	// A made-up reason in the query shows nothing (notices are by key).
	if r := do(t, c, "GET", e.srv.URL+"/thirdparty/login?m=<b>hacked</b>", nil); strings.Contains(r.body, "hacked") || strings.Contains(r.body, `role="status"`) {
		t.Error("the sign-in page shows a notice for an unknown key")
	}
}
