package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
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

func noEnv(string) string { return "" }

// startServe runs `milogin serve` in-process on a free port and returns its
// base URL; the server stops when the test ends.
func startServe(t testing.TB, data string, args ...string) string {
	t.Helper()
	base, _ := startServeOut(t, data, args...)
	return base
}

// startServeOut is startServe that also returns the server's standard
// output. The operations listener gets a free port (a later
// --metrics-addr in args wins).
func startServeOut(t testing.TB, data string, args ...string) (string, *syncBuffer) {
	t.Helper()
	args = append([]string{"--metrics-addr", "127.0.0.1:0"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"milogin", "serve", "--addr", "127.0.0.1:0", "--data", data}, args...), noEnv, strings.NewReader(""), &out, &errs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	re := regexp.MustCompile(`running at (http://[^/\s]+)`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base := m[1]
			for time.Now().Before(deadline) {
				res, err := http.Get(base + "/healthz")
				if err == nil {
					res.Body.Close()
					if res.StatusCode == http.StatusOK {
						return base, &out
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, errs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start:\n%s\n%s", out.String(), errs.String())
	return "", nil
}

func TestServeHealthAndShutdown(t *testing.T) {
	base := startServe(t, t.TempDir(), "--demo")
	for _, path := range []string{"/healthz", "/readyz", "/thirdparty/login", "/dev/mailbox"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, res.StatusCode)
		}
	}
}

func TestUsersAdd(t *testing.T) {
	data := t.TempDir()
	// The command works while a server runs on the same database.
	base := startServe(t, data)
	cases := []struct {
		name     string
		args     []string
		stdin    string
		wantErr  bool
		wantText []string
	}{
		{"created", []string{"--user-id", "smithj0002", "--first", "John", "--last", "Smith", "--email", "js2@example.org"},
			"Lake#Huron1987\n", false, []string{"created thirdparty account smithj0002"}},
		{"every failed rule is printed", []string{"--user-id", "john", "--first", "John", "--last", "Smith", "--email", "not-an-email"},
			"abc\n", true, []string{"user_id:", "email:", "at least 8 characters", "3 of the following categories"}},
		{"duplicate email", []string{"--user-id", "doej0002", "--first", "Jane", "--last", "Doe", "--email", "JS2@example.org"},
			"Lake#Huron1987\n", true, []string{"already used by another MILogin account"}},
		{"password only from stdin", []string{"--user-id", "doej0003", "--first", "Jane", "--last", "Doe", "--email", "jd3@example.org"},
			"", true, []string{"--password-stdin is required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"milogin", "users", "add", "--data", data, "--portal", "thirdparty"}, c.args...)
			if c.name != "password only from stdin" {
				args = append(args, "--password-stdin")
			}
			var out, errs bytes.Buffer
			err := run(context.Background(), args, noEnv, strings.NewReader(c.stdin), &out, &errs)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v\nstderr: %s", err, c.wantErr, errs.String())
			}
			all := out.String() + errs.String()
			if err != nil {
				all += err.Error()
			}
			for _, w := range c.wantText {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
	// The new account signs in on the running server.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(base+"/thirdparty/login", map[string][]string{"user_id": {"smithj0002"}, "password": {"Lake#Huron1987"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/thirdparty/home" {
		t.Errorf("sign-in of the CLI-created account: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"milogin"}, {"milogin", "nope"}, {"milogin", "serve", "--bogus"}, {"milogin", "serve", "--db", "mysql://x"}} {
		var out, errs bytes.Buffer
		err := run(context.Background(), args, noEnv, strings.NewReader(""), &out, &errs)
		if _, ok := err.(usageError); !ok {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	data := t.TempDir()
	env := func(k string) string {
		if k == "MILOGIN_DATA" {
			return data
		}
		return ""
	}
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"milogin", "users", "add", "--user-id", "smithj0003", "--first", "John", "--last", "Smith", "--email", "j3@example.org", "--password-stdin"},
		env, strings.NewReader("Lake#Huron1987\n"), &out, &errs)
	if err != nil {
		t.Fatalf("%v: %s", err, errs.String())
	}
	err = run(context.Background(), []string{"milogin", "users", "add", "--data", data, "--user-id", "smithj0004", "--first", "John", "--last", "Smith", "--email", "j3@example.org", "--password-stdin"},
		noEnv, strings.NewReader("Lake#Huron1987\n"), &out, &errs)
	if err == nil {
		t.Error("MILOGIN_DATA was not used: the duplicate email went unnoticed")
	}
}
