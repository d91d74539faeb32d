package crash_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn/questiontest"
	"milogin/internal/notify/smtptest"
	"milogin/internal/postgres"
	"milogin/internal/postgres/pgtest"
	"milogin/internal/secrets"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

var bin string // the milogin binary built by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "milogin-crash-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "milogin")
	build := exec.Command("go", "build", "-o", bin, "milogin/cmd/milogin")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building milogin:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// kills is how many times each engine's server is killed: a few in the
// normal suite, MILOGIN_CRASH_KILLS for the long run.
func kills(t *testing.T) int {
	if v := os.Getenv("MILOGIN_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("MILOGIN_CRASH_KILLS=%q", v)
		}
		return n
	}
	return 4
}

func TestCrash(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		data := t.TempDir()
		run(t, data, "sqlite:"+filepath.Join(data, "milogin.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		run(t, t.TempDir(), pgtest.DSN(t))
	})
}

// harness is one engine's run: the server process and what the workers saw.
type harness struct {
	t      *testing.T
	data   string
	db     string
	kek    string
	mail   *smtptest.Server
	port   int
	base   atomic.Value // string: the current server's URL
	cmd    *exec.Cmd
	exited chan struct{}

	mu        sync.Mutex
	confirmed []string          // user IDs whose sign-up reached the Confirmation page
	changes   map[string][2]int // user ID → password changes {confirmed, outcome unknown}
	grantOps  map[string]int    // user ID → grant calls answered
	signups   atomic.Int64
	abandoned atomic.Int64
}

func run(t *testing.T, data, db string) {
	key := make([]byte, 32)
	rand.Read(key)
	h := &harness{t: t, data: data, db: db, kek: base64.StdEncoding.EncodeToString(key), mail: smtptest.Start(t),
		changes: map[string][2]int{}, grantOps: map[string]int{}}

	const pwUsers, grantUsers = 3, 3
	for i := 1; i <= pwUsers+grantUsers; i++ {
		h.cli(t, "Lake#Start1000\n", "users", "add", "--portal", "thirdparty", "--user-id", fmt.Sprintf("crashp%04d", i),
			"--first", "Pat", "--last", "Crash", "--email", fmt.Sprintf("crashp%d@example.org", i))
	}
	out := h.cli(t, "", "apps", "add", "--portal", "thirdparty", "--id", "crashapp", "--name", "Crash Test Application",
		"--redirect-uri", "https://crash.example.test/callback", "--approval", "provisioned", "--json")
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &app); err != nil || app.ClientSecret == "" {
		t.Fatalf("apps add: %v\n%s", err, out)
	}

	h.start(t)
	t.Cleanup(func() { h.stop(syscall.SIGKILL) })

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { h.signupWorker(ctx, i) })
	}
	for i := 1; i <= pwUsers; i++ {
		wg.Go(func() { h.passwordWorker(ctx, fmt.Sprintf("crashp%04d", i)) })
	}
	for i := pwUsers + 1; i <= pwUsers+grantUsers; i++ {
		wg.Go(func() { h.grantWorker(ctx, fmt.Sprintf("crashp%04d", i), app.ClientID, app.ClientSecret) })
	}

	n := kills(t)
	begin := time.Now()
	for k := range n {
		time.Sleep(randDuration(200*time.Millisecond, 1200*time.Millisecond))
		h.stop(syscall.SIGKILL)
		h.start(t)
		if testing.Verbose() && (k+1)%25 == 0 {
			t.Logf("%d kills in %s", k+1, time.Since(begin).Round(time.Second))
		}
	}
	time.Sleep(1500 * time.Millisecond) // a last stretch without kills
	stop()
	wg.Wait()

	// Let the last server deliver what is queued, then stop it politely.
	store := h.open(t)
	deadline := time.Now().Add(60 * time.Second)
	for pending(t, store) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	h.stop(syscall.SIGTERM)
	h.check(t, store, n, time.Since(begin))
}

// cli runs a milogin subcommand on the harness's database.
func (h *harness) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	args = append(args, "--data", h.data, "--db", h.db)
	if stdin != "" {
		args = append(args, "--password-stdin")
	}
	c := exec.Command(bin, args...)
	c.Env = h.env()
	c.Stdin = strings.NewReader(stdin)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("milogin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (h *harness) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MILOGIN_") {
			env = append(env, kv)
		}
	}
	return append(env, "MILOGIN_KEK="+h.kek)
}

var runningAt = regexp.MustCompile(`running at (http://[^/\s]+)`)

// start runs `milogin serve` (on the port of the previous run, so cookies
// keep working) and waits until it is ready.
func (h *harness) start(t *testing.T) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(h.port)
		c := exec.Command(bin, "serve", "--addr", addr, "--data", h.data, "--db", h.db, "--smtp", h.mail.URL(),
			"--metrics-addr", "", "--log-level", "error", "--outbox-lease", "3s")
		c.Env = h.env()
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		stdout, _ := c.StdoutPipe()
		var stderr strings.Builder
		c.Stderr = &stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		urlc := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if m := runningAt.FindStringSubmatch(sc.Text()); m != nil {
					urlc <- m[1]
				}
			}
		}()
		go func() { _ = c.Wait(); close(exited) }()
		select {
		case u := <-urlc:
			h.cmd, h.exited = c, exited
			h.base.Store(u)
			_, p, _ := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
			h.port, _ = strconv.Atoi(p)
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if res, err := http.Get(u + "/readyz"); err == nil {
					res.Body.Close()
					if res.StatusCode == http.StatusOK {
						return
					}
				}
			}
			t.Fatalf("milogin at %s never became ready", u)
		case <-exited:
			if attempt < 3 && strings.Contains(stderr.String(), "address already in use") {
				h.port = 0 // someone took our port: take another
				continue
			}
			t.Fatalf("milogin serve exited at start:\n%s", stderr.String())
		case <-time.After(60 * time.Second):
			t.Fatal("milogin serve did not start within 60s")
		}
	}
}

// stop ends the server with sig (SIGKILL: the crash) and waits for it.
func (h *harness) stop(sig syscall.Signal) {
	if h.cmd == nil {
		return
	}
	_ = h.cmd.Process.Signal(sig)
	select {
	case <-h.exited:
	case <-time.After(30 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.exited
	}
	h.cmd = nil
}

func (h *harness) url(path string) string { return h.base.Load().(string) + path }

func randDuration(lo, hi time.Duration) time.Duration {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(hi-lo)))
	return lo + time.Duration(n.Int64())
}

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post sends a form and returns the status, the Location and the body.
func post(c *http.Client, u string, form url.Values) (int, string, string, error) {
	res, err := c.PostForm(u, form)
	if err != nil {
		return 0, "", "", err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location"), string(b), nil
}

func get(c *http.Client, u string) (int, string, error) {
	res, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(b), nil
}

// pause waits a little after a failed request (the server is restarting);
// it reports false once ctx ends.
func pause(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(50 * time.Millisecond):
		return true
	}
}

var (
	vqID   = regexp.MustCompile(`name="vq_id" value="([0-9a-f]+)"`)
	vqText = regexp.MustCompile(`Verification Question: ([^<]+)</label>`)
	pinRE  = regexp.MustCompile(`\b\d{6}\b`)
)

// signupWorker creates accounts through the three sign-up pages, the PIN
// read from the email, for as long as ctx lasts. Anything that fails (the
// server was killed) abandons that sign-up and starts the next.
func (h *harness) signupWorker(ctx context.Context, w int) {
	last := "Signup" + string(rune('a'+w))
	for n := 0; ctx.Err() == nil; n++ {
		h.signups.Add(1)
		userID := fmt.Sprintf("%sa%04d", strings.ToLower(last), n%10000)
		email := fmt.Sprintf("%s.%d@example.org", strings.ToLower(last), n)
		if !h.signup(browser(), last, userID, email) {
			h.abandoned.Add(1)
			if !pause(ctx) {
				return
			}
		}
	}
}

func (h *harness) signup(c *http.Client, last, userID, email string) bool {
	_, page, err := get(c, h.url("/thirdparty/signup"))
	id, q := vqID.FindStringSubmatch(page), vqText.FindStringSubmatch(page)
	if err != nil || id == nil || q == nil {
		return false
	}
	st, loc, _, err := post(c, h.url("/thirdparty/signup"), url.Values{
		"first_name": {"Ann"}, "last_name": {last}, "email": {email}, "confirm_email": {email},
		"work_phone": {"517-555-0111"}, "agree_terms": {"on"},
		"vq_id": {id[1]}, "vq_answer": {questiontest.Solve(html.UnescapeString(q[1]))},
	})
	if err != nil || st != http.StatusSeeOther || !strings.HasSuffix(loc, "/signup/security") {
		return false
	}
	st, loc, _, err = post(c, h.url("/thirdparty/signup/security"), url.Values{
		"user_id": {userID}, "password": {"Lake#Huron1987"}, "confirm_password": {"Lake#Huron1987"},
		"opt_email": {"on"}, "action": {"create"},
	})
	if err != nil || st != http.StatusSeeOther || !strings.HasSuffix(loc, "/signup/pin") {
		return false
	}
	var pin string
	for deadline := time.Now().Add(8 * time.Second); pin == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, m := range h.mail.Messages() {
			if len(m.To) == 1 && m.To[0] == email {
				pin = pinRE.FindString(m.Text)
			}
		}
	}
	if pin == "" {
		return false
	}
	st, loc, _, err = post(c, h.url("/thirdparty/signup/pin"), url.Values{"pin": {pin}})
	if err != nil || st != http.StatusSeeOther || !strings.HasSuffix(loc, "/signup/done") {
		return false
	}
	h.mu.Lock()
	h.confirmed = append(h.confirmed, userID)
	h.mu.Unlock()
	return true
}

// passwordWorker signs in as userID and changes the password again and
// again. A change whose answer was lost in a kill may or may not have been
// made: both passwords stay candidates, and the count of such changes
// bounds the audit check.
func (h *harness) passwordWorker(ctx context.Context, userID string) {
	c := browser()
	candidates := []string{"Lake#Start1000"}
	signedIn := false
	for n := 1; ctx.Err() == nil; {
		if !signedIn {
			for _, pw := range candidates {
				st, loc, _, err := post(c, h.url("/thirdparty/login"), url.Values{"user_id": {userID}, "password": {pw}})
				if err == nil && st == http.StatusSeeOther && strings.Contains(loc, "active-session") {
					st, loc, _, err = post(c, h.url("/thirdparty/login/active-session"), url.Values{"choice": {"continue"}})
				}
				if err == nil && st == http.StatusSeeOther && !strings.Contains(loc, "/login") {
					candidates, signedIn = []string{pw}, true
					break
				}
			}
			if !signedIn {
				if !pause(ctx) {
					return
				}
				continue
			}
		}
		next := fmt.Sprintf("Lake#Pass%04d", n)
		st, loc, _, err := post(c, h.url("/thirdparty/change-password"), url.Values{
			"current_password": {candidates[0]}, "new_password": {next}, "confirm_password": {next},
		})
		switch {
		case err != nil || st >= 500:
			h.count(userID, 1)
			candidates = []string{candidates[0], next}
			signedIn = false
			n++
			if !pause(ctx) {
				return
			}
		case st == http.StatusSeeOther && strings.Contains(loc, "/change-password/done"):
			h.count(userID, 0)
			candidates = []string{next}
			n++
		default:
			signedIn = false // signed out (session taken over, expired): sign in again
		}
	}
}

func (h *harness) count(userID string, which int) {
	h.mu.Lock()
	c := h.changes[userID]
	c[which]++
	h.changes[userID] = c
	h.mu.Unlock()
}

// grantWorker grants and revokes crashapp for userID through the
// provisioning API, alternately.
func (h *harness) grantWorker(ctx context.Context, userID, clientID, secret string) {
	c := &http.Client{Timeout: 10 * time.Second}
	for n := 0; ctx.Err() == nil; n++ {
		method := map[bool]string{true: "PUT", false: "DELETE"}[n%2 == 0]
		req, _ := http.NewRequest(method, h.url("/thirdparty/api/v1/apps/crashapp/grants/"+userID), nil)
		req.SetBasicAuth(clientID, secret)
		res, err := c.Do(req)
		if err != nil {
			if !pause(ctx) {
				return
			}
			continue
		}
		res.Body.Close()
		h.mu.Lock()
		h.grantOps[userID]++
		h.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

// open opens the harness's database directly, with the outbox key.
func (h *harness) open(t *testing.T) milogin.Store {
	t.Helper()
	kek, err := secrets.Load(h.data, h.kek)
	if err != nil {
		t.Fatal(err)
	}
	opts := sqlstore.Options{AEAD: kek.AEAD("outbox")}
	var s milogin.Store
	if strings.HasPrefix(h.db, "sqlite:") {
		s, err = sqlite.Open(context.Background(), strings.TrimPrefix(h.db, "sqlite:"), opts)
	} else {
		s, err = postgres.Open(context.Background(), h.db, opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func outbox(t *testing.T, s milogin.Store) []*milogin.Message {
	t.Helper()
	var ms []*milogin.Message
	if err := s.Read(context.Background(), func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(context.Background(), milogin.MessageFilter{Limit: 1 << 20})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ms
}

func pending(t *testing.T, s milogin.Store) int {
	n := 0
	for _, m := range outbox(t, s) {
		if m.SentAt.IsZero() {
			n++
		}
	}
	return n
}

func events(t *testing.T, s milogin.Store, subject string) []*milogin.AuditEvent {
	t.Helper()
	var evs []*milogin.AuditEvent
	if err := s.Read(context.Background(), func(tx milogin.Tx) (err error) {
		evs, err = tx.Audit().List(context.Background(), milogin.AuditFilter{SubjectID: subject, Limit: 1 << 20})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return evs // newest first
}

func ofType(evs []*milogin.AuditEvent, typ string) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// check verifies the invariants and logs the figures of the run.
func (h *harness) check(t *testing.T, s milogin.Store, kills int, took time.Duration) {
	ctx := context.Background()
	var accounts []*milogin.Account
	if err := s.Read(ctx, func(tx milogin.Tx) (err error) {
		accounts, err = tx.Accounts().List(ctx, milogin.AccountFilter{Portal: milogin.ThirdParty, Limit: 1 << 20})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	byUserID := map[string]*milogin.Account{}
	for _, a := range accounts {
		byUserID[a.UserID] = a
		// No half-created account: complete, and created exactly once in
		// the audit trail.
		if a.PasswordHash == "" || a.Email == "" || a.FirstName == "" {
			t.Errorf("account %s is incomplete: %+v", a.UserID, a)
		}
		if n := ofType(events(t, s, a.ID), milogin.EventAccountCreated); n != 1 {
			t.Errorf("account %s has %d account.created events, want 1", a.UserID, n)
		}
	}
	// No confirmed sign-up lost.
	for _, id := range h.confirmed {
		if byUserID[id] == nil {
			t.Errorf("sign-up of %s was confirmed but the account does not exist", id)
		}
	}
	// Every password change has its event: at least the confirmed ones, at
	// most those plus the ones whose answer a kill swallowed.
	changed, confirmedChanges := 0, 0
	for id, c := range h.changes {
		a := byUserID[id]
		n := ofType(events(t, s, a.ID), milogin.EventPasswordChanged)
		changed += n
		if n < c[0] || n > c[0]+c[1] {
			t.Errorf("%s: %d password.changed events for %d confirmed and %d unknown changes", id, n, c[0], c[1])
		}
		confirmedChanges += c[0]
	}
	// A run in which nothing went through would prove nothing.
	if confirmedChanges == 0 || len(h.confirmed) == 0 || sumInts(h.grantOps) == 0 {
		t.Errorf("too little work between the kills: %d password changes, %d sign-ups, %d grant calls confirmed",
			confirmedChanges, len(h.confirmed), sumInts(h.grantOps))
	}
	// Every grant change has its event: the newest event says what the
	// grant row says.
	for id := range h.grantOps {
		a := byUserID[id]
		var g *milogin.Grant
		if err := s.Read(ctx, func(tx milogin.Tx) (err error) {
			g, err = tx.Grants().Get(ctx, "crashapp", a.ID)
			return err
		}); err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
			t.Fatal(err)
		}
		var last string
		for _, e := range events(t, s, a.ID) {
			if e.Type == milogin.EventAccessGranted || e.Type == milogin.EventAccessRevoked {
				last = e.Type
				break
			}
		}
		switch {
		case g == nil:
			if last != "" {
				t.Errorf("%s: no grant row but a %s event", id, last)
			}
		case g.Status == milogin.GrantActive && last != milogin.EventAccessGranted,
			g.Status == milogin.GrantRevoked && last != milogin.EventAccessRevoked:
			t.Errorf("%s: grant %s but the newest event is %q", id, g.Status, last)
		}
	}
	// Every queued message delivered at least once; duplicates counted.
	received := map[string]int{}
	for _, m := range h.mail.Messages() {
		received[mailKey(strings.Join(m.To, ","), m.Subject, m.Text)]++
	}
	queued, dups := outbox(t, s), 0
	for _, m := range queued {
		if m.Channel != milogin.ChannelEmail {
			continue
		}
		k := mailKey(m.To, m.Subject, m.Text)
		switch n := received[k]; {
		case m.SentAt.IsZero():
			t.Errorf("message %d to %s (%q) never delivered", m.ID, m.To, m.Subject)
		case n == 0:
			t.Errorf("message %d to %s (%q) marked sent but never received", m.ID, m.To, m.Subject)
		default:
			dups += n - 1
			received[k] = 1 // several identical messages: count each once
		}
	}
	// A kill can repeat at most the messages in flight at that moment: the
	// worker sends one at a time, so one per kill (with a margin of two).
	if dups > 2*kills {
		t.Errorf("%d duplicate deliveries for %d kills", dups, kills)
	}
	t.Logf("%d kills in %s: %d sign-ups started, %d confirmed, %d abandoned; %d accounts; %d password changes audited; %d grant calls answered; %d emails queued, %d duplicate deliveries",
		kills, took.Round(time.Second), h.signups.Load(), len(h.confirmed), h.abandoned.Load(), len(accounts), changed,
		sumInts(h.grantOps), len(queued), dups)
}

func mailKey(to, subject, text string) string {
	return to + "\x00" + subject + "\x00" + strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
}

func sumInts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
