package osmis_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"milogin/apps/osmis"
	"milogin/apps/osmis/internal/store"
)

func noEnv(string) string { return "" }

func TestRunRefusesBadCommandLines(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--data", data}, nil, "client secret is required"},
		{[]string{"--data", data, "--client-secret", "x", "--clock-offset", "24h"}, nil, "needs --demo"},
		{[]string{"--data", data, "--clock-offset", "24h"}, map[string]string{"OSMIS_CLIENT_SECRET": "x"}, "needs --demo"},
		{[]string{"--data", data, "--client-secret", "x", "--db", "mysql://x"}, nil, "want sqlite:PATH or postgres://"},
		{[]string{"bogus"}, nil, `unknown command "bogus"`},
		{[]string{"admin", "bootstrap", "--data", data, "--login-id", "a"}, nil, "are required"},
		{[]string{"admin", "bootstrap", "--data", data, "--login-id", "a0001", "--email", "a@gmail.com", "--mwa", "M", "--domain", "miworks.org"}, nil, "not in the MWA's domains"},
	} {
		getenv := func(k string) string { return c.env[k] }
		var out, errs bytes.Buffer
		err := osmis.Run(context.Background(), c.args, getenv, &out, &errs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Bootstrap creates the first administrator (grant queued); then Run
// serves /healthz and /readyz with the secret from a file, and the demo
// seed runs once however often OSMIS starts.
func TestBootstrapAndServe(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	var out bytes.Buffer
	err := osmis.Run(ctx, []string{"admin", "bootstrap", "--data", data, "--login-id", "parkerl0001", "--email", "lee.parker@miworks.example.org",
		"--mwa", "Capital Area Michigan Works!", "--domain", "miworks.example.org"}, noEnv, &out, &out)
	if err != nil || !strings.Contains(out.String(), "parkerl0001") {
		t.Fatalf("bootstrap: %v\n%s", err, out.String())
	}
	err = osmis.Run(ctx, []string{"admin", "bootstrap", "--data", data, "--login-id", "parkerl0001", "--email", "lee.parker@miworks.example.org",
		"--mwa", "Capital Area Michigan Works!", "--domain", "miworks.example.org"}, noEnv, &out, &out)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("second bootstrap of the same person: %v", err)
	}
	secret := filepath.Join(data, "secret")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)

	for range 2 {
		rctx, cancel := context.WithCancel(ctx)
		var so, se syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- osmis.Run(rctx, []string{"--addr", "127.0.0.1:0", "--data", data, "--client-secret-file", secret, "--demo",
				"--clock-offset", "24h", "--issuer", "http://127.0.0.1:1/thirdparty"}, noEnv, &so, &se)
		}()
		re := regexp.MustCompile(`running at (http://\S+)/ `)
		var base string
		for deadline := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if m := re.FindStringSubmatch(so.String()); m != nil {
				base = m[1]
			}
		}
		if base == "" {
			cancel()
			t.Fatalf("not started: %s\n%s", so.String(), se.String())
		}
		for _, p := range []string{"/healthz", "/readyz", "/", "/static/osmis.css"} {
			res, err := http.Get(base + p)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %v %v", p, err, res)
			} else {
				res.Body.Close()
			}
		}
		// MILogin is unreachable: the sign-in start says so (no panic, no hang).
		res, err := http.Get(base + "/login")
		if err != nil || res.StatusCode != http.StatusBadGateway {
			t.Errorf("/login with MILogin down: %v %v", err, res)
		} else {
			res.Body.Close()
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v\n%s", err, se.String())
		}
	}
	db, err := store.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := db.MWAByName(ctx, osmis.DemoMWA)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountParticipants(ctx, m.ID); n != 3000 {
		t.Errorf("%d participants after two demo starts, want 3000", n)
	}
	staff, total, _ := db.ListStaff(ctx, store.StaffFilter{PageSize: 10})
	// parkerl0001 came from bootstrap; the demo added only nguyent0001.
	if total != 2 || staff[0].LoginID != "parkerl0001" || staff[1].LoginID != "nguyent0001" { // by last name: Administrator, Nguyen
		t.Errorf("%d staff accounts, want nguyent0001 and parkerl0001", total)
	}
}
