package e2e

import (
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"milogin/internal/notify/smtptest"
	"milogin/internal/postgres/pgtest"
)

// visitorHeader carries the address a test client stands for to the proxy,
// which turns it into X-Forwarded-For (and drops it).
const visitorHeader = "X-Test-Visitor"

// cluster is three `milogin serve` processes on one PostgreSQL schema with
// one KEK, behind a round-robin reverse proxy.
type cluster struct {
	nodes []string // base URLs of the nodes themselves
	proxy *httptest.Server
	db    *sql.DB
	mail  *smtptest.Server
	dsn   string
	env   []string // environment of every milogin process (the KEK)
	data  string
}

// startCluster starts the proxy, then the three nodes at the same moment
// (so that their migrations race), and waits until each answers.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	if miloginBin == "" {
		t.Fatal("e2e: the milogin binary was not built")
	}
	dsn := pgtest.DSN(t)
	c := &cluster{dsn: dsn, mail: smtptest.Start(t), data: t.TempDir()}
	kek := make([]byte, 32)
	rand.Read(kek)
	c.env = append(serverEnv(), "MILOGIN_KEK="+base64.StdEncoding.EncodeToString(kek))

	var next atomic.Uint64
	targets := make([]*url.URL, 3)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(targets[next.Add(1)%uint64(len(targets))])
		pr.Out.Host = pr.In.Host // the public host, as a load balancer keeps it
		visitor := pr.In.Header.Get(visitorHeader)
		if visitor == "" {
			visitor, _, _ = net.SplitHostPort(pr.In.RemoteAddr)
		}
		pr.Out.Header.Del(visitorHeader)
		pr.Out.Header.Set("X-Forwarded-For", visitor)
	}}
	c.proxy = httptest.NewServer(rp)
	t.Cleanup(c.proxy.Close)

	ports := make([]string, 3)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().String()
		ln.Close()
	}
	procs := make([]*process, 3)
	logs := make([]*syncBuffer, 3)
	var wg sync.WaitGroup
	for i := range procs {
		logs[i] = &syncBuffer{}
		cmd := exec.Command(miloginBin, "serve", "--addr", ports[i], "--data", t.TempDir(), "--db", dsn,
			"--smtp", c.mail.URL(), "--base-url", c.proxy.URL, "--metrics-addr", "",
			// The proxy (on loopback) is the only hop whose X-Forwarded-For
			// the nodes believe.
			"--trusted-proxies", "127.0.0.1/32")
		cmd.Env = c.env
		cmd.Stdout, cmd.Stderr = logs[i], logs[i]
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		wg.Go(func() {
			p, err := startLocked(cmd)
			if err != nil {
				t.Errorf("starting node %d: %v", i, err)
				return
			}
			procs[i] = p
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for i, p := range procs {
			if p == nil {
				continue
			}
			if err := p.stop(10 * time.Second); err != nil {
				t.Errorf("stopping node %d: %v", i, err)
			}
			if t.Failed() {
				t.Logf("node %d output:\n%s", i, logs[i].String())
			}
		}
	})
	for i, p := range procs {
		if p == nil {
			t.FailNow()
		}
		u := "http://" + ports[i]
		(&server{URL: u}).waitHealthy(t, p, 30*time.Second)
		c.nodes = append(c.nodes, u)
		pu, _ := url.Parse(u)
		targets[i] = pu
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c.db = db
	return c
}

// cli runs a milogin command on the cluster's database.
func (c *cluster) cli(t *testing.T, stdin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(miloginBin, append(args, "--data", c.data, "--db", c.dsn)...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("milogin %v: %v\n%s", args, err, out)
	}
	return out
}

func (c *cluster) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := c.db.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// newJarClient is a client with a cookie jar of its own that does not follow
// redirects. Cookies ignore the port, so one jar works on the proxy and on
// every node (all on 127.0.0.1).
func newJarClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func postForm(t *testing.T, c *http.Client, u, visitor string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if visitor != "" {
		req.Header.Set(visitorHeader, visitor)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return nil, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// status is res's status code, or -1 when the request failed.
func status(res *http.Response) int {
	if res == nil {
		return -1
	}
	return res.StatusCode
}

func getStatus(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestThreeNodes runs three nodes on one PostgreSQL with one KEK behind a
// round-robin proxy and checks what must hold across nodes: migrations ran
// once though all started together; a session started on one node works on
// the others; a key rotation reaches every node's JWKS within a minute; the
// lockout count is exact under 60 concurrent wrong passwords spread over
// the nodes (locked at exactly 5, one lockout email); a PIN is accepted once
// under concurrent submissions; the outbox sends each email once; per-IP
// limits see the visitors (X-Forwarded-For from the trusted proxy).
func TestThreeNodes(t *testing.T) {
	c := startCluster(t)

	// Migrations: one row per version, though three nodes raced for them.
	if rows, versions := c.count(t, `SELECT COUNT(*) FROM goose_db_version`),
		c.count(t, `SELECT COUNT(DISTINCT version_id) FROM goose_db_version`); rows != versions || rows < 2 {
		t.Errorf("goose_db_version has %d rows for %d versions", rows, versions)
	}

	const pw = "Mitten!State26"
	c.cli(t, pw+"\n", "users", "add", "--portal", "thirdparty", "--user-id", "smithj0001", "--first", "John", "--last", "Smith",
		"--email", "john.smith@example.org", "--work-phone", "(517) 373-1837", "--password-stdin")
	c.cli(t, pw+"\n", "users", "add", "--portal", "thirdparty", "--user-id", "doej0001", "--first", "Jane", "--last", "Doe",
		"--email", "jane.doe@example.org", "--work-phone", "(517) 373-1838", "--password-stdin")

	// Key rotation on one node (the CLI writes the keys; the nodes cache
	// them for at most 30 s): every node's JWKS has the new keys within a
	// minute. Polled in the background while the rest runs.
	var rotated struct {
		kids []string
		err  error
		done chan struct{}
	}
	rotated.done = make(chan struct{})
	var keys []struct {
		KeyID string `json:"kid"`
	}
	if err := json.Unmarshal(c.cli(t, "", "keys", "rotate", "--json"), &keys); err != nil || len(keys) == 0 {
		t.Fatalf("keys rotate --json: %v", err)
	}
	rotatedAt := time.Now()
	go func() {
		defer close(rotated.done)
		pending := map[string]bool{}
		for _, n := range c.nodes {
			pending[n] = true
		}
		for time.Since(rotatedAt) < time.Minute {
			for n := range pending {
				res, err := http.Get(n + "/thirdparty/keys")
				if err != nil {
					continue
				}
				var jwks struct {
					Keys []struct {
						KeyID string `json:"kid"`
					} `json:"keys"`
				}
				_ = json.NewDecoder(res.Body).Decode(&jwks)
				res.Body.Close()
				have := map[string]bool{}
				for _, k := range jwks.Keys {
					have[k.KeyID] = true
				}
				all := true
				for _, k := range keys {
					all = all && have[k.KeyID]
				}
				if all {
					delete(pending, n)
				}
			}
			if len(pending) == 0 {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		rotated.err = fmt.Errorf("after a minute, %d node(s) still lack the new keys", len(pending))
	}()

	// A session started on node 0 opens the home page on nodes 1 and 2.
	john := newJarClient()
	if res, _ := postForm(t, john, c.nodes[0]+"/thirdparty/login", "", url.Values{"user_id": {"smithj0001"}, "password": {pw}}); res == nil || res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "/thirdparty/home") {
		t.Fatalf("sign-in on node 0: %d", status(res))
	}
	for i, n := range c.nodes {
		if got := getStatus(t, john, n+"/thirdparty/home"); got != http.StatusOK {
			t.Errorf("home on node %d with node 0's session: %d", i, got)
		}
	}

	// Lockout: 60 wrong passwords at once, over the three nodes, each from a
	// visitor of its own (the per-IP limit stays out of the way).
	var wg sync.WaitGroup
	var locked, wrong, other atomic.Int32
	for i := range 60 {
		wg.Go(func() {
			res, _ := postForm(t, newJarClient(), c.proxy.URL+"/thirdparty/login", fmt.Sprintf("198.51.100.%d", i+1),
				url.Values{"user_id": {"doej0001"}, "password": {"Wrong!Secret99"}})
			switch {
			case res == nil:
			case res.StatusCode == http.StatusForbidden:
				locked.Add(1)
			case res.StatusCode == http.StatusUnauthorized:
				wrong.Add(1)
			default:
				other.Add(1)
			}
		})
	}
	wg.Wait()
	var failed int
	if err := c.db.QueryRowContext(t.Context(), `SELECT failed_logins FROM accounts WHERE user_id_norm = 'doej0001'`).Scan(&failed); err != nil {
		t.Fatal(err)
	}
	// Exact under concurrency since the failure is reserved under the
	// account's row lock before the hash (the lockout-race fix of
	// sec-authn): four attempts are told "wrong password", the fifth locks,
	// every later one is answered locked.
	if failed != 5 || wrong.Load() != 4 || locked.Load() != 56 || other.Load() != 0 {
		t.Errorf("60 concurrent wrong passwords: failed_logins %d (want exactly 5); answers: %d wrong password (want 4), %d locked (want 56), %d other",
			failed, wrong.Load(), locked.Load(), other.Load())
	}
	if n := c.count(t, `SELECT COUNT(*) FROM outbox WHERE to_addr = 'jane.doe@example.org' AND subject = $1`, lockoutSubject); n != 1 {
		t.Errorf("%d lockout emails queued; want exactly 1", n)
	}

	// A PIN accepted once: John changes his email; the PIN is submitted 12
	// times at once over the nodes, with his cookies.
	const newEmail = "john.smith@miworks.example.org"
	res, body := postForm(t, john, c.proxy.URL+"/thirdparty/update-profile", "", url.Values{
		"first_name": {"John"}, "last_name": {"Smith"}, "email": {newEmail}, "confirm_email": {newEmail},
		"work_phone": {"(517) 373-1837"}, "current_password": {pw}})
	if res == nil || res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "/update-profile/verify") {
		t.Fatalf("profile change: %d\n%s", status(res), body)
	}
	pin := mailedPIN(t, &server{Mail: c.mail}, newEmail, "Your MILogin PIN to confirm your new email address", 0)
	var accepted atomic.Int32
	answers := map[string]int{}
	var mu sync.Mutex
	for range 12 {
		wg.Go(func() {
			res, _ := postForm(t, john, c.proxy.URL+"/thirdparty/update-profile/verify", "", url.Values{"pin": {pin}})
			if res == nil {
				return
			}
			loc := res.Header.Get("Location")
			if res.StatusCode == http.StatusSeeOther && strings.HasSuffix(loc, "/update-profile?m=profile-updated") {
				accepted.Add(1)
			}
			mu.Lock()
			answers[fmt.Sprint(res.StatusCode, " ", loc)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if n := accepted.Load(); n != 1 {
		t.Errorf("the PIN was accepted %d times; want once (answers %v)", n, answers)
	}
	// The change itself is confirmed to the old address once.
	waitMail(t, &server{Mail: c.mail}, "john.smith@example.org", "Regarding your MILogin user account", "has been changed to", 0)
	if n := c.count(t, `SELECT COUNT(*) FROM accounts WHERE email_norm = $1`, newEmail); n != 1 {
		t.Errorf("%d accounts have the new email; want 1", n)
	}

	// The outbox sends each email once: once every message is sent, the
	// mail server has received exactly as many as were queued, none twice.
	deadline := time.Now().Add(30 * time.Second)
	for c.count(t, `SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND sent_at = 0 AND failed_at = 0`) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the outbox did not drain in 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // a duplicate delivery would arrive meanwhile
	queued := c.count(t, `SELECT COUNT(*) FROM outbox WHERE channel = 'email'`)
	got := c.mail.Messages()
	seen := map[string]int{}
	for _, m := range got {
		seen[strings.Join(m.To, ",")+"|"+m.Subject+"|"+m.Text]++
	}
	if len(got) != queued {
		t.Errorf("%d emails received for %d queued", len(got), queued)
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("received %d times: %.80q", n, k)
		}
	}

	<-rotated.done
	if rotated.err != nil {
		t.Error(rotated.err)
	} else {
		t.Logf("every node served the rotated keys %v after the rotation", time.Since(rotatedAt).Round(time.Second))
	}

	// Per-IP limits count the visitors behind the proxy, not the proxy:
	// 50 failures from one visitor (spread over the nodes) block that
	// visitor, while another visitor through the same proxy is still heard.
	// Each attempt names another unknown user ID: unknown IDs lock like
	// real ones, and the address limit is what is under test.
	const attacker, bystander = "203.0.113.7", "203.0.113.8"
	for i := range 50 {
		wg.Go(func() {
			postForm(t, newJarClient(), c.proxy.URL+"/thirdparty/login", attacker,
				url.Values{"user_id": {fmt.Sprintf("nosuch%04d", i)}, "password": {"Wrong!Secret99"}})
		})
	}
	wg.Wait()
	if res, body := postForm(t, newJarClient(), c.proxy.URL+"/thirdparty/login", attacker,
		url.Values{"user_id": {"nosuch0050"}, "password": {"Wrong!Secret99"}}); res == nil || res.StatusCode != http.StatusTooManyRequests ||
		!strings.Contains(body, "Too many failed sign-in attempts from your network") {
		t.Errorf("the 51st failure from one visitor: %v; want 429 and the per-network message", status(res))
	}
	if res, _ := postForm(t, newJarClient(), c.proxy.URL+"/thirdparty/login", bystander,
		url.Values{"user_id": {"nosuch0051"}, "password": {"Wrong!Secret99"}}); res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("another visitor behind the same proxy: %v; want 401 (not limited)", status(res))
	}
}
