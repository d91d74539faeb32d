package e2e

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// TestBenchSmoke runs every scenario of `milogin bench` for a second against
// a real `milogin serve` on loopback, with seeded accounts, and requires
// zero errors. It checks that the harness and the server agree, not speed.
func TestBenchSmoke(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "--allow-seeded")
	cli := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(miloginBin, args...)
		cmd.Env = serverEnv()
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("milogin %v: %v\n%s\n%s", args, err, out, stderr)
		}
		return out
	}
	cli("users", "seed", "--data", srv.Data, "--portal", "thirdparty", "--count", "40")
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	const redirect = "https://bench.example/callback"
	out := cli("apps", "add", "--data", srv.Data, "--portal", "thirdparty", "--id", "bench", "--name", "Bench",
		"--redirect-uri", redirect, "--json")
	if err := json.Unmarshal(out, &reg); err != nil || reg.ClientSecret == "" {
		t.Fatalf("apps add printed %q (%v)", out, err)
	}
	for _, sc := range []string{"signin", "flow", "session", "userinfo", "client-credentials", "jwks"} {
		out := cli("bench", "--target", srv.URL, "--scenario", sc, "--concurrency", "4", "--duration", "1s",
			"--users", "40", "--client-id", reg.ClientID, "--client-secret", reg.ClientSecret,
			"--redirect-uri", redirect, "--json")
		var res struct {
			OK         int            `json:"ok"`
			Errors     int            `json:"errors"`
			ErrorKinds map[string]int `json:"error_kinds"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%s: bench printed %q: %v", sc, out, err)
		}
		if res.OK == 0 || res.Errors != 0 {
			t.Errorf("%s: %d ok, %d errors %v", sc, res.OK, res.Errors, res.ErrorKinds)
		}
	}
	// A target off this machine is refused without --allow-remote.
	cmd := exec.Command(miloginBin, "bench", "--target", "http://192.0.2.1:8080", "--scenario", "jwks", "--duration", "1s")
	cmd.Env = serverEnv()
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("bench against a remote target ran: %s", out)
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("bench against a remote target: %v (want exit status 2)\n%s", err, out)
	}
}
