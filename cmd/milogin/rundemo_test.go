package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runDemoOnce runs `milogin demo` in-process on free ports in data until
// both programs answer /healthz, checks them, stops it, and returns what it
// printed.
func runDemoOnce(t *testing.T, data string, check func(milogin, osmis string)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"milogin", "demo", "--addr", "127.0.0.1:0", "--osmis-addr", "127.0.0.1:0", "--data", data},
			noEnv, strings.NewReader(""), &out, &errs)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "MILogin demo is ready.") {
		select {
		case err := <-done:
			t.Fatalf("demo exited early: %v\n%s\n%s", err, out.String(), errs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo not ready within 60s:\n%s\n%s", out.String(), errs.String())
		}
	}
	m := regexp.MustCompile(`MILogin for Third Party\s+(http://[^/\s]+)`).FindStringSubmatch(out.String())
	o := regexp.MustCompile(`OSMIS\s+(http://[^/\s]+)/`).FindStringSubmatch(out.String())
	if m == nil || o == nil {
		t.Fatalf("demo printed no URLs:\n%s", out.String())
	}
	for _, u := range []string{m[1] + "/healthz", o[1] + "/healthz", o[1] + "/readyz", m[1] + "/dev/mailbox"} {
		res, err := http.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", u, res.StatusCode)
		}
	}
	check(m[1], o[1])
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo returned %v\n%s", err, errs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo did not shut down")
	}
	return out.String()
}

// TestDemoStartsBothPrograms: `milogin demo` starts MILogin and OSMIS, both
// answer /healthz, it prints the URLs and the demo accounts, OSMIS is
// registered as the issue asks, and a restart on the same folder keeps the
// client secret and the data.
func TestDemoStartsBothPrograms(t *testing.T) {
	data := t.TempDir()
	out := runDemoOnce(t, data, func(milogin, osmis string) {
		// OSMIS's sign-in start goes to MILogin with PKCE S256.
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Get(osmis + "/login")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc := res.Header.Get("Location")
		if !strings.HasPrefix(loc, milogin+"/thirdparty/authorize?") || !strings.Contains(loc, "code_challenge_method=S256") ||
			!strings.Contains(loc, "nonce=") || !strings.Contains(loc, "state=") {
			t.Errorf("OSMIS /login redirects to %q", loc)
		}
	})
	for _, want := range []string{"parkerl0001", "Lee Parker", "nguyent0001", "Tran Nguyen", demoPassword, "/dev/mailbox", "OSMIS"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	secret, err := os.ReadFile(filepath.Join(data, "osmis", "client-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(data, "osmis", "client-secret")); fi.Mode().Perm() != 0o600 {
		t.Errorf("client-secret mode %v, want 0600", fi.Mode().Perm())
	}

	listApps := func() []appSummary {
		var buf syncBuffer
		if err := run(context.Background(), []string{"milogin", "apps", "list", "--json", "--data", filepath.Join(data, "milogin")},
			noEnv, strings.NewReader(""), &buf, &buf); err != nil {
			t.Fatal(err)
		}
		var all, apps []appSummary
		if err := json.Unmarshal([]byte(buf.String()), &all); err != nil {
			t.Fatalf("%v\n%s", err, buf.String())
		}
		// The relying parties the demo runs; the citizen portal's launch
		// links (demo_citizen.go) are not among them.
		for _, a := range all {
			if a.ClientID != "" {
				apps = append(apps, a)
			}
		}
		return apps
	}
	apps := listApps()
	if len(apps) != 1 {
		t.Fatalf("apps = %+v", apps)
	}
	a := apps[0]
	if a.ID != "osmis" || a.Name != "One-Stop Management Information System (OSMIS)" || a.Category != "Administration" ||
		a.Approval != "provisioned" || a.MFA != "daily" || a.TermsVersion != 1 || !a.InsecureRedirect || a.Public ||
		!strings.HasSuffix(a.LaunchURL, "/login") || !strings.HasSuffix(a.BackchannelLogoutURI, "/backchannel-logout") ||
		len(a.PostLogoutURIs) != 1 {
		t.Errorf("OSMIS registered as %+v", a)
	}

	// Restarted on the same folder (other ports): the same secret, the
	// registration follows the new addresses, the terms stay version 1.
	var osmis2 string
	runDemoOnce(t, data, func(_, o string) { osmis2 = o })
	again, err := os.ReadFile(filepath.Join(data, "osmis", "client-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(secret) {
		t.Error("the restart issued a new client secret")
	}
	if b := listApps()[0]; b.TermsVersion != 1 || len(b.RedirectURIs) != 1 || b.RedirectURIs[0] != osmis2+"/callback" {
		t.Errorf("after restart: %+v", b)
	}
}

// The development clock is refused outside demo mode.
func TestClockOffsetNeedsDemo(t *testing.T) {
	var out, errs syncBuffer
	err := run(context.Background(), []string{"milogin", "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--clock-offset", "24h"},
		noEnv, strings.NewReader(""), &out, &errs)
	if !isUsage(err) || !strings.Contains(err.Error(), "needs --demo") {
		t.Errorf("serve --clock-offset without --demo: %v", err)
	}
}
