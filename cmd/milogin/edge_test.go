package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// failAPI makes one provisioning call with a Basic client ID but no secret
// (refused before any hashing) from the given X-Forwarded-For, and returns
// the status.
func failAPI(t *testing.T, base, xff string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/thirdparty/scim/v2/Users", nil)
	req.SetBasicAuth("nobody", "")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestTrustedProxiesPerClientLimit: behind a trusted proxy each client has
// its own limit of failed API authentications; without --trusted-proxies a
// client cannot escape the limit by writing X-Forwarded-For itself.
func TestTrustedProxiesPerClientLimit(t *testing.T) {
	t.Run("trusted", func(t *testing.T) {
		base := startServe(t, t.TempDir(), "--trusted-proxies", "127.0.0.0/8,::1")
		for i := range 20 {
			if got := failAPI(t, base, "203.0.113.1"); got != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d, want 401", i+1, got)
			}
		}
		if got := failAPI(t, base, "203.0.113.1"); got != http.StatusTooManyRequests {
			t.Errorf("21st failure of one client: %d, want 429", got)
		}
		if got := failAPI(t, base, "203.0.113.2"); got != http.StatusUnauthorized {
			t.Errorf("another client behind the same proxy: %d, want 401 (its own limit)", got)
		}
		// The client cannot pick its address: what it writes left of the
		// proxy's entry is ignored.
		if got := failAPI(t, base, "198.51.100.77, 203.0.113.1"); got != http.StatusTooManyRequests {
			t.Errorf("spoofed left-most entry: %d, want 429", got)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		base := startServe(t, t.TempDir())
		for i := range 20 {
			if got := failAPI(t, base, fmt.Sprintf("203.0.113.%d", i+1)); got != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d, want 401", i+1, got)
			}
		}
		if got := failAPI(t, base, "203.0.113.99"); got != http.StatusTooManyRequests {
			t.Errorf("a new spoofed X-Forwarded-For escaped the limit: %d, want 429", got)
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		err := run(t.Context(), []string{"milogin", "serve", "--data", t.TempDir(), "--trusted-proxies", "10.0.0.0/99"}, noEnv, nil, nil, nil)
		if _, ok := err.(usageError); !ok {
			t.Errorf("err = %v, want a usage error", err)
		}
	})
}

// TestMetricsListener: /metrics and the profiler answer on the operations
// listener only; the public listener answers 404 for them.
func TestMetricsListener(t *testing.T) {
	base, out := startServeOut(t, t.TempDir())
	m := regexp.MustCompile(`Metrics at (http://\S+)/metrics`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no operations listener announced:\n%s", out.String())
	}
	ops := m[1]
	get := func(u string) (int, string) {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// A public request first, so the counter has a sample.
	if code, _ := get(base + "/thirdparty/login"); code != http.StatusOK {
		t.Fatalf("login page: %d", code)
	}
	for _, p := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline", "/thirdparty/metrics"} {
		if code, _ := get(base + p); code != http.StatusNotFound {
			t.Errorf("public GET %s: %d, want 404", p, code)
		}
	}
	code, body := get(ops + "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "milogin_http_requests_total") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("operations /metrics: %d, counters missing:\n%.300s", code, body)
	}
	if code, _ := get(ops + "/debug/pprof/"); code != http.StatusOK {
		t.Errorf("operations /debug/pprof/: %d", code)
	}
	if code, _ := get(ops + "/thirdparty/login"); code != http.StatusNotFound {
		t.Errorf("operations listener serves pages: %d", code)
	}

	t.Run("disabled", func(t *testing.T) {
		_, out := startServeOut(t, t.TempDir(), "--metrics-addr", "")
		if strings.Contains(out.String(), "Metrics at") {
			t.Errorf("--metrics-addr= still listens:\n%s", out.String())
		}
	})
	t.Run("address in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var o, e bytes.Buffer
		err = run(t.Context(), []string{"milogin", "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--metrics-addr", ln.Addr().String()}, noEnv, strings.NewReader(""), &o, &e)
		if err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
			t.Errorf("err = %v, want the --metrics-addr listen error", err)
		}
	})
}
