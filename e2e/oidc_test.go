package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// relyingParty is the web side of the test's application: the pages the
// browser returns to (accessible, as every page of a journey is checked)
// and the back-channel logout endpoint.
type relyingParty struct {
	*httptest.Server
	logouts chan string
}

func startRelyingParty(t *testing.T) *relyingParty {
	t.Helper()
	rp := &relyingParty{logouts: make(chan string, 4)}
	page := func(title string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>%[1]s</title></head>`+
				`<body><main><h1>%[1]s</h1><p>The relying party of the end-to-end test.</p></main></body></html>`, title)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", page("Signed in to the test application"))
	mux.HandleFunc("GET /bye", page("Signed out of the test application"))
	mux.HandleFunc("POST /backchannel", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("logout_token") == "" {
			http.Error(w, "logout_token missing", http.StatusBadRequest)
			return
		}
		rp.logouts <- r.PostForm.Get("logout_token")
	})
	rp.Server = httptest.NewServer(mux)
	t.Cleanup(rp.Close)
	return rp
}

// nodeRP runs e2e/oidc/rp.mjs (openid-client) and talks JSON lines to it.
type nodeRP struct {
	t     *testing.T
	in    io.WriteCloser
	lines *bufio.Scanner
	logs  *syncBuffer
}

func startNodeRP(t *testing.T, args ...string) *nodeRP {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed (apt-get install nodejs)")
	}
	if _, err := os.Stat(filepath.Join(moduleDir, "e2e", "node_modules", "openid-client", "package.json")); err != nil {
		skipOrFail(t, "openid-client is not installed: %v (run npm ci in e2e/)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), journeyTimeout)
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(moduleDir, "e2e", "oidc", "rp.mjs")}, args...)...)
	cmd.Dir = filepath.Join(moduleDir, "e2e")
	logs := &syncBuffer{}
	cmd.Stderr = logs
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
		cancel()
		if t.Failed() && logs.String() != "" {
			t.Logf("rp.mjs stderr:\n%s", logs.String())
		}
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	return &nodeRP{t: t, in: in, lines: sc, logs: logs}
}

// read decodes the script's next line into v, failing on {"error": …}.
func (n *nodeRP) read(v any) {
	n.t.Helper()
	if !n.lines.Scan() {
		n.t.Fatalf("rp.mjs ended without output: %v\n%s", n.lines.Err(), n.logs.String())
	}
	line := n.lines.Bytes()
	var e struct {
		Error string `json:"error"`
		Cause string `json:"cause"`
	}
	if json.Unmarshal(line, &e) == nil && e.Error != "" {
		n.t.Fatalf("openid-client refused: %s\ncause: %s", e.Error, e.Cause)
	}
	if err := json.Unmarshal(line, v); err != nil {
		n.t.Fatalf("rp.mjs printed %q: %v", line, err)
	}
}

// TestOpenIDClientRelyingParty registers an application with `milogin apps
// add --json` and runs openid-client (a certified relying party) through
// the sign-in in Chromium: discovery, authorization URL with PKCE, the
// sign-in page, the code exchange with ID token validation, userinfo,
// refresh, and RP-initiated logout with the back-channel logout token.
func TestOpenIDClientRelyingParty(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	rp := startRelyingParty(t)
	redirect, bye := rp.URL+"/callback", rp.URL+"/bye"

	add := exec.Command(miloginBin, "apps", "add", "--data", srv.Data, "--portal", "thirdparty", "--id", "e2e-rp",
		"--name", "End-to-end relying party", "--category", "Testing",
		"--redirect-uri", redirect, "--post-logout-uri", bye, "--backchannel-logout-uri", rp.URL+"/backchannel",
		"--public", "--json")
	add.Env = serverEnv()
	out, err := add.Output()
	if err != nil {
		t.Fatalf("milogin apps add: %v\n%s", err, out)
	}
	var reg map[string]string
	if err := json.Unmarshal(out, &reg); err != nil || reg["client_id"] != "e2e-rp" {
		t.Fatalf("apps add printed %q (%v)", out, err)
	}
	if _, ok := reg["client_secret"]; ok {
		t.Errorf("a public client got a secret: %q", out)
	}

	issuer := srv.URL + "/thirdparty"
	node := startNodeRP(t, issuer, "e2e-rp", redirect, bye)
	var start struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	node.read(&start)
	if !strings.HasPrefix(start.AuthorizationURL, issuer+"/authorize?") || !strings.Contains(start.AuthorizationURL, "code_challenge_method=S256") {
		t.Fatalf("authorization URL %q", start.AuthorizationURL)
	}

	b := newBrowser(t, srv)
	b.visit(strings.TrimPrefix(start.AuthorizationURL, srv.URL))
	if p := b.path(); p != loginPath {
		t.Fatalf("the authorization request led to %s, want the sign-in page", p)
	}
	b.fill("User ID", "user_id", "smithj0001")
	b.fill("Password", "password", demoPassword)
	b.press("LOGIN")
	back := b.location()
	if !strings.HasPrefix(back, redirect+"?") {
		t.Fatalf("after sign-in the browser is on %s, want the application's redirect URI %s", back, redirect)
	}
	b.expectText("Signed in to the test application")
	fmt.Fprintln(node.in, back)

	var res struct {
		Claims   map[string]any `json:"claims"`
		Userinfo map[string]any `json:"userinfo"`
		Scope    string         `json:"scope"`
		Refresh  struct {
			Claims         map[string]any `json:"claims"`
			Rotated        bool           `json:"rotated"`
			NewAccessToken bool           `json:"new_access_token"`
		} `json:"refreshed"`
		LogoutURL   string `json:"logout_url"`
		LogoutState string `json:"logout_state"`
	}
	node.read(&res)
	c := res.Claims
	if aud := fmt.Sprint(c["aud"]); aud != "e2e-rp" && aud != "[e2e-rp]" {
		t.Errorf("aud %v", c["aud"])
	}
	if c["iss"] != issuer || c["preferred_username"] != "smithj0001" || c["sub"] == "" ||
		c["given_name"] != "John" || c["family_name"] != "Smith" || c["email"] == nil || c["acr"] != "urn:milogin:acr:pwd" {
		t.Errorf("ID token claims: %v", c)
	}
	if amr, _ := c["amr"].([]any); !slices.Contains(amr, any("pwd")) {
		t.Errorf("amr %v", c["amr"])
	}
	if at, _ := c["auth_time"].(float64); at == 0 || time.Since(time.Unix(int64(at), 0)) > 5*time.Minute {
		t.Errorf("auth_time %v", c["auth_time"])
	}
	if res.Userinfo["sub"] != c["sub"] || res.Userinfo["preferred_username"] != "smithj0001" || res.Userinfo["acr"] == nil {
		t.Errorf("userinfo %v", res.Userinfo)
	}
	if !res.Refresh.Rotated || !res.Refresh.NewAccessToken || res.Refresh.Claims["sub"] != c["sub"] {
		t.Errorf("refresh: %+v", res.Refresh)
	}

	// RP-initiated logout: back to the application, the MILogin session
	// ended, and the application told over the back channel.
	if !strings.HasPrefix(res.LogoutURL, issuer+"/end_session?") || !strings.Contains(res.LogoutURL, "id_token_hint=") {
		t.Fatalf("logout URL %q", res.LogoutURL)
	}
	b.visit(strings.TrimPrefix(res.LogoutURL, srv.URL))
	if loc := b.location(); loc != bye+"?state="+res.LogoutState {
		t.Errorf("after logout the browser is on %s", loc)
	}
	b.expectText("Signed out of the test application")
	select {
	case token := <-rp.logouts:
		if strings.Count(token, ".") != 2 {
			t.Errorf("logout token %q is not a JWT", token)
		}
	case <-time.After(20 * time.Second):
		t.Error("no back-channel logout token within 20 s")
	}
	b.visit(homePath)
	if p := b.path(); p != loginPath {
		t.Errorf("after RP-initiated logout %s shows %s, want the sign-in page", homePath, p)
	}
}
