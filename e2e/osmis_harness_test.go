package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"milogin/internal/notify/smtptest"
)

// demo is one running `milogin demo` process: MILogin and OSMIS wired
// together, each on its own port, in one data folder.
type demo struct {
	*server           // MILogin: URL, Mail, Data (= data/milogin)
	OSMIS      string // OSMIS's base URL
	CARS       string // CARS e-Services's base URL
	Root       string // the demo's --data folder
	proc       *process
	args       []string
	mAddr, oAd string
	cAd        string
}

// startDemo runs `milogin demo` on fresh ports (or the ports of restart)
// with a fresh data folder and an in-process SMTP server.
func startDemo(t *testing.T, extra ...string) *demo {
	t.Helper()
	ports := freePorts(t, 3)
	d := &demo{Root: t.TempDir(), mAddr: "127.0.0.1:" + ports[0], oAd: "127.0.0.1:" + ports[1], cAd: "127.0.0.1:" + ports[2]}
	// The demo names a loopback MILogin localhost (WebAuthn refuses an IP
	// address), and the browser must use the name the applications trust.
	d.server = &server{URL: "http://localhost" + strings.TrimPrefix(d.mAddr, "127.0.0.1"), Mail: smtptest.Start(t), Data: filepath.Join(d.Root, "milogin"), logs: &syncBuffer{}}
	d.OSMIS = "http://" + d.oAd
	d.CARS = "http://" + d.cAd
	d.start(t, extra...)
	t.Cleanup(func() {
		if d.proc != nil {
			if err := d.proc.stop(10 * time.Second); err != nil {
				t.Errorf("stopping milogin demo: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("milogin demo output:\n%s", d.logs.String())
		}
	})
	return d
}

// start starts the process on d's folder and ports and waits until it
// prints that the demo is ready.
func (d *demo) start(t *testing.T, extra ...string) {
	t.Helper()
	d.args = append([]string{"demo", "--addr", d.mAddr, "--osmis-addr", d.oAd, "--cars-addr", d.cAd, "--data", d.Root,
		"--smtp", d.Mail.URL(), "--log-level", "info"}, extra...)
	cmd := exec.Command(miloginBin, d.args...)
	cmd.Dir = d.Root
	cmd.Env = osmisEnv()
	cmd.Stderr = d.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := startLocked(cmd)
	if err != nil {
		t.Fatalf("starting milogin demo: %v", err)
	}
	d.proc = proc
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			fmt.Fprintf(d.logs, "stdout: %s\n", sc.Text())
			if !found && strings.Contains(sc.Text(), "MILogin demo is ready.") {
				found = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-proc.done:
		t.Fatalf("milogin demo exited before it was ready: %v\n%s", proc.err, d.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("milogin demo was not ready within 60s\n%s", d.logs.String())
	}
	for _, u := range []string{d.URL, d.OSMIS, d.CARS} {
		if code := httpStatus(t, u+"/healthz"); code != http.StatusOK {
			t.Fatalf("GET %s/healthz: %d", u, code)
		}
	}
}

// restart stops the demo and starts it again on the same folder and ports.
func (d *demo) restart(t *testing.T, extra ...string) {
	t.Helper()
	if err := d.proc.stop(10 * time.Second); err != nil {
		t.Fatalf("stopping milogin demo: %v", err)
	}
	d.proc = nil
	d.start(t, extra...)
}

// osmisEnv is serverEnv without OSMIS_* variables either.
func osmisEnv() []string {
	var env []string
	for _, kv := range serverEnv() {
		if !strings.HasPrefix(kv, "OSMIS_") {
			env = append(env, kv)
		}
	}
	return env
}

func httpStatus(t *testing.T, u string) int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// addMILoginUser creates a MILogin for Third Party account with the demo
// password, as `milogin users add` does for an operator.
func (s *server) addMILoginUser(t *testing.T, userID, first, last, email string) {
	t.Helper()
	cmd := exec.Command(miloginBin, "users", "add", "--portal", "thirdparty", "--user-id", userID, "--first", first, "--last", last,
		"--email", email, "--password-stdin", "--data", s.Data)
	cmd.Env = serverEnv()
	cmd.Stdin = strings.NewReader(demoPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("milogin users add %s: %v\n%s", userID, err, out)
	}
}

// mailFor matches an email to address whose subject contains subject.
// passcode waits for the n-th MFA passcode email to address (from 1).
func passcodeFor(t *testing.T, mail *smtptest.Server, address string, n int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var got []smtptest.Message
		for _, m := range mail.Messages() {
			if mailFor(address, "Multifactor Authentication (MFA) passcode", "")(m) {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			code := passcodeRE.FindString(got[n-1].Text)
			if code == "" {
				t.Fatalf("no passcode in:\n%s", got[n-1].Text)
			}
			return code
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("passcode email %d to %s did not arrive", n, address)
	return ""
}

func countMail(mail *smtptest.Server, match func(smtptest.Message) bool) int {
	n := 0
	for _, m := range mail.Messages() {
		if match(m) {
			n++
		}
	}
	return n
}

// osmisLink is the link text of OSMIS on the MILogin home page.
const osmisLink = "One-Stop Management Information System (OSMIS)"

// launchOSMIS signs in to MILogin, checks the home page lists OSMIS under
// Administration, and follows the link.
func (b *browser) launchOSMIS(userID, name string) {
	b.t.Helper()
	b.signIn(userID, demoPassword)
	b.expectHome(name)
	b.find(heading(2, "Administration"), "category heading Administration")
	b.follow(osmisLink)
}

// passMFA answers the first-launch terms (when asked) and the emailed
// passcode (the n-th to address).
func (b *browser) passTermsAndMFA(mail *smtptest.Server, address string, n int, terms bool) {
	b.t.Helper()
	if terms {
		b.find(heading(1, "Terms & Conditions"), "the Terms & Conditions dialog")
		b.expectText(osmisLink, "Michigan Works Association staff (non-SOM staff), Workforce development Agency (SOM staff) - requires subscription approval model")
		b.press("Acknowledge/Agree")
	}
	b.find(heading(1, "MILogin Multifactor Authentication (MFA)"), "the MFA page")
	b.press("Email")
	b.fill("Passcode", "passcode", passcodeFor(b.t, mail, address, n))
	b.press("Submit")
}

// expectDashboard checks the OSMIS Dashboard of a signed-in staff member.
func (b *browser) expectDashboard(name string) {
	b.t.Helper()
	b.find(heading(1, "OSMIS Dashboard"), "the OSMIS Dashboard")
	b.expectText("Signed in as " + name)
}

// waitAccess polls `milogin access list` until userID's OSMIS access has
// the status (the provisioning outbox delivers asynchronously).
func (s *server) waitAccess(t *testing.T, userID, status string) {
	t.Helper()
	// The outbox backs off up to 16 s between tries within the first half-minute.
	deadline := time.Now().Add(45 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		out = s.milogin(t, "access", "list", "--app", "osmis")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == userID && strings.Contains(line, " "+status+" ") {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s's OSMIS access did not become %s:\n%s", userID, status, out)
}
