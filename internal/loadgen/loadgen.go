package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scenarios are the names Config.Scenario accepts.
var Scenarios = []string{"signin", "flow", "session", "userinfo", "client-credentials", "jwks"}

// busyPause is how long a virtual user waits after a 503 before trying again.
const busyPause = time.Second

// MaxDuration bounds a run: the generator is a measuring tool, not a way to
// keep a deployment under load.
const MaxDuration = 10 * time.Minute

// Config describes one run.
type Config struct {
	// Target is the base URL of the deployment, e.g. http://127.0.0.1:8080;
	// several, separated by commas, spread the virtual users over nodes
	// (user n talks to the n-th modulo their number): a load balancer of
	// the client's own. Discovery and the token endpoint come from the
	// first.
	Target string
	// AllowRemote permits a target that is not a loopback address.
	AllowRemote bool
	// OneSource makes every virtual user connect from the same address.
	// By default, against an IPv4 loopback target, virtual user n
	// connects from a loopback address of its own (127.1.0.0 + n + 1),
	// so that the server sees as many visitors as there are users, as
	// it would in life, and its per-address limits judge each alone.
	OneSource   bool
	Portal      string // default thirdparty
	Scenario    string
	Concurrency int           // virtual users (default 1)
	Duration    time.Duration // of the measured part (default 10 s, at most MaxDuration)

	// Users is how many seeded accounts the virtual users spread over
	// (Prefix followed by 7 digits, all with Password).
	Users int
	// FirstUser is the number of the first of those accounts, so that two
	// runs at once can use accounts of their own.
	FirstUser int
	Prefix    string
	Password  string

	// The registered application the flow, userinfo and client-credentials
	// scenarios use. ClientSecret is empty for a public client.
	ClientID, ClientSecret, RedirectURI string

	// PID, when not 0, is a process on this machine (the server) whose CPU
	// time and memory are sampled during the run.
	PID int

	// Progress receives a progress line every second (nil: none).
	Progress io.Writer
}

// Result is what a run measured.
type Result struct {
	Scenario    string        `json:"scenario"`
	Target      string        `json:"target"`
	Concurrency int           `json:"concurrency"`
	Duration    time.Duration `json:"duration_ns"`
	OK          int           `json:"ok"`
	Errors      int           `json:"errors"`
	// Busy counts operations the server shed with 503 and Retry-After
	// (overload); they are neither OK nor errors.
	Busy int `json:"busy"`
	// ErrorKinds counts errors by kind: "http 503 /thirdparty/login",
	// "timeout", "id token: …".
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	// PerSecond is OK operations per second of the measured part.
	PerSecond float64 `json:"per_second"`
	// Latencies of the successful operations.
	P50 time.Duration `json:"p50_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
	// Server figures, with Config.PID: CPU seconds used during the measured
	// part, CPU milliseconds per successful operation, resident memory at
	// the start and its peak.
	ServerCPUSeconds float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUPerOpMS float64 `json:"server_cpu_per_op_ms,omitempty"`
	ServerRSSStartMB float64 `json:"server_rss_start_mb,omitempty"`
	ServerRSSPeakMB  float64 `json:"server_rss_peak_mb,omitempty"`
	// When the server hashes on threads of their own (named HashThread),
	// their CPU time is read apart: ServerHashCPUPerOpMS is the hashing
	// per operation, ServerOtherCPUPerOpMS everything else the server did
	// (the protocol, pages, database, logging, collection).
	ServerHashCPUPerOpMS  float64 `json:"server_hash_cpu_per_op_ms,omitempty"`
	ServerOtherCPUPerOpMS float64 `json:"server_other_cpu_per_op_ms,omitempty"`
	// ClientCPUPerOpMS is this generator's own CPU milliseconds per
	// successful operation: on one machine, the server and the client
	// share the cores, and this is the client's part.
	ClientCPUPerOpMS float64 `json:"client_cpu_per_op_ms,omitempty"`
}

// op is one iteration of a scenario for one virtual user.
type op func(ctx context.Context) error

// opError is an error of a known kind: kinds are what the result counts.
type opError struct {
	kind string
	err  error
}

func (e *opError) Error() string {
	if e.err == nil {
		return e.kind
	}
	return e.kind + ": " + e.err.Error()
}

func errKind(kind string, err error) error { return &opError{kind: kind, err: err} }

// kindOf names the kind of err for the error table.
func kindOf(err error) string {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.kind
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne):
		return "network"
	}
	return "other"
}

// CheckTarget refuses a target that is not on this machine unless
// allowRemote: pointing a load generator at someone else's deployment by a
// typo must not be possible.
func CheckTarget(target string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--target %q: want http://host:port or https://…", target)
	}
	if allowRemote {
		return u, nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--target %s is not a loopback address: pass --allow-remote to load a remote deployment", host)
	}
	return u, nil
}

// newTransport is a connection pool keeping up to idle connections, dialing
// from local (nil: the system's choice).
func newTransport(local net.Addr, idle int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: local}).DialContext,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
	}
}

// sourceFor is the loopback address virtual user n connects from, or nil
// when it shares the system's choice: the target is not an IPv4 loopback
// literal (a name, IPv6, a remote host), or cfg.OneSource.
func sourceFor(cfg Config, target string, n int) net.Addr {
	if cfg.OneSource {
		return nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(u.Hostname()).To4()
	if ip == nil || !ip.IsLoopback() {
		return nil
	}
	// 127.1.0.1 onwards: 65,534 addresses per third octet pair before
	// wrapping, far more users than a run has.
	k := n%0xfffe + 1
	return &net.TCPAddr{IP: net.IPv4(127, 1, byte(k>>8), byte(k))}
}

// Run runs cfg.Scenario with cfg.Concurrency virtual users for cfg.Duration
// after each has done its setup (signing in, getting a token), and returns
// the figures. Errors in an iteration are counted, not returned; Run
// returns an error only when the run cannot start.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	var targets []string
	for t := range strings.SplitSeq(cfg.Target, ",") {
		if _, err := CheckTarget(t, cfg.AllowRemote); err != nil {
			return nil, err
		}
		targets = append(targets, strings.TrimRight(t, "/"))
	}
	if !slices.Contains(Scenarios, cfg.Scenario) {
		return nil, fmt.Errorf("unknown scenario %q: want one of %s", cfg.Scenario, strings.Join(Scenarios, ", "))
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Duration > MaxDuration {
		return nil, fmt.Errorf("--duration %v is longer than %v", cfg.Duration, MaxDuration)
	}
	cfg.Concurrency = max(cfg.Concurrency, 1)
	cfg.Users = max(cfg.Users, 1)
	if cfg.Portal == "" {
		cfg.Portal = "thirdparty"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultSeedPrefix
	}
	if cfg.Password == "" {
		cfg.Password = DefaultSeedPassword
	}

	g := &gen{cfg: cfg, targets: targets, transport: newTransport(nil, cfg.Concurrency*2)}
	defer g.closeIdle()
	if err := g.prepare(ctx); err != nil {
		return nil, err
	}

	// Every virtual user sets up first (concurrently, but outside the
	// measured window), then all start together.
	vus := make([]*vu, cfg.Concurrency)
	ops := make([]op, cfg.Concurrency)
	var setupErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0)*4, 8))
	for i := range vus {
		vus[i] = g.newVU(i)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			o, err := g.scenario(ctx, vus[i])
			mu.Lock()
			defer mu.Unlock()
			if err != nil && setupErr == nil {
				setupErr = fmt.Errorf("setting up virtual user %d: %w", i, err)
			}
			ops[i] = o
		})
	}
	wg.Wait()
	if setupErr != nil {
		return nil, setupErr
	}

	var sampler *procSampler
	if cfg.PID != 0 {
		var err error
		if sampler, err = startSampler(cfg.PID); err != nil {
			return nil, err
		}
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var okCount, errCount, busyCount atomic.Int64
	lat := make([][]time.Duration, cfg.Concurrency)
	kinds := make([]map[string]int, cfg.Concurrency)
	start := time.Now()
	clientCPU0 := selfCPUSeconds()
	stopProgress := g.progress(start, &okCount, &errCount)
	for i := range vus {
		kinds[i] = map[string]int{}
		wg.Go(func() {
			for runCtx.Err() == nil {
				t0 := time.Now()
				err := ops[i](runCtx)
				d := time.Since(t0)
				if runCtx.Err() != nil {
					// Cut short by the end of the run: not counted.
					return
				}
				if errors.Is(err, errBusy) {
					busyCount.Add(1)
					// A person told "try again in a minute" does not
					// resubmit at once; a virtual user waits a second, so
					// that the offered load stays what the run asked for
					// instead of a tight loop of refusals.
					select {
					case <-runCtx.Done():
					case <-time.After(busyPause):
					}
					continue
				}
				if err != nil {
					errCount.Add(1)
					kinds[i][kindOf(err)]++
					continue
				}
				okCount.Add(1)
				lat[i] = append(lat[i], d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	clientCPU := selfCPUSeconds() - clientCPU0
	stopProgress()

	res := &Result{Scenario: cfg.Scenario, Target: cfg.Target, Concurrency: cfg.Concurrency, Duration: elapsed,
		OK: int(okCount.Load()), Errors: int(errCount.Load()), Busy: int(busyCount.Load()), ErrorKinds: map[string]int{}}
	var all []time.Duration
	for i := range lat {
		all = append(all, lat[i]...)
		for k, n := range kinds[i] {
			res.ErrorKinds[k] += n
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	if n := len(all); n > 0 {
		pct := func(p float64) time.Duration { return all[min(n-1, int(float64(n)*p))] }
		res.P50, res.P90, res.P99, res.Max = pct(0.50), pct(0.90), pct(0.99), all[n-1]
	}
	res.PerSecond = float64(res.OK) / elapsed.Seconds()
	if res.OK > 0 {
		res.ClientCPUPerOpMS = clientCPU * 1000 / float64(res.OK)
	}
	if sampler != nil {
		s := sampler.stop()
		res.ServerCPUSeconds = s.cpu
		res.ServerRSSStartMB, res.ServerRSSPeakMB = s.rssStart, s.rssPeak
		if res.OK > 0 {
			res.ServerCPUPerOpMS = s.cpu * 1000 / float64(res.OK)
			if s.hashThreads > 0 {
				res.ServerHashCPUPerOpMS = s.hashCPU * 1000 / float64(res.OK)
				res.ServerOtherCPUPerOpMS = (s.cpu - s.hashCPU) * 1000 / float64(res.OK)
			}
		}
	}
	return res, nil
}

// progress prints a line every second until the returned function is called.
func (g *gen) progress(start time.Time, ok, errs *atomic.Int64) func() {
	if g.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastAt := int64(0), start
		for {
			select {
			case <-done:
				fmt.Fprintln(g.cfg.Progress)
				return
			case now := <-t.C:
				n := ok.Load()
				fmt.Fprintf(g.cfg.Progress, "\r%s %5.0fs  %d ok  %d errors  %.0f/s   ", g.cfg.Scenario,
					now.Sub(start).Seconds(), n, errs.Load(), float64(n-last)/now.Sub(lastAt).Seconds())
				last, lastAt = n, now
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Format writes r as the human-readable summary.
func (r *Result) Format(w io.Writer) {
	fmt.Fprintf(w, "scenario %s against %s, %d virtual users, %.1fs\n", r.Scenario, r.Target, r.Concurrency, r.Duration.Seconds())
	fmt.Fprintf(w, "  %d ok, %d errors, %d busy (503), %.1f/s\n", r.OK, r.Errors, r.Busy, r.PerSecond)
	fmt.Fprintf(w, "  latency p50 %s  p90 %s  p99 %s  max %s\n", ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
	if len(r.ErrorKinds) > 0 {
		keys := make([]string, 0, len(r.ErrorKinds))
		for k := range r.ErrorKinds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  error %-40s %d\n", k, r.ErrorKinds[k])
		}
	}
	if r.ClientCPUPerOpMS > 0 {
		fmt.Fprintf(w, "  client: %.3f CPU ms per op\n", r.ClientCPUPerOpMS)
	}
	if r.ServerCPUSeconds > 0 || r.ServerRSSPeakMB > 0 {
		fmt.Fprintf(w, "  server: %.2f CPU s, %.3f CPU ms per op, RSS %.1f MB at start, %.1f MB peak\n",
			r.ServerCPUSeconds, r.ServerCPUPerOpMS, r.ServerRSSStartMB, r.ServerRSSPeakMB)
		if r.ServerHashCPUPerOpMS > 0 {
			fmt.Fprintf(w, "  server: %.3f CPU ms per op hashing, %.3f CPU ms per op besides\n", r.ServerHashCPUPerOpMS, r.ServerOtherCPUPerOpMS)
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
