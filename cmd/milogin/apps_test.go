package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"milogin"
)

// cli runs one subcommand in-process and returns its output.
func cli(t *testing.T, data string, args ...string) (string, error) {
	t.Helper()
	var out, errs bytes.Buffer
	err := run(context.Background(), append(append([]string{"milogin"}, args...), "--data", data), noEnv, strings.NewReader(""), &out, &errs)
	if err != nil && errs.Len() > 0 {
		t.Logf("stderr: %s", errs.String())
	}
	return out.String(), err
}

func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue)
}

// The stable form scripts use: --json prints client_id and client_secret;
// only the secret's argon2id hash is stored.
func TestAppsAddPrintsTheSecretOnceAndStoresItHashed(t *testing.T) {
	data := t.TempDir()
	terms := filepath.Join(data, "terms.txt")
	os.WriteFile(terms, []byte("Use OSMIS for work only.\n"), 0o600)
	out, err := cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "osmis", "--name", "OSMIS",
		"--redirect-uri", "https://osmis.example.gov/callback", "--redirect-uri", "https://osmis.example.gov/cb2",
		"--post-logout-uri", "https://osmis.example.gov/", "--backchannel-logout-uri", "https://osmis.example.gov/bcl",
		"--category", "Administration", "--approval", "provisioned", "--mfa", "daily", "--terms-file", terms, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]string
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if res["client_id"] != "osmis" || len(res["client_secret"]) != 43 || len(res) != 2 {
		t.Fatalf("output %v", res)
	}
	e, err := (&common{data: data}).open(context.Background(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	var a *milogin.Application
	e.store.Read(context.Background(), func(tx milogin.Tx) (err error) { a, err = tx.Apps().Get(context.Background(), "osmis"); return err })
	e.store.Close()
	if !strings.HasPrefix(a.Client.SecretHash, "$argon2id$") || strings.Contains(a.Client.SecretHash, res["client_secret"]) {
		t.Errorf("secret stored as %q", a.Client.SecretHash)
	}
	if a.Approval != milogin.ApprovalProvisioned || a.MFA != milogin.MFADaily || a.TermsVersion != 1 || a.TermsText != "Use OSMIS for work only." ||
		a.Category != "Administration" || len(a.Client.RedirectURIs) != 2 || a.Client.BackchannelLogoutURI != "https://osmis.example.gov/bcl" {
		t.Errorf("stored %+v", a)
	}

	// A public client gets no secret.
	out, err = cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "desktop", "--name", "Desktop tool",
		"--redirect-uri", "http://127.0.0.1:8765/callback", "--public", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != `{"client_id":"desktop"}` {
		t.Errorf("public client output %q", out)
	}

	// list never shows the hash; update rotates the secret and bumps the
	// terms version only when the text changes; remove removes.
	out, _ = cli(t, data, "apps", "list", "--json")
	if strings.Contains(out, "argon2") || !strings.Contains(out, `"id": "osmis"`) || !strings.Contains(out, `"id": "desktop"`) {
		t.Errorf("list: %s", out)
	}
	os.WriteFile(terms, []byte("Use OSMIS for work only. Version two.\n"), 0o600)
	out, err = cli(t, data, "apps", "update", "--id", "osmis", "--name", "One-Stop (OSMIS)", "--terms-file", terms, "--rotate-secret", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rot map[string]string
	json.Unmarshal([]byte(out), &rot)
	if rot["client_secret"] == "" || rot["client_secret"] == res["client_secret"] {
		t.Errorf("rotate: %q", out)
	}
	out, _ = cli(t, data, "apps", "list")
	if !strings.Contains(out, "One-Stop (OSMIS)") || !strings.Contains(out, "v2") {
		t.Errorf("list after update:\n%s", out)
	}
	if _, err := cli(t, data, "apps", "remove", "--id", "desktop"); err != nil {
		t.Fatal(err)
	}
	if out, _ := cli(t, data, "apps", "list"); strings.Contains(out, "desktop") {
		t.Errorf("removed app still listed:\n%s", out)
	}
}

func TestAppsAddRejectsBadRedirectURIs(t *testing.T) {
	data := t.TempDir()
	for _, c := range [][]string{
		{"--redirect-uri", "http://osmis.example.gov/callback"},    // http
		{"--redirect-uri", "http://127.0.0.1:8765/callback"},       // loopback http for a confidential client
		{"--redirect-uri", "https://*.example.gov/callback"},       // wildcard
		{"--redirect-uri", "https://osmis.example.gov/callback#x"}, // fragment
		{}, // none
		{"--redirect-uri", "https://osmis.example.gov/cb", "--approval", "x"}, // bad approval
		{"--redirect-uri", "https://osmis.example.gov/cb", "--mfa", "weekly"}, // bad MFA policy
		{"--redirect-uri", "https://osmis.example.gov/cb", "--post-logout-uri", "http://evil.example/"},
	} {
		args := append([]string{"apps", "add", "--portal", "thirdparty", "--id", "osmis", "--name", "OSMIS"}, c...)
		if _, err := cli(t, data, args...); !isUsage(err) {
			t.Errorf("%v: err = %v, want a usage error", c, err)
		}
	}
	if _, err := cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "Bad ID", "--name", "x", "--redirect-uri", "https://a.example/cb"); !isUsage(err) {
		t.Errorf("bad ID: %v", err)
	}
	if out, _ := cli(t, data, "apps", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("something was registered: %s", out)
	}
}

// The CLI works while a server runs on the same data folder: an
// application added and keys rotated are seen by the server.
func TestAppsAndKeysWhileServing(t *testing.T) {
	data := t.TempDir()
	base := startServe(t, data)
	out, err := cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "rp", "--name", "RP",
		"--redirect-uri", "http://127.0.0.1:9/cb", "--public", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"client_id":"rp"`) {
		t.Fatalf("add: %s", out)
	}
	q := url.Values{"response_type": {"code"}, "client_id": {"rp"}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "scope": {"openid"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/thirdparty/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/thirdparty/login?next=%2Fthirdparty%2Fcontinue%3Flogin%3D") {
		t.Fatalf("authorize on the running server: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = http.Get(base + "/thirdparty/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	json.NewDecoder(res.Body).Decode(&d)
	res.Body.Close()
	if d["issuer"] != base+"/thirdparty" {
		t.Errorf("issuer %v", d["issuer"])
	}
	out, err = cli(t, data, "keys", "rotate", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var keys []map[string]any
	if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 2 {
		t.Fatalf("rotate: %s %v", out, err)
	}
}

// --allow-insecure-redirect accepts an http loopback redirect for a
// confidential client (a relying party on the developer's machine), never a
// non-loopback http one; apps list flags the client, and an update that
// does not touch its URIs keeps it valid.
func TestAppsAddAllowInsecureRedirect(t *testing.T) {
	data := t.TempDir()
	for _, c := range [][]string{
		{"--redirect-uri", "http://osmis.example.gov/callback"},
		{"--redirect-uri", "https://osmis.example.gov/cb", "--post-logout-uri", "http://evil.example/"},
	} {
		args := append([]string{"apps", "add", "--portal", "thirdparty", "--id", "osmis", "--name", "OSMIS", "--allow-insecure-redirect"}, c...)
		if _, err := cli(t, data, args...); !isUsage(err) {
			t.Errorf("%v: err = %v, want a usage error", c, err)
		}
	}
	_, err := cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "osmis", "--name", "OSMIS",
		"--redirect-uri", "http://127.0.0.1:8081/callback", "--post-logout-uri", "http://127.0.0.1:8081/signed-out",
		"--backchannel-logout-uri", "http://127.0.0.1:8081/backchannel-logout", "--allow-insecure-redirect", "--json")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := cli(t, data, "apps", "list")
	if !strings.Contains(out, "confidential INSECURE-REDIRECT(dev only)") {
		t.Errorf("apps list does not flag the client:\n%s", out)
	}
	out, _ = cli(t, data, "apps", "list", "--json")
	if !strings.Contains(out, `"insecure_redirect": true`) {
		t.Errorf("apps list --json does not flag the client:\n%s", out)
	}
	if _, err := cli(t, data, "apps", "update", "--id", "osmis", "--category", "Administration"); err != nil {
		t.Errorf("update of another field: %v", err)
	}
	if _, err := cli(t, data, "apps", "update", "--id", "osmis", "--redirect-uri", "http://127.0.0.1:9999/callback"); !isUsage(err) {
		t.Errorf("new http redirect without the flag: err = %v, want a usage error", err)
	}
}
