package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAppsHomePageEntry: without --launch-url an OpenID Connect application
// launches through its --initiate-login-uri; with neither, add says plainly
// that it gets no home-page entry; update and list show which it is.
func TestAppsHomePageEntry(t *testing.T) {
	data := t.TempDir()
	out, err := cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "forms", "--name", "Forms Library",
		"--redirect-uri", "https://forms.example.gov/callback")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, noHomeEntry) {
		t.Errorf("apps add without a launch target did not say it gets no home-page entry:\n%s", out)
	}

	out, err = cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "grants", "--name", "Grant Reporting",
		"--redirect-uri", "https://grants.example.gov/callback", "--initiate-login-uri", "https://grants.example.gov/oidc/initiate")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "home page:     https://grants.example.gov/oidc/initiate (iss, login_hint)") || strings.Contains(out, noHomeEntry) {
		t.Errorf("apps add --initiate-login-uri:\n%s", out)
	}
	if _, err := cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "bad", "--name", "Bad",
		"--redirect-uri", "https://bad.example.gov/callback", "--initiate-login-uri", "http://bad.example.gov/initiate"); !isUsage(err) {
		t.Errorf("a plain-http initiate_login_uri was accepted: %v", err)
	}

	out, err = cli(t, data, "apps", "update", "--id", "forms", "--initiate-login-uri", "https://forms.example.gov/initiate")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "home page:     https://forms.example.gov/initiate (iss, login_hint)") {
		t.Errorf("apps update --initiate-login-uri:\n%s", out)
	}
	if out, err = cli(t, data, "apps", "update", "--id", "forms", "--initiate-login-uri", ""); err != nil || !strings.Contains(out, noHomeEntry) {
		t.Errorf("apps update removing the initiate_login_uri: %v\n%s", err, out)
	}

	out, err = cli(t, data, "apps", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HOME PAGE", "initiate login", "none"} {
		if !strings.Contains(out, want) {
			t.Errorf("apps list lacks %q:\n%s", want, out)
		}
	}
	out, err = cli(t, data, "apps", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []appSummary
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]appSummary{}
	for _, a := range list {
		got[a.ID] = a
	}
	if g := got["grants"]; g.InitiateLoginURI != "https://grants.example.gov/oidc/initiate" || !g.HomePage {
		t.Errorf("grants in apps list --json: %+v", g)
	}
	if f := got["forms"]; f.HomePage || f.InitiateLoginURI != "" {
		t.Errorf("forms in apps list --json: %+v", f)
	}
}
