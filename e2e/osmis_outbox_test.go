package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"milogin/internal/notify/smtptest"
)

// runProc starts bin with args (output to logs) and waits until url
// answers 200; the process is stopped when the test ends if still running.
func runProc(t *testing.T, logs *syncBuffer, env []string, url, bin string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p, err := startLocked(cmd)
	if err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.stop(10 * time.Second)
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited: %v\n%s", filepath.Base(bin), p.err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within 30s\n%s", url, logs.String())
		}
	}
}

// TestOSMISProvisioningOutbox runs MILogin and OSMIS as two binaries, the
// way a state deployment would: OSMIS registered with `milogin apps add
// --allow-insecure-redirect` (loopback http, development), its first
// administrator from `osmis admin bootstrap`. With MILogin stopped, the
// administrator creates a staff account: the grant is shown as pending
// (with the failed attempt), survives an OSMIS restart, and lands once
// MILogin is back, which emails the person.
func TestOSMISProvisioningOutbox(t *testing.T) {
	t.Parallel()
	mail := smtptest.Start(t)
	mAddr, oAddr := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	mURL, oURL := "http://"+mAddr, "http://"+oAddr
	root := t.TempDir()
	mData, oData := filepath.Join(root, "milogin"), filepath.Join(root, "osmis")
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output:\n%s", logs.String())
		}
	})
	srv := &server{URL: mURL, Mail: mail, Data: mData, logs: logs}
	startMILogin := func() *process {
		return runProc(t, logs, serverEnv(), mURL+"/healthz", miloginBin, "serve", "--addr", mAddr, "--data", mData,
			"--base-url", mURL, "--metrics-addr", "", "--smtp", mail.URL(), "--demo")
	}
	mp := startMILogin()

	terms := filepath.Join(root, "osmis-terms.txt")
	if err := os.WriteFile(terms, []byte("Michigan Works Association staff (non-SOM staff), Workforce development Agency (SOM staff) - requires subscription approval model\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := srv.milogin(t, "apps", "add", "--terms-file", terms, "--portal", "thirdparty", "--id", "osmis", "--name", osmisLink,
		"--category", "Administration", "--approval", "provisioned", "--mfa", "daily", "--contact", "your MWA Administrator",
		"--redirect-uri", oURL+"/callback", "--post-logout-uri", oURL+"/signed-out",
		"--backchannel-logout-uri", oURL+"/backchannel-logout", "--launch-url", oURL+"/login",
		"--allow-insecure-redirect", "--json")
	var reg struct {
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &reg); err != nil || reg.ClientSecret == "" {
		t.Fatalf("apps add --json: %v\n%s", err, out)
	}
	if list := srv.milogin(t, "apps", "list"); !strings.Contains(list, "INSECURE-REDIRECT") {
		t.Errorf("apps list does not flag the insecure redirect:\n%s", list)
	}
	srv.addMILoginUser(t, "parkerl0001", "Lee", "Parker", leeEmail)
	srv.addMILoginUser(t, "riverac0001", "Casey", "Rivera", "casey.rivera@miworks.example.org")

	boot := exec.Command(osmisBin, "admin", "bootstrap", "--data", oData, "--login-id", "parkerl0001", "--email", leeEmail,
		"--mwa", "Capital Area Michigan Works!", "--domain", "miworks.example.org", "--first", "Lee", "--last", "Parker")
	boot.Env = osmisEnv()
	if b, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("osmis admin bootstrap: %v\n%s", err, b)
	}
	osmisEnvSecret := append(osmisEnv(), "OSMIS_CLIENT_SECRET="+reg.ClientSecret)
	startOSMIS := func() *process {
		return runProc(t, logs, osmisEnvSecret, oURL+"/healthz", osmisBin, "--addr", oAddr, "--data", oData,
			"--issuer", mURL+"/thirdparty", "--log-level", "info")
	}
	op := startOSMIS()
	srv.waitAccess(t, "parkerl0001", "granted")

	admin := newBrowser(t, srv)
	admin.launchOSMIS("parkerl0001", "Lee Parker")
	admin.passTermsAndMFA(mail, leeEmail, 1, true)
	admin.expectDashboard("Lee Parker")

	// MILogin goes down; OSMIS sessions are OSMIS's own and go on.
	if err := mp.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	admin.visitURL(oURL + "/admin/staff/new")
	admin.fill("First Name", "first_name", "Casey")
	admin.fill("Last Name", "last_name", "Rivera")
	admin.fill("MILogin ID", "login_id", "riverac0001")
	admin.fill("Email Address", "email", "casey.rivera@miworks.example.org")
	admin.press("Create staff account")
	admin.expectText("Staff account created.", "Grant OSMIS access", "riverac0001")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(admin.text(), "MILogin did not answer") {
		if time.Now().After(deadline) {
			t.Fatalf("the pending call shows no failed attempt:\n%s", admin.text())
		}
		time.Sleep(500 * time.Millisecond)
		admin.visitURL(oURL + "/admin")
	}

	// OSMIS killed and started again: the call is still queued.
	if err := op.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	startOSMIS()
	admin.visitURL(oURL + "/admin")
	admin.expectText("Grant OSMIS access", "riverac0001")

	startMILogin()
	srv.waitAccess(t, "riverac0001", "granted")
	mail.WaitFor(t, mailFor("casey.rivera@miworks.example.org", "Regarding your access to "+osmisLink, ""), 20*time.Second)
	admin.visitURL(oURL + "/admin")
	admin.expectText("No provisioning calls are pending")
	if n := countMail(mail, mailFor("casey.rivera@miworks.example.org", "Regarding your access to", "")); n != 1 {
		t.Errorf("%d access emails, want exactly 1", n)
	}
}
