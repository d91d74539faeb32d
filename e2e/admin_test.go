package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"milogin/internal/notify/smtptest"
)

const staffPassword = "correct horse battery staple"

var enrolLinkRE = regexp.MustCompile(`https?://\S+/admin/enrol\?t=\S+`)

// totpNow is the authenticator app: the code of the step ago steps back
// (the server accepts one step of skew), waiting, if need be, for a step
// later than last (a step is accepted once). The enrolment uses the
// previous step and the sign-in the current one, so the journey needs no
// 30-second wait between them.
func totpNow(t *testing.T, secret string, ago int, last *int64) string {
	t.Helper()
	at := func() time.Time { return time.Now().Add(-time.Duration(ago) * 30 * time.Second) }
	// A code from the previous step is accepted only until the current
	// step ends: near its end, wait for the next one.
	for ago > 0 && time.Now().Unix()%30 >= 20 {
		time.Sleep(500 * time.Millisecond)
	}
	for at().Unix()/30 <= *last {
		time.Sleep(500 * time.Millisecond)
	}
	now := at()
	*last = now.Unix() / 30
	c, err := totp.GenerateCodeCustom(secret, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mailFor matches a message to the address (case-insensitive) whose subject
// contains subject and whose text contains body ("" matches any text).
func mailFor(to, subject, body string) func(smtptest.Message) bool {
	return func(m smtptest.Message) bool {
		return len(m.To) > 0 && strings.EqualFold(strings.Trim(m.To[0], "<> "), to) && strings.Contains(m.Subject, subject) && strings.Contains(normalize(m.Text), body)
	}
}

// TestConsoleJourney is issue 11's journey in one deployment:
// `milogin admin bootstrap` → the enrolment link (password, authenticator
// app from the QR code's key) → sign-in with the code; the help desk finds a
// locked resident, unlocks with a reason, and the resident sees it on Your
// Activity; deactivating and reactivating an account; an application
// administrator approves a pending request and the person gets the email;
// `milogin audit export` holds each of those events. Every page passes axe
// (the browser checks each one it loads).
func TestConsoleJourney(t *testing.T) {
	t.Parallel()
	// WebAuthn needs a domain: the server is named http://localhost:PORT.
	port := freePort(t)
	srv := startServer(t, "--addr", "127.0.0.1:"+port, "--base-url", "http://localhost:"+port)
	srv.addApp(t, "grant-reporting", "Grant Reporting", "--category", "Finance", "--approval", "approval")

	out := srv.milogin(t, "admin", "bootstrap", "--email", "ann.admin@michigan.gov", "--name", "Ann Admin", "--base-url", srv.URL)
	link := enrolLinkRE.FindString(out)
	if link == "" {
		t.Fatalf("bootstrap printed no link:\n%s", out)
	}
	srv.milogin(t, "admin", "add", "--email", "ann.admin@michigan.gov", "--name", "Ann Admin", "--role", "helpdesk")
	srv.milogin(t, "admin", "add", "--email", "ann.admin@michigan.gov", "--name", "Ann Admin", "--role", "appadmin", "--app", "grant-reporting")

	// Enrolment: the QR code and the key as text, a password, a code.
	// The staff browser runs JavaScript for the passkey at the end, with a
	// virtual authenticator (the DevTools WebAuthn domain).
	staff := newBrowser(t, srv)
	ctx, cancel := staff.step()
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{Protocol: cdpwebauthn.AuthenticatorProtocolCtap2,
			Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true}}); err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	cancel()
	u, _ := url.Parse(link)
	staff.visit("/admin/enrol?" + u.RawQuery)
	staff.find(heading(1, "Set up your staff account"), "the enrolment page")
	staff.find(`//img[starts-with(@src, "data:image/png;base64,")]`, "the QR code")
	secret := strings.ReplaceAll(staff.visibleText(`//*[@id="secret"]`), " ", "")
	if len(secret) < 16 {
		t.Fatalf("key shown as text: %q", secret)
	}
	var last int64
	staff.fill("Password", "password", staffPassword)
	staff.fill("Confirm Password", "confirm", staffPassword)
	staff.fill("Code from the app", "code", totpNow(t, secret, 1, &last))
	staff.press("SET UP MY ACCOUNT")
	staff.expectText("Your staff account is set up.")

	// Sign-in: email and password, then the code (a later step).
	staff.fill("Work email", "email", "ann.admin@michigan.gov")
	staff.fill("Password", "password", staffPassword)
	staff.press("SIGN IN")
	staff.find(heading(1, "Authenticator code"), "the code page")
	staff.fill("Code", "code", totpNow(t, secret, 0, &last))
	staff.press("SUBMIT")
	staff.find(heading(1, "Administration console"), "the console home")
	staff.expectText("Signed in as Ann Admin")

	// A resident locks their account with five wrong passwords.
	for range 5 {
		resp, err := http.PostForm(srv.URL+"/thirdparty/login", url.Values{"user_id": {"smithj0001"}, "password": {"wrong-password-1"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	// The help desk finds a person by name, last name first, in lower case:
	// a name written in capitals with accents is found all the same.
	srv.addMILoginUser(t, "alvareze0001", "ÉMILE", "ÁLVAREZ", "emile.alvarez@example.org")
	staff.follow("Find an account")
	staff.selectOption("Search by", "field", "name")
	staff.fill("Search for (the beginning of it is enough)", "q", "álvarez, é")
	staff.press("SEARCH")
	staff.expectText("alvareze0001")

	// The help desk finds them, sees the lock, unlocks with a reason.
	staff.follow("Find an account")
	staff.fill("Search for (the beginning of it is enough)", "q", "SMITHJ")
	staff.press("SEARCH")
	staff.follow("smithj0001")
	staff.expectText("Locked until")
	staff.fill("Reason to Unlock", "reason-unlock", "Caller verified by user ID and email")
	staff.press("Unlock")
	staff.expectText("The account was unlocked.", "Not locked")
	srv.Mail.WaitFor(t, mailFor(johnEmail, "Regarding your MILogin user account", "the MILogin help desk unlocked your"), 15*time.Second)

	// The resident signs in and sees who did it, when and why.
	resident := newBrowser(t, srv)
	resident.signIn("smithj0001", demoPassword)
	resident.expectHome("John Smith")
	resident.follow("YOUR ACTIVITY")
	resident.find(heading(1, "Your Activity"), "Your Activity")
	resident.expectText("Account unlocked", "Help desk: Ann Admin", "Caller verified by user ID and email", "Sign-in failed (wrong password)")

	// Deactivate at the owner's request, then reactivate.
	staff.visit("/admin/accounts?q=brownb&field=user_id")
	staff.follow("brownb0001")
	staff.fill("Reason to Deactivate", "reason-deactivate", "Owner asked by phone")
	staff.press("Deactivate")
	staff.expectText("The account was deactivated")
	b2 := newBrowser(t, srv, withoutJavaScript())
	b2.signIn("brownb0001", demoPassword)
	b2.expectText("Your account has been deactivated.")
	staff.fill("Reason to Reactivate", "reason-reactivate", "Owner called back")
	staff.press("Reactivate")
	staff.expectText("The account was reactivated.")
	b2.signIn("brownb0001", demoPassword)
	b2.expectHome("Bob Brown")

	// The resident asks for access; the application administrator approves.
	resident.follow("REQUEST ACCESS")
	resident.press("REQUEST")
	resident.expectText("Pending approval")
	staff.follow("Access requests")
	staff.expectText("Grant Reporting", "smithj0001")
	staff.press("APPROVE smithj0001")
	staff.expectText("The request was approved")
	srv.Mail.WaitFor(t, mailFor(johnEmail, "Regarding your access to Grant Reporting", "has been approved"), 15*time.Second)

	// The other console pages, for axe.
	staff.follow("Audit trail")
	staff.fill("Subject (portal:userid or internal ID)", "subject", "thirdparty:smithj0001")
	staff.press("SEARCH")
	staff.expectText("Caller verified by user ID and email", "Ann Admin (staff)")
	staff.follow("Applications")
	staff.follow("Register an application")
	staff.visit("/admin/security/apps/grant-reporting")
	staff.expectText("Application grant-reporting")
	staff.follow("Portal policies")
	staff.expectText("Composition rules")
	staff.press("ROTATE SIGNING KEYS")
	staff.expectText("New signing keys are published now")
	staff.visit("/admin/accounts/no-such-account")
	staff.expectText("Account not found.")
	staff.follow("Staff")
	staff.expectText("ann.admin@michigan.gov")

	// A passkey instead of the code: add one, sign out, sign in with it.
	staff.follow("Your passkeys")
	staff.expectText("You have no passkeys yet.")
	staff.fill("Name (optional)", "name", "Test key")
	staff.fill("Current password", "current_password", staffPassword)
	staff.press("ADD PASSKEY")
	staff.expectText("The passkey was added.", "Test key")
	staff.press("SIGN OUT")
	staff.expectText("You have signed out of the console.")
	staff.fill("Work email", "email", "ann.admin@michigan.gov")
	staff.fill("Password", "password", staffPassword)
	staff.press("SIGN IN")
	staff.press("Passkey")
	staff.find(heading(1, "Administration console"), "the console home after the passkey")

	// The export holds every event of the journey, with the reasons.
	out = srv.milogin(t, "audit", "export", "--since", "2000-01-01", "--format", "jsonl")
	found := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var rec struct {
			Type          string            `json:"type"`
			Reason        string            `json:"reason"`
			Kind          string            `json:"actor_kind"`
			SubjectUserID string            `json:"subject_user_id"`
			Detail        map[string]string `json:"detail"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		found[rec.Type+"|"+rec.Kind+"|"+rec.SubjectUserID+"|"+rec.Reason] = true
		if rec.Type == "staff.signin" {
			found["staff.signin by "+rec.Detail["method"]] = true
		}
	}
	for _, want := range []string{
		"staff.signin|staff|ann.admin@michigan.gov|",
		"mfa.passkey_added|staff|ann.admin@michigan.gov|",
		"staff.signin by totp",
		"staff.signin by webauthn",
		"account.locked|system|smithj0001|",
		"account.unlocked|staff|smithj0001|Caller verified by user ID and email",
		"account.deactivated|staff|brownb0001|Owner asked by phone",
		"account.reactivated|staff|brownb0001|Owner called back",
		"access.granted|staff|smithj0001|",
	} {
		if !found[want] {
			t.Errorf("the export lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("export:\n%s", out)
	}
}
