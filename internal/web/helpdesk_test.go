package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/web"
)

// testHelpDesk is Third Party's help desk in these tests, as serve's
// --help-desk-* flags would set it.
var testHelpDesk = milogin.HelpDesk{Name: "Third Party Service Desk", Phone: "(517) 555-0199", Hours: "Monday to Friday, 8 a.m. to 5 p.m.",
	Email: "servicedesk@example.gov", URL: "https://milogintp.example.gov/thirdparty/help"}

func setHelpDesk(auth *authn.Service) {
	p := auth.Portals[milogin.ThirdParty]
	p.HelpDesk = testHelpDesk
	auth.Portals[milogin.ThirdParty] = p
}

// helpDeskSentence is how Access Denied, error pages and the "profile
// incomplete" message give the help desk.
const helpDeskSentence = `Contact the Third Party Service Desk at <a href="tel:5175550199">(517) 555-0199</a> or by email at <a href="mailto:servicedesk@example.gov">servicedesk@example.gov</a> (Monday to Friday, 8 a.m. to 5 p.m.).`

// TestHelpDeskIsThePortals: Need Help?, Access Denied, the error page and
// the "profile incomplete" message show the portal's configured help desk,
// not a placeholder.
func TestHelpDeskIsThePortals(t *testing.T) {
	e := newEnv(t, false)
	help := do(t, e.client(t), "GET", e.srv.URL+"/thirdparty/help", nil)
	wantAll(t, "Need Help?", help.body, "<h1>Need Help?</h1>", "Third Party Service Desk", `<a href="tel:5175550199">(517) 555-0199</a>`,
		"Monday to Friday, 8 a.m. to 5 p.m.", `<a href="mailto:servicedesk@example.gov">servicedesk@example.gov</a>`)
	// The lock's length comes from the policy, said as the lockout email says it.
	wantAll(t, "Need Help?", help.body, "Your account unlocks by itself 30 minutes", "disabled after 18 months of inactivity")
	if strings.Contains(help.body, "555-0100") {
		t.Error("Need Help? still shows the placeholder number")
	}

	// An error page (a form from another site).
	req, _ := http.NewRequest("POST", e.srv.URL+"/thirdparty/login", strings.NewReader("user_id=x&password=y"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(b), helpDeskSentence) {
		t.Errorf("error page (%d) lacks the help desk %q", res.StatusCode, helpDeskSentence)
	}

	// "Profile incomplete": two accounts share the mobile number.
	ctx := context.Background()
	err = e.store.Write(ctx, func(tx milogin.Tx) error {
		a, err := tx.Accounts().GetByUserID(ctx, milogin.ThirdParty, "smithj0001")
		if err != nil {
			return err
		}
		_, err = tx.Accounts().Update(ctx, a.ID, func(a *milogin.Account) error { a.Mobile = "517-555-0100"; return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: "smithj0002", FirstName: "John", LastName: "Smith",
		Email: "john2@example.org", Mobile: "(517) 555-0100", Password: goodPassword}, "test", authnMeta); err != nil {
		t.Fatal(err)
	}
	_, r := e.resetClient(t, "smithj0001")
	wantAll(t, "profile incomplete", r.body, authn.MsgProfileIncomplete, helpDeskSentence)
}

func TestAccessDeniedGivesTheHelpDesk(t *testing.T) {
	e := newAccessEnv(t)
	c := e.signedIn(t)
	r := do(t, c, "GET", e.continueURL(e.park(t, "osmis", false)), nil)
	if r.status != http.StatusForbidden {
		t.Fatalf("status %d", r.status)
	}
	wantAll(t, "access denied", r.body, "<h1>Access Denied</h1>", helpDeskSentence)
}

// testMailFrom is --mail-from in the access tests.
const testMailFrom = "MILogin <no-reply@milogin.example.gov>"

// TestPasscodePageNamesTheConfiguredSender: the MFA passcode page says to
// look for email from --mail-from, not from a fixed address.
func TestPasscodePageNamesTheConfiguredSender(t *testing.T) {
	e := newAccessEnv(t)
	e.grant(t, "grants") // MFA always
	c := e.signedIn(t)
	id, _ := e.toMFA(t, c, "grants", false)
	page, _ := e.passcodeBy(t, c, id, "email")
	wantAll(t, "passcode page", page.body, "Look for email from no-reply@milogin.example.gov")
	if strings.Contains(page.body, "DONOTREPLY") {
		t.Error("the passcode page names a fixed sender")
	}
}

// TestPagesNameTheConfiguredSender: "look for email from …" names
// --mail-from (its address), not a fixed one.
func TestPagesNameTheConfiguredSender(t *testing.T) {
	e := newEnvWith(t, false, func(c *web.Config) { c.MailFrom = testMailFrom })
	for _, path := range []string{"/thirdparty/help"} {
		body := do(t, e.client(t), "GET", e.srv.URL+path, nil).body
		if !strings.Contains(body, "Look for email from no-reply@milogin.example.gov") || strings.Contains(body, "michigan.gov") {
			t.Errorf("%s does not name the configured sender", path)
		}
	}
	c := e.client(t)
	base := e.srv.URL + "/thirdparty/forgot-user-id"
	p := do(t, c, "GET", base, nil)
	wantRedirect(t, do(t, c, "POST", base, merge(url.Values{"action": {"submit"}, "email": {"john.smith@example.org"}}, answerQuestion(t, p.body))),
		"/thirdparty/forgot-user-id/done")
	if body := do(t, c, "GET", base+"/done", nil).body; !strings.Contains(body, "Look for an email from no-reply@milogin.example.gov") {
		t.Error("Forgot User ID's confirmation does not name the configured sender")
	}
}
