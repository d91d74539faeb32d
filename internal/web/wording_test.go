package web_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"milogin"
)

// TestChangePasswordSaysExpiredOnlyWhenItIs: the guide's "to reset your
// expired password" is for an expired password only.
func TestChangePasswordSaysExpiredOnlyWhenItIs(t *testing.T) {
	const expired = "Please enter new password to reset your expired password."
	e := newEnv(t, false)
	c := e.client(t)
	wantRedirect(t, e.login(t, c, "smithj0001", goodPassword), "/thirdparty/home")
	p := do(t, c, "GET", e.srv.URL+"/thirdparty/change-password", nil)
	if strings.Contains(p.body, expired) || strings.Contains(p.body, "expired") {
		t.Error("Change Password speaks of an expired password that has not expired")
	}
	r := do(t, c, "POST", e.srv.URL+"/thirdparty/change-password", url.Values{"current_password": {goodPassword}, "new_password": {"short"}, "confirm_password": {"short"}})
	if strings.Contains(r.body, "expired") {
		t.Error("Change Password, re-displayed with errors, speaks of an expired password")
	}

	e.clk.Add(361 * 24 * time.Hour)
	c = e.client(t)
	e.login(t, c, "smithj0001", goodPassword)
	if p := do(t, c, "GET", e.srv.URL+"/thirdparty/change-password", nil); !strings.Contains(p.body, expired) {
		t.Errorf("Change Password for an expired password lacks %q", expired)
	}
}

// TestProfileErrorNamesTheFieldOnThePage: the message for a missing current
// password names the field as Update Profile labels it.
func TestProfileErrorNamesTheFieldOnThePage(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	e.login(t, c, "smithj0001", goodPassword)
	r := do(t, c, "POST", e.srv.URL+"/thirdparty/update-profile", url.Values{"action": {"submit"}, "first_name": {"John"}, "last_name": {"Smith"},
		"email": {"j.smith@work.example.org"}, "confirm_email": {"j.smith@work.example.org"}})
	if !strings.Contains(r.body, `<label for="current_password">Current Password</label>`) {
		t.Fatal("Update Profile has no Current Password field")
	}
	wantField(t, r.body, "current_password", "Current Password is required to change your Email Address or Mobile Number.")
	if strings.Contains(r.body, "Enter Current Password") || strings.Contains(r.body, "Security Options.") {
		t.Error("Update Profile's error names a field or a page that is not Update Profile's")
	}
}

// TestNameFieldsSayTheirLimit: the name fields stop at the rule's 64
// characters (maxlength) and say so, instead of taking 254 and refusing.
func TestNameFieldsSayTheirLimit(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	e.login(t, c, "smithj0001", goodPassword)
	for _, path := range []string{"/thirdparty/signup", "/thirdparty/update-profile"} {
		body := do(t, e.client(t), "GET", e.srv.URL+path, nil).body
		if path == "/thirdparty/update-profile" {
			body = do(t, c, "GET", e.srv.URL+path, nil).body
		}
		for _, f := range []struct {
			name string
			max  int
		}{{"first_name", 64}, {"last_name", 64}, {"suffix", 10}} {
			in := regexp.MustCompile(`<input[^>]*\bid="` + f.name + `"[^>]*>`).FindString(body)
			if !strings.Contains(in, fmt.Sprintf(`maxlength="%d"`, f.max)) || !strings.Contains(in, `aria-describedby="`+f.name+`-hint"`) {
				t.Errorf("%s: %s is %s, want maxlength=%d described by its hint", path, f.name, in, f.max)
			}
			if hint := fmt.Sprintf(`<p id="%s-hint" class="hint">Up to %d characters.</p>`, f.name, f.max); !strings.Contains(body, hint) {
				t.Errorf("%s: %s does not say its limit (%s)", path, f.name, hint)
			}
		}
	}
}

// TestNoLinkToAFactorThatIsOff: with neither authenticator apps (no
// sealing key) nor passkeys (an IP-address base URL) no page links to
// them; with both on, home and Security Options link to both.
func TestNoLinkToAFactorThatIsOff(t *testing.T) {
	pages := []string{"/thirdparty/home", "/thirdparty/security-options", "/thirdparty/security-options/authenticator", "/thirdparty/security-options/passkeys"}
	off := newEnv(t, false) // 127.0.0.1 and no TOTP key
	c := off.client(t)
	off.login(t, c, "smithj0001", goodPassword)
	for _, path := range pages {
		body := do(t, c, "GET", off.srv.URL+path, nil).body
		for _, link := range []string{`href="/thirdparty/security-options/authenticator"`, `href="/thirdparty/security-options/passkeys"`} {
			if strings.Contains(body, link) {
				t.Errorf("%s links to a factor that is off: %s", path, link)
			}
		}
	}

	on := newAccessEnv(t) // a TOTP key and http://localhost
	c = on.signedIn(t)
	for _, path := range pages[:2] {
		body := do(t, c, "GET", on.srv.URL+path, nil).body
		for _, link := range []string{`href="/thirdparty/security-options/authenticator"`, `href="/thirdparty/security-options/passkeys"`} {
			if !strings.Contains(body, link) {
				t.Errorf("%s does not link to a factor that is on: %s", path, link)
			}
		}
	}
}

// TestHomeLinksThroughInitiateLoginURI: an application without a launch
// URL links to its initiate_login_uri with iss and login_hint; one with
// neither is not listed as a name that leads nowhere.
func TestHomeLinksThroughInitiateLoginURI(t *testing.T) {
	e := newAccessEnv(t)
	c := e.signedIn(t)
	e.grant(t, "grants")
	e.grant(t, "forms")
	ctx := context.Background()
	err := e.store.Write(ctx, func(tx milogin.Tx) error {
		if _, err := tx.Apps().Update(ctx, "grants", func(a *milogin.Application) error {
			a.LaunchURL, a.Client.InitiateLoginURI = "", "https://grants.example/oidc/initiate"
			return nil
		}); err != nil {
			return err
		}
		_, err := tx.Apps().Update(ctx, "forms", func(a *milogin.Application) error { a.LaunchURL = ""; return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	home := do(t, c, "GET", e.srv.URL+"/thirdparty/home", nil).body
	want := `<a href="https://grants.example/oidc/initiate?iss=` + url.QueryEscape(e.srv.URL+"/thirdparty") + `&amp;login_hint=smithj0001">Grant Reporting</a>`
	if !strings.Contains(home, want) {
		t.Errorf("home lacks %s", want)
	}
	if strings.Contains(home, "Forms Library") {
		t.Error("home lists Forms Library, which has no way to launch")
	}
}
