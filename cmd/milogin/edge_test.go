package main

import (
	"fmt"
	"net/http"
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
