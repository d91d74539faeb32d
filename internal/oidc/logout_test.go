package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"milogin"
	"milogin/internal/authn"
)

// RP-initiated logout with another person's valid ID token ended that
// person's session from any browser. Now it ends only the asking browser's
// own session: a browser with no session ends nothing, a browser signed in
// as someone else is asked first and ends only its own session.
func TestRPLogoutEndsOnlyTheBrowsersOwnSession(t *testing.T) {
	e := newEnv(t)
	secret := e.app(t, "rp", false)
	victim := browser()
	v, ch := pkce()
	st, out := e.exchange(t, "rp", secret, e.code(t, victim, "rp", ch), v)
	if st != http.StatusOK {
		t.Fatalf("exchange: %d %v", st, out)
	}
	hint, _ := out["id_token"].(string)
	endURL := e.issuer + "/end_session?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {postLogout}}.Encode()
	signedIn := func(c *http.Client) bool {
		r := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil)
		return r.status == http.StatusOK
	}

	// A browser with no session: nothing ends.
	stranger := browser()
	if r := do(t, stranger, "GET", endURL, nil); r.status != http.StatusSeeOther || r.location() != postLogout {
		t.Fatalf("end_session from a browser without a session: %d %q", r.status, r.location())
	}
	if !signedIn(victim) {
		t.Fatal("another browser's end_session ended the victim's session")
	}

	// A browser signed in as someone else: a confirmation, then only its
	// own session ends.
	if _, err := e.auth.CreateAccount(context.Background(), authn.NewAccount{Portal: milogin.ThirdParty, UserID: "doej0001",
		FirstName: "Jane", LastName: "Doe", Email: "jane.doe@example.org", WorkPhone: "517-373-1837", Password: goodPassword}, "test", authn.Meta{}); err != nil {
		t.Fatal(err)
	}
	other := browser()
	if r := do(t, other, "POST", e.srv.URL+"/thirdparty/login", url.Values{"user_id": {"doej0001"}, "password": {goodPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in of the other person: %d", r.status)
	}
	r := do(t, other, "GET", endURL, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "<h1>Log out of MILogin?</h1>") || !strings.Contains(r.body, `name="confirm" value="yes"`) {
		t.Fatalf("end_session naming someone else: %d\n%s", r.status, r.body)
	}
	if !signedIn(victim) || !signedIn(other) {
		t.Fatal("a session ended before the confirmation")
	}
	form := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {postLogout}, "confirm": {"yes"}}
	if r := do(t, other, "POST", e.issuer+"/end_session", form); r.status != http.StatusSeeOther || r.location() != postLogout {
		t.Fatalf("confirmed: %d %q", r.status, r.location())
	}
	if signedIn(other) {
		t.Error("the confirmation did not end the browser's own session")
	}
	if !signedIn(victim) {
		t.Error("the confirmation ended the victim's session")
	}

	// The victim's own browser: ended at once, as before.
	if r := do(t, victim, "GET", endURL, nil); r.status != http.StatusSeeOther || r.location() != postLogout {
		t.Fatalf("end_session from the victim's browser: %d %q", r.status, r.location())
	}
	if signedIn(victim) {
		t.Error("the victim's own end_session did not end the session")
	}
}
