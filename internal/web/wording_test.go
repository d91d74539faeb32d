package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"
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
