package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"milogin/internal/loadgen"
)

// TestUsersSeed seeds accounts over several transactions, then signs in as
// one: refused by a server without --allow-seeded (as if unknown), accepted
// by one with it. Seeding again skips what exists.
func TestUsersSeed(t *testing.T) {
	data := t.TempDir()
	var out, errs strings.Builder
	args := []string{"milogin", "users", "seed", "--data", data, "--portal", "thirdparty", "--count", "5003", "--prefix", "lt"}
	if err := run(t.Context(), args, noEnv, strings.NewReader(""), &out, &errs); err != nil {
		t.Fatalf("seed: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), "created 5003 seeded thirdparty accounts (lt0000000 to lt0005002)") ||
		!strings.Contains(errs.String(), "seeded 5003/5003") {
		t.Errorf("seed output:\n%s\n%s", out.String(), errs.String())
	}
	out.Reset()
	if err := run(t.Context(), args, noEnv, strings.NewReader(""), &out, &errs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "created 0 seeded") || !strings.Contains(out.String(), "5003 already existed") {
		t.Errorf("second seed: %s", out.String())
	}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func(base, userID string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/thirdparty/login", strings.NewReader(url.Values{
			"user_id": {userID}, "password": {loadgen.DefaultSeedPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := signIn(startServe(t, data), "lt0005002"); got != http.StatusUnauthorized {
		t.Errorf("seeded sign-in without --allow-seeded: %d; want 401", got)
	}
	if got := signIn(startServe(t, data, "--allow-seeded"), "LT0004000"); got != http.StatusSeeOther {
		t.Errorf("seeded sign-in with --allow-seeded: %d; want 303", got)
	}
}
