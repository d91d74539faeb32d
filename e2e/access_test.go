package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"milogin/internal/notify/smtptest"
)

// launchRP is a minimal OpenID Connect relying party (public client, PKCE):
// GET /login is its "sign-in start", the Application.LaunchURL of the home
// page; GET /callback exchanges the code and shows who signed in and how
// (the ID token's amr), as an accessible page.
type launchRP struct {
	*httptest.Server
	issuer, clientID, name string

	mu      sync.Mutex
	pending map[string]string // state → PKCE verifier
}

func startLaunchRP(t *testing.T, issuer, clientID, name string) *launchRP {
	t.Helper()
	rp := &launchRP{issuer: issuer, clientID: clientID, name: name, pending: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", rp.login)
	mux.HandleFunc("GET /callback", rp.callback)
	rp.Server = httptest.NewServer(mux)
	t.Cleanup(rp.Close)
	return rp
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (rp *launchRP) login(w http.ResponseWriter, r *http.Request) {
	state, verifier := rand.Text(), rand.Text()+rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	rp.mu.Lock()
	rp.pending[state] = verifier
	rp.mu.Unlock()
	q := url.Values{"client_id": {rp.clientID}, "redirect_uri": {rp.URL + "/callback"}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {state}, "nonce": {rand.Text()},
		"code_challenge": {b64(sum[:])}, "code_challenge_method": {"S256"}}
	http.Redirect(w, r, rp.issuer+"/authorize?"+q.Encode(), http.StatusSeeOther)
}

func (rp *launchRP) page(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>%[1]s</title></head>`+
		`<body><main><h1>%[1]s</h1>%[2]s</main></body></html>`, html.EscapeString(title), body)
}

func (rp *launchRP) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rp.mu.Lock()
	verifier, ok := rp.pending[q.Get("state")]
	delete(rp.pending, q.Get("state"))
	rp.mu.Unlock()
	if !ok || q.Get("code") == "" {
		rp.page(w, http.StatusBadRequest, "Sign-in failed", "<p>"+html.EscapeString(q.Get("error"))+"</p>")
		return
	}
	res, err := http.PostForm(rp.issuer+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {rp.URL + "/callback"}, "client_id": {rp.clientID}, "code_verifier": {verifier}})
	if err != nil {
		rp.page(w, http.StatusBadGateway, "Sign-in failed", "<p>"+html.EscapeString(err.Error())+"</p>")
		return
	}
	defer res.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusOK {
		rp.page(w, http.StatusBadGateway, "Sign-in failed", fmt.Sprintf("<p>token endpoint: %d</p>", res.StatusCode))
		return
	}
	// The signature is the OpenID Provider tests' business; this page only
	// shows what MILogin says about the sign-in.
	parts := strings.Split(tok.IDToken, ".")
	var claims struct {
		User string   `json:"preferred_username"`
		AMR  []string `json:"amr"`
	}
	if len(parts) == 3 {
		if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(raw, &claims)
		}
	}
	rp.page(w, http.StatusOK, "Welcome to "+rp.name, fmt.Sprintf("<p>Signed in as %s.</p><p>Methods: %s.</p>",
		html.EscapeString(claims.User), html.EscapeString(strings.Join(claims.AMR, " "))))
}

// visitURL loads an absolute URL (another origin: the application's own
// sign-in start) and checks the page it ends on.
func (b *browser) visitURL(u string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	b.afterNavigate(resp, "GET "+u)
}

// milogin runs the built binary against the server's data folder, as an
// operator would while the server runs.
func (s *server) milogin(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(miloginBin, append(args, "--data", s.Data)...)
	cmd.Env = serverEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("milogin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// addApp registers a public client application whose launch URL is the
// relying party's /login.
func (s *server) addApp(t *testing.T, id, name string, extra ...string) *launchRP {
	t.Helper()
	rp := startLaunchRP(t, s.URL+"/thirdparty", id, name)
	s.milogin(t, append([]string{"apps", "add", "--portal", "thirdparty", "--id", id, "--name", name,
		"--redirect-uri", rp.URL + "/callback", "--public", "--launch-url", rp.URL + "/login"}, extra...)...)
	return rp
}

var passcodeRE = regexp.MustCompile(`\b\d{6}\b`)

func mailTo(subject string) func(smtptest.Message) bool {
	return func(m smtptest.Message) bool {
		return len(m.To) > 0 && m.To[0] == "john.smith@example.org" && strings.Contains(m.Subject, subject)
	}
}

// TestRequestApproveLaunchWithDailyMFA is the journey of issue 4: request
// access to an approval application, an administrator approves it with
// `milogin access approve`, the link appears on the home page, the first
// launch asks for the terms and the daily second factor (an email
// passcode), the second launch that day goes straight in.
func TestRequestApproveLaunchWithDailyMFA(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	terms := filepath.Join(t.TempDir(), "terms.txt")
	if err := os.WriteFile(terms, []byte("Use Grant Reporting for official business only.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.addApp(t, "grant-reporting", "Grant Reporting", "--category", "Finance", "--approval", "approval",
		"--mfa", "daily", "--contact", "the Grants Office", "--terms-file", terms)

	b := newBrowser(t, srv)
	b.signIn("smithj0001", demoPassword)
	b.expectHome("John Smith")
	b.expectText("You do not have access to any applications yet.")
	b.expectNoText("Grant Reporting")

	// REQUEST ACCESS: the menu item, the list with statuses, the button.
	b.follow("REQUEST ACCESS")
	b.find(heading(1, "Request Access"), "h1 Request Access")
	b.expectText("Grant Reporting", "Finance", "Not requested")
	b.press("REQUEST")
	b.expectText("Your request has been submitted.", "Pending approval")
	srv.Mail.WaitFor(t, mailTo("Regarding your request for access to Grant Reporting"), 15*time.Second)

	// The application administrator, from the command line.
	out := srv.milogin(t, "access", "list", "--app", "grant-reporting", "--status", "pending")
	if !strings.Contains(out, "smithj0001") {
		t.Fatalf("access list:\n%s", out)
	}
	out = srv.milogin(t, "access", "approve", "--portal", "thirdparty", "--app", "grant-reporting", "--user-id", "smithj0001")
	if !strings.Contains(out, "granted") {
		t.Fatalf("access approve: %s", out)
	}
	m := srv.Mail.WaitFor(t, mailTo("Regarding your access to Grant Reporting"), 15*time.Second)
	if !strings.Contains(normalize(m.Text), "Your request for access to Grant Reporting has been approved and the Grant Reporting link will be available on the home page the next time you log in") {
		t.Errorf("granted email:\n%s", m.Text)
	}

	// The link is on the home page, under its category.
	b.follow("HOME")
	b.find(heading(2, "Finance"), "category heading Finance")
	b.follow("Grant Reporting")

	// First launch: the terms, then the MFA step by email.
	b.find(heading(1, "Terms & Conditions"), "the Terms & Conditions dialog")
	b.expectText("Use Grant Reporting for official business only.")
	b.button("CANCEL")
	b.press("Acknowledge/Agree")
	b.find(heading(1, "MILogin Multifactor Authentication (MFA)"), "the MFA page")
	b.expectText("Hello John Smith", "You will receive a passcode in your email j********h@example.org")
	b.press("Email")
	m = srv.Mail.WaitFor(t, mailTo("MILogin Multifactor Authentication (MFA) passcode"), 15*time.Second)
	code := passcodeRE.FindString(m.Text)
	if code == "" {
		t.Fatalf("no passcode in:\n%s", m.Text)
	}
	b.fill("Passcode", "passcode", code)
	b.press("Submit")
	b.find(heading(1, "Welcome to Grant Reporting"), "the application's page")
	b.expectText("Signed in as smithj0001.", "Methods: pwd mfa otp.")

	// Second launch the same day: no terms, no MFA.
	b.visit(homePath)
	b.follow("Grant Reporting")
	b.find(heading(1, "Welcome to Grant Reporting"), "the application's page, directly")
	b.expectNoText("Multifactor")
	passcodes := 0
	for _, msg := range srv.Mail.Messages() {
		if strings.Contains(msg.Subject, "passcode") {
			passcodes++
		}
	}
	if passcodes != 1 {
		t.Errorf("%d passcodes sent, want 1", passcodes)
	}

	// An application administrator revokes: the link is gone.
	srv.milogin(t, "access", "revoke", "--portal", "thirdparty", "--app", "grant-reporting", "--user-id", "smithj0001")
	b.visit(homePath)
	b.expectNoText("Grant Reporting")
}

// TestAccessDeniedAndOpenEnrolment: a provisioned application the person has
// no grant for ends on "Access Denied" naming whom to contact; an open
// application (as the CARS e-Services guide shows) enrols them on the spot
// after they agree to its terms. Both pages work without JavaScript.
func TestAccessDeniedAndOpenEnrolment(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	osmis := srv.addApp(t, "osmis", "One-Stop Management Information System (OSMIS)", "--category", "Administration",
		"--approval", "provisioned", "--mfa", "daily", "--contact", "the MWA Administrator")
	terms := filepath.Join(t.TempDir(), "terms.txt")
	os.WriteFile(terms, []byte("I Agree to the Access Terms & Conditions.\n"), 0o600)
	cars := srv.addApp(t, "cars", "CARS e-Services", "--category", "Business Services", "--approval", "open",
		"--mfa", "none", "--terms-file", terms)

	b := newBrowser(t, srv, withoutJavaScript())
	b.signIn("smithj0001", demoPassword)
	b.expectHome("John Smith")

	b.visitURL(osmis.URL + "/login")
	b.find(heading(1, "Access Denied"), "h1 Access Denied")
	b.expectText("You do not have access to One-Stop Management Information System (OSMIS).",
		"Contact the MWA Administrator for access denied errors.")
	b.follow("HOME")
	b.expectHome("John Smith")

	b.visitURL(cars.URL + "/login")
	b.find(heading(1, "Terms & Conditions"), "the Terms & Conditions dialog")
	b.expectText("CARS e-Services", "I Agree to the Access Terms & Conditions.")
	b.press("Acknowledge/Agree")
	b.find(heading(1, "Welcome to CARS e-Services"), "the application's page")
	b.expectText("Methods: pwd.")
	b.visit(homePath)
	b.find(heading(2, "Business Services"), "category heading Business Services")
	b.link("CARS e-Services")
}

// TestSecondFactorPages: the authenticator-app and passkey pages of
// Security Options (checked by axe like every page), the QR code with its
// text alternative and the key to type.
func TestSecondFactorPages(t *testing.T) {
	t.Parallel()
	// Named by its IP address, which WebAuthn does not accept as a relying
	// party ID: passkeys are off, and no page may link to them.
	port := freePort(t)
	srv := startServer(t, "--addr", "127.0.0.1:"+port, "--base-url", "http://127.0.0.1:"+port)
	b := newBrowser(t, srv)
	b.signIn("smithj0001", demoPassword)
	b.expectHome("John Smith")
	b.follow("authenticator app")
	b.find(heading(1, "Authenticator App"), "h1 Authenticator App")
	b.press("SET UP AUTHENTICATOR APP")
	b.expect(`//img[starts-with(@src, 'data:image/png;base64,')][contains(@alt, 'QR code')]`, "the QR code with a text alternative")
	b.expect(`//code[@class='secret']`, "the key to type")
	b.field("Enter Current Password", "current_password")
	b.field("Code from the app", "code")
	if n := b.count(`//a[contains(@href, '/security-options/passkeys')]`); n != 0 {
		t.Errorf("the authenticator page links to passkeys, which are off (%d links)", n)
	}
	for _, path := range []string{homePath, "/thirdparty/security-options"} {
		b.visit(path)
		if n := b.count(`//a[contains(@href, '/security-options/passkeys')]`); n != 0 {
			t.Errorf("%s links to passkeys, which are off (%d links)", path, n)
		}
	}
	// Asked for by address, the page says they are off.
	b.visit("/thirdparty/security-options/passkeys")
	b.find(heading(1, "Passkeys"), "h1 Passkeys")
	b.expectText("Passkeys are not offered by this MILogin service.")
}

// TestQuickStartOffersPasskeys: started as the quick start says (no
// --base-url, a loopback address), the server is named localhost, so
// passkeys are on and the home page links to them.
func TestQuickStartOffersPasskeys(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	if !strings.HasPrefix(srv.URL, "http://localhost:") {
		t.Errorf("the server names itself %s, want http://localhost:PORT", srv.URL)
	}
	b := newBrowser(t, srv)
	b.signIn("smithj0001", demoPassword)
	b.expectHome("John Smith")
	b.follow("passkey")
	b.find(heading(1, "Passkeys"), "h1 Passkeys")
	b.expectNoText("Passkeys are not offered by this MILogin service.")
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	return freePorts(t, 1)[0]
}

// freePorts returns n different free ports: each listener stays open until
// all are picked, so that the system cannot hand the same port out twice
// (two programs of one demo were once given one port and one failed).
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	return ports
}

// TestPasskeyJourney runs static/passkey.js in Chromium with a virtual
// authenticator (the DevTools WebAuthn domain): add a passkey in Security
// Options, then use it on the MFA page of a daily-MFA application. WebAuthn
// needs a domain, so this server is named http://localhost:PORT.
func TestPasskeyJourney(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	srv := startServer(t, "--addr", "127.0.0.1:"+port, "--base-url", "http://localhost:"+port)
	if !strings.HasPrefix(srv.URL, "http://localhost:") {
		t.Fatalf("server URL %s", srv.URL)
	}
	srv.addApp(t, "osmis", "One-Stop Management Information System (OSMIS)", "--category", "Administration",
		"--approval", "provisioned", "--mfa", "daily", "--contact", "the MWA Administrator")
	srv.milogin(t, "access", "grant", "--portal", "thirdparty", "--app", "osmis", "--user-id", "smithj0001")

	b := newBrowser(t, srv)
	ctx, cancel := b.step()
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

	b.signIn("smithj0001", demoPassword)
	b.expectHome("John Smith")
	b.follow("passkey")
	b.find(heading(1, "Passkeys"), "h1 Passkeys")
	b.expectText("You have no passkeys yet.")
	b.fill("Name (optional)", "name", "Test key")
	b.fill("Enter Current Password", "current_password", demoPassword)
	b.press("ADD PASSKEY")
	b.expectText("Your passkey was added.", "Test key")

	b.follow("HOME")
	b.follow("One-Stop Management Information System (OSMIS)")
	b.find(heading(1, "MILogin Multifactor Authentication (MFA)"), "the MFA page")
	b.press("Passkey")
	b.find(heading(1, "Welcome to One-Stop Management Information System (OSMIS)"), "the application's page")
	b.expectText("Methods: pwd mfa hwk.")
}
