package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/admin"
	"milogin/internal/authn"
	"milogin/internal/clientip"
	"milogin/internal/httplog"
	"milogin/internal/keys"
	"milogin/internal/notify"
	"milogin/internal/notify/smtp"
	"milogin/internal/oidc"
	"milogin/internal/web"
)

// sweepEvery is how often the inactivity sweep and expired-row clean-up run.
const sweepEvery = time.Hour

// oidcSweepEvery is how often expired authorization requests, codes and
// tokens are deleted. They live minutes and arrive at the rate of sign-ins:
// swept hourly, a busy hour leaves hundreds of thousands of dead rows that
// every insert's index maintenance and every backup pays for. Each sweep is
// an indexed delete of about a minute's worth of rows.
const oidcSweepEvery = time.Minute

// defaultBaseURL is the base URL when none is given: for a listener on a
// loopback (or every) address, http://localhost:PORT, which browsers treat
// as a secure context and WebAuthn accepts as a relying party (an IP
// address is refused, which would switch passkeys off); else the address.
func defaultBaseURL(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && (tcp.IP.IsLoopback() || tcp.IP.IsUnspecified()) {
		return "http://" + net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
	}
	return "http://" + addr.String()
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin serve", stderr)
	var c common
	c.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	baseURL := fs.String("base-url", "", "public URL of this service, e.g. https://milogintp.example.gov (default: http://localhost:PORT on a loopback address, else http://ADDR)")
	smtpURL := fs.String("smtp", "", "SMTP server: smtp://[user:pass@]host:port (STARTTLS when offered) or smtps://…; empty keeps mail queued")
	mailFrom := fs.String("mail-from", "DONOTREPLY-MILogin@michigan.gov", "sender address of every email")
	demo := fs.Bool("demo", false, "seed demo accounts and enable /dev/mailbox")
	smsURL := fs.String("sms-url", "", "SMS provider endpoint (https): each text is POSTed as {\"to\", \"body\"}; empty keeps texts in the outbox (shown on /dev/mailbox in demo mode)")
	smsToken := fs.String("sms-token", "", "bearer token sent to the SMS provider (prefer MILOGIN_SMS_TOKEN)")
	smsFormat := fs.String("sms-format", "json", "how texts are POSTed to --sms-url: json or form")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	mfaTZ := fs.String("mfa-time-zone", access.StateTimeZone, "time zone whose calendar day the daily MFA policy counts")
	memLimit := fs.Int("memory-limit-mb", -1, "soft memory limit of the Go runtime in MiB (-1: 32 plus the working memory of each hash slot, 72 with two; 0: none; GOMEMLIMIT overrides): the collector works harder before the process grows past it")
	hashNice := fs.Int("hash-nice", 10, "nice value (1-19) of the threads that hash passwords, so that signed-in pages, token refreshes and userinfo go first under a sign-in flood (0: hash at normal priority; Linux only)")
	hashSlots := fs.Int("hash-slots", 0, "password hashes run at once (default: one per core); fewer than the cores keeps a core for signed-in pages under a sign-in flood")
	hashQueue := fs.Int("hash-queue", -1, "sign-ins that may wait for a password-hash slot before new ones get 503 (default: 64 per core)")
	allowSeeded := fs.Bool("allow-seeded", false, "let accounts made by \"milogin users seed\" sign in (load tests only: they share one password)")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9090", "address of the operations listener: /metrics and /debug/pprof/ (never on the public listener); empty disables it")
	outboxLease := fs.Duration("outbox-lease", notify.DefaultLease, "how long a node reserves the messages it is sending; after a crash another node (or the restarted one) retries them once it runs out")
	trustedProxies := fs.String("trusted-proxies", "", "comma-separated CIDR prefixes or addresses of the load balancers whose X-Forwarded-For is believed (right-most untrusted hop); empty trusts none")
	clockOffset := fs.Duration("clock-offset", 0, "development only, needs --demo: move MILogin's clock, e.g. 24h to try the next calendar day")
	auditRetention := fs.Duration("audit-retention", admin.DefaultRetention, "how long the audit trail keeps events (at least 8784h, a year; default 7 years)")
	help := registerHelpDesk(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *clockOffset != 0 && !*demo {
		return usageError{msg: "--clock-offset is for development only and needs --demo"}
	}
	if *auditRetention < admin.MinRetention {
		return usageError{msg: "--audit-retention: at least a year (8784h)"}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{msg: "--log-level: " + err.Error()}
	}
	// One write per 100 ms instead of one per request line; warnings and
	// errors are written at once.
	logBuf := httplog.NewBuffer(stderr, 100*time.Millisecond)
	defer logBuf.Close()
	logger := slog.New(httplog.FlushAbove(slog.NewJSONHandler(logBuf, &slog.HandlerOptions{Level: level}), logBuf, slog.LevelWarn))
	if *memLimit < 0 {
		*memLimit = defaultMemoryLimitMB(*hashSlots, authn.DefaultParams.MemoryKiB)
	}
	if *memLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(*memLimit) << 20)
	}
	proxies, err := clientip.ParseTrusted(*trustedProxies)
	if err != nil {
		return usageError{msg: "--trusted-proxies: " + err.Error()}
	}

	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	e.auth.Logger = logger
	if *hashSlots > 0 {
		e.auth.Hasher = authn.NewHasher(e.auth.Hasher.Params(), *hashSlots)
	}
	if *hashQueue >= 0 {
		e.auth.Hasher.SetMaxWaiting(*hashQueue)
	}
	if *hashNice < 0 || *hashNice > 19 {
		return usageError{msg: "--hash-nice: 0 to 19"}
	}
	if *hashNice > 0 && e.auth.Hasher.RunInBackground(*hashNice) {
		defer e.auth.Hasher.Close()
		// One more P per hash worker, so that while every worker hashes
		// the scheduler still has the cores' worth for everything else;
		// the kernel then prefers those threads to the lowered ones.
		// From the process's starting value, so that serving again in the
		// same process (the tests do) does not add up.
		runtime.GOMAXPROCS(startProcs + e.auth.Hasher.Slots())
	}
	if e.auth.AllowSeeded = *allowSeeded; *allowSeeded {
		logger.Warn("--allow-seeded: seeded load-test accounts, which share one password, can sign in")
	}
	if *clockOffset != 0 {
		// Everything MILogin dates (sessions, codes, the daily MFA mark,
		// grants) follows the moved clock; tokens signed by the OpenID
		// library keep the real time.
		realNow, off := e.auth.Now, *clockOffset
		e.auth.Now = func() time.Time { return realNow().Add(off) }
		logger.Warn("development clock: MILogin's time is moved", "offset", off.String())
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	defer ln.Close()
	var opsLn net.Listener
	if *metricsAddr != "" {
		if opsLn, err = net.Listen("tcp", *metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: listening on %s (another node on this machine? give each its own, or --metrics-addr= to disable): %w", *metricsAddr, err)
		}
		defer opsLn.Close()
	}
	if *baseURL == "" {
		*baseURL = defaultBaseURL(ln.Addr())
	}
	*baseURL = strings.TrimRight(*baseURL, "/")
	// Before anything copies the portals: the pages, emails and services
	// all show the same help desk.
	if err := help.apply(e.auth.Portals, *baseURL, *demo); err != nil {
		return err
	}

	worker := &notify.Worker{Store: e.store, Logger: logger, Lease: *outboxLease, Now: e.auth.Now}
	if *smtpURL != "" {
		sender, err := smtp.New(*smtpURL, *mailFrom)
		if err != nil {
			return usageError{msg: "--smtp: " + err.Error()}
		}
		worker.Email = sender
	} else {
		logger.Warn("no --smtp given: emails stay in the outbox" + map[bool]string{true: " (see /dev/mailbox)", false: ""}[*demo])
	}
	if worker.SMS, err = smsSender(*smsURL, *smsToken, *smsFormat, *demo, logger); err != nil {
		return err
	}
	e.auth.Kick = worker.Kick
	provider, err := setupOIDC(ctx, e, *baseURL, logger, worker)
	if err != nil {
		return err
	}

	acc, mf, err := setupAccess(e, *baseURL, *mfaTZ, logger, worker.Kick)
	if err != nil {
		return err
	}
	api, err := setupProvisioning(e, acc, provider, *baseURL, logger)
	if err != nil {
		return err
	}

	warnInsecureRedirects(ctx, e, *demo, logger)
	if *demo {
		if err := seedDemo(ctx, e); err != nil {
			return fmt.Errorf("seeding demo data: %w", err)
		}
		if err := seedDemoCitizen(ctx, e); err != nil { // demo_citizen.go
			return fmt.Errorf("seeding citizen demo data: %w", err)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler, err := web.NewServer(web.Config{
		Auth: e.auth, Store: e.store, BaseURL: *baseURL, Demo: *demo, Logger: logger, Registry: reg,
		Access: acc, MFA: mf, MailFrom: *mailFrom,
	})
	if err != nil {
		return err
	}
	provider.SetSilent(handler.Silent)
	handler.SetFinish("oidc", provider.Finish)
	adminSvc := admin.NewService(e.store, e.auth, mf, acc, *baseURL)
	console, err := admin.NewServer(admin.Config{Service: adminSvc, BaseURL: *baseURL, Logger: logger, Keys: keys.New(e.store, e.kek)})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           withEdge(proxies, handler, logger, withAdmin(console, withProvisioning(api, withOIDC(provider, handler)))),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = worker.Run(bg) })
	wg.Go(func() { sweep(bg, e, logger) })
	wg.Go(func() { e.auth.WatchPolicies(bg) })
	wg.Go(func() { sweepOIDC(bg, provider, logger) })
	wg.Go(func() { sweepMFA(bg, mf, logger) })
	wg.Go(func() { sweepAudit(bg, adminSvc, *auditRetention, logger) })

	serveErr := make(chan error, 2)
	var opsSrv *http.Server
	if opsLn != nil {
		opsSrv = &http.Server{Handler: opsHandler(reg), ReadHeaderTimeout: 10 * time.Second, ErrorLog: srv.ErrorLog}
		go func() { serveErr <- opsSrv.Serve(opsLn) }()
		fmt.Fprintf(stdout, "Metrics at http://%s/metrics\n", opsLn.Addr())
		logger.Info("operations listener", "addr", opsLn.Addr().String())
	}
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "MILogin is running at %s/thirdparty/login\n", *baseURL)
	if *demo {
		fmt.Fprintf(stdout, "Demo accounts (password %s): %s. Mailbox: %s/dev/mailbox\n", demoPassword, strings.Join(demoUserIDs(), ", "), *baseURL)
		fmt.Fprintf(stdout, "%s. Citizen sign-up: %s/citizen/signup\n", demoCardHint, *baseURL)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "base_url", *baseURL, "demo", *demo)

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = srv.Shutdown(sctx)
		if opsSrv != nil {
			_ = opsSrv.Shutdown(sctx)
		}
		cancel()
	}
	if opsSrv != nil {
		_ = opsSrv.Close()
	}
	stopBG()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// warnInsecureRedirects names, outside demo mode, every confidential
// client registered with an http redirect (apps add
// --allow-insecure-redirect): fine on a developer's machine, never in
// production.
func warnInsecureRedirects(ctx context.Context, e *env, demo bool, logger *slog.Logger) {
	if demo {
		return
	}
	var apps []*milogin.Application
	if err := e.store.Read(ctx, func(tx milogin.Tx) (err error) { apps, err = tx.Apps().List(ctx, ""); return err }); err != nil {
		logger.Error("listing applications", "err", err)
		return
	}
	for _, a := range apps {
		if oidc.HasInsecureRedirect(&a.Client) {
			logger.Warn("application has an http (loopback) redirect URI: development only", "app_id", a.ID)
		}
	}
}

// sweep disables inactive accounts and deletes expired rows, once at start
// and then every sweepEvery. Several nodes may sweep at once: every change is
// an idempotent locked update.
func sweep(ctx context.Context, e *env, logger *slog.Logger) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		n, err := e.auth.SweepInactive(ctx)
		if err != nil && ctx.Err() == nil {
			logger.Error("inactivity sweep", "err", err)
		} else if n > 0 {
			logger.Info("inactivity sweep", "disabled", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// opsHandler serves the operations listener: the Prometheus metrics and the
// Go profiler. It is kept off the public listener (the public one answers
// 404 for /metrics): both tell an attacker about load and internals, and
// profiles cost CPU on demand.
func opsHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// withAdmin sends /admin and everything under it to the console.
func withAdmin(console http.Handler, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/admin", http.RedirectHandler("/admin/", http.StatusSeeOther))
	mux.Handle("/admin/", console)
	mux.Handle("/", next)
	return mux
}

// sweepAudit deletes audit events older than the retention, once at start
// and then every sweepEvery; each deletion is itself audited.
func sweepAudit(ctx context.Context, svc *admin.Service, retention time.Duration, logger *slog.Logger) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if n, err := svc.ExpireAudit(ctx, retention); err != nil && ctx.Err() == nil {
			logger.Error("audit retention sweep", "err", err)
		} else if n > 0 {
			logger.Info("audit retention sweep", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// defaultMemoryLimitMB is the Go runtime's soft memory limit when
// --memory-limit-mb is not given: what the server needs besides hashing
// (32 MiB: a few MiB of live heap and room for the garbage between
// collections) plus one hash's working memory per slot, which the hasher
// keeps for reuse. Without a limit, Go collects when the heap has doubled
// since the last collection, and with 40 MiB of argon2 memory live that
// let the process grow to 130 MB under a sign-in load; the memory kept for
// hashing holds no pointers, so collecting sooner costs little.
func defaultMemoryLimitMB(slots int, hashKiB uint32) int {
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	return 32 + slots*int(hashKiB/1024+1)
}

// startProcs is GOMAXPROCS as the process started: the cores it may use.
var startProcs = runtime.GOMAXPROCS(0)
