// Package cars is CARS e-Services, the Department of State's business
// portal, as a relying party of MILogin for Third Party: a business owner
// signs in with MILogin (OpenID Connect, over HTTP only), proves that a
// Secretary of State business account is theirs with an authorization code
// sent by email or by letter, and sees the account on the springboard.
//
// CARS has its own database (SQLite in --data, or PostgreSQL with --db),
// its own session cookie, its own email outbox and its own letter queue.
// It never imports MILogin's packages.
package cars

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

const usage = `usage: cars [serve] [flags]
       cars accounts import [flags] FILE.csv
       cars letters print [flags] --out DIR
       cars letters list [flags]

Flags take their default from CARS_<NAME> variables (e.g. CARS_ISSUER,
CARS_CLIENT_SECRET, CARS_DB). Run "cars serve -h" for the list.
`

// UsageError is a mistake on the command line (exit status 2).
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// options are the flags every subcommand shares, and serve's.
type options struct {
	addr, db, data, issuer, clientID, clientSecret, baseURL string
	smtp, mailFrom, key, out, secretFile, logLevel          string
	codeTTL, sessionTTL, clockOffset                        time.Duration
	demo                                                    bool
}

func newFlags(name string, o *options, serve bool, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cars "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.db, "db", "", "database: a postgres:// URL, or a SQLite file (default DATA/cars.db)")
	fs.StringVar(&o.data, "data", "cars-data", "data folder (SQLite database, cars.key)")
	fs.StringVar(&o.key, "key", "", "master key, 64 hex digits (default: DATA/cars.key, created on first start); set the same on every node")
	fs.StringVar(&o.baseURL, "base-url", "", "CARS's public address (default http://ADDR)")
	if serve {
		fs.StringVar(&o.addr, "addr", "127.0.0.1:8082", "listen address")
		fs.StringVar(&o.issuer, "issuer", "http://127.0.0.1:8080/thirdparty", "MILogin for Third Party issuer")
		fs.StringVar(&o.clientID, "client-id", "cars", "client ID registered in MILogin")
		fs.StringVar(&o.clientSecret, "client-secret", "", "client secret from milogin apps add")
		fs.StringVar(&o.secretFile, "client-secret-file", "", "file holding the client secret (instead of --client-secret)")
		fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
		fs.DurationVar(&o.clockOffset, "clock-offset", 0, "development only (with --demo): move CARS's clock, e.g. 720h to see codes expire")
		fs.StringVar(&o.smtp, "smtp", "", "SMTP server: smtp://[user:pass@]host:port or smtps://…; empty keeps emails queued")
		fs.StringVar(&o.mailFrom, "mail-from", "CARS e-Services <DONOTREPLY-CARS@michigan.gov>", "sender of emails")
		fs.DurationVar(&o.codeTTL, "code-ttl", 30*24*time.Hour, "how long an authorization code stays valid")
		fs.DurationVar(&o.sessionTTL, "session-ttl", 8*time.Hour, "how long a CARS session lasts")
		fs.BoolVar(&o.demo, "demo", false, "seed one business account of every type (idempotent)")
	}
	if name == "letters print" {
		fs.StringVar(&o.out, "out", "", "folder for the printed letters (required)")
	}
	return fs
}

// parse reads the flags (before or after the arguments: "import FILE
// --data DIR" works too), then fills the ones not given from CARS_*
// variables. The arguments are left in positional.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string, positional *[]string) error {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return UsageError{}
			}
			return UsageError{Msg: err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		if positional == nil {
			return UsageError{Msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
		}
		*positional = append(*positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		env := "CARS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" {
			if e := f.Value.Set(v); e != nil {
				err = UsageError{Msg: env + ": " + e.Error()}
			}
		}
	})
	return err
}

// Run is the whole program: cmd/cars calls it, and so does milogin demo (in
// a goroutine). It returns when ctx ends (serve) or the command is done.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
		if (cmd == "accounts" || cmd == "letters") && len(args) > 0 {
			cmd, args = cmd+" "+args[0], args[1:]
		}
	}
	var o options
	switch cmd {
	case "serve":
		fs := newFlags(cmd, &o, true, stderr)
		if err := parse(fs, args, getenv, nil); err != nil {
			return err
		}
		return serve(ctx, o, stdout, stderr)
	case "accounts import":
		fs := newFlags(cmd, &o, false, stderr)
		var files []string
		if err := parse(fs, args, getenv, &files); err != nil {
			return err
		}
		if len(files) != 1 {
			return UsageError{Msg: "usage: cars accounts import [--data DIR | --db URL] FILE.csv"}
		}
		return importFile(ctx, o, files[0], stdout)
	case "letters print", "letters list":
		fs := newFlags(cmd, &o, false, stderr)
		if err := parse(fs, args, getenv, nil); err != nil {
			return err
		}
		if cmd == "letters print" && o.out == "" {
			return UsageError{Msg: "cars letters print: --out DIR is required"}
		}
		return letters(ctx, o, cmd == "letters print", stdout)
	}
	fmt.Fprint(stderr, usage)
	return UsageError{Msg: fmt.Sprintf("unknown command %q", cmd)}
}

func openAll(ctx context.Context, o options) (*DB, *keys, error) {
	k, err := loadKeys(o.key, o.data)
	if err != nil {
		return nil, nil, err
	}
	db, err := OpenDB(ctx, o.db, o.data)
	if err != nil {
		return nil, nil, err
	}
	return db, k, nil
}

func importFile(ctx context.Context, o options, path string, stdout io.Writer) error {
	db, _, err := openAll(ctx, o)
	if err != nil {
		return err
	}
	defer db.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum, err := ImportAccounts(ctx, db, f, time.Now())
	fmt.Fprintf(stdout, "%d loaded, %d updated, %d unchanged, %d rejected\n", sum.Loaded, sum.Updated, sum.Unchanged, len(sum.Rejected))
	for _, r := range sum.Rejected {
		fmt.Fprintf(stdout, "line %d: %s\n", r.Line, r.Reason)
	}
	return err
}

func letters(ctx context.Context, o options, print bool, stdout io.Writer) error {
	db, k, err := openAll(ctx, o)
	if err != nil {
		return err
	}
	defer db.Close()
	if print {
		base := o.baseURL
		if base == "" {
			base = "http://127.0.0.1:8082"
		}
		res, err := PrintLetters(ctx, db, k, o.out, strings.TrimRight(base, "/"), time.Now())
		for _, r := range res {
			fmt.Fprintf(stdout, "printed %s for %s (%s): %s %s\n", r.Letter.Confirmation, r.Letter.AccountNumber, r.Letter.Name, r.HTML, r.PDF)
		}
		fmt.Fprintf(stdout, "%d letters printed and marked mailed\n", len(res))
		return err
	}
	all, err := db.Letters(ctx, false)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONFIRMATION\tACCOUNT\tNAME\tQUEUED\tSTATUS")
	for _, l := range all {
		status := "waiting"
		if !l.Mailed.IsZero() {
			status = "mailed " + l.Mailed.Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Confirmation, l.AccountNumber, l.Name, l.Created.Format(time.DateTime), status)
	}
	return tw.Flush()
}

func serve(ctx context.Context, o options, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return UsageError{Msg: "--log-level: want debug, info, warn or error"}
	}
	if o.clockOffset != 0 && !o.demo {
		return UsageError{Msg: "--clock-offset is for trying things out: it needs --demo"}
	}
	if o.secretFile != "" {
		if o.clientSecret != "" {
			return UsageError{Msg: "give --client-secret or --client-secret-file, not both"}
		}
		b, err := os.ReadFile(o.secretFile)
		if err != nil {
			return fmt.Errorf("reading --client-secret-file: %w", err)
		}
		o.clientSecret = strings.TrimSpace(string(b))
	}
	now := time.Now
	if o.clockOffset != 0 {
		now = func() time.Time { return time.Now().Add(o.clockOffset) }
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	db, k, err := openAll(ctx, o)
	if err != nil {
		return err
	}
	defer db.Close()
	if o.demo {
		if err := SeedDemo(ctx, db, now()); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	base := strings.TrimRight(o.baseURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	codes := &Codes{DB: db, keys: k, TTL: o.codeTTL, BaseURL: base}
	srv, err := NewServer(db, k, codes, Config{BaseURL: base, Issuer: strings.TrimRight(o.issuer, "/"), ClientID: o.clientID,
		ClientSecret: o.clientSecret, SessionTTL: o.sessionTTL, Demo: o.demo}, log, now)
	if err != nil {
		ln.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.smtp != "" {
		m, err := NewSMTP(o.smtp, o.mailFrom)
		if err != nil {
			ln.Close()
			return UsageError{Msg: "--smtp: " + err.Error()}
		}
		go (&outbox{db: db, keys: k, mailer: m, log: log, now: now}).run(ctx)
	} else {
		log.Warn("no --smtp given: emails stay in the CARS outbox" + map[bool]string{true: " (see /dev/mailbox)", false: ""}[o.demo])
	}
	hs := &http.Server{Handler: logRequests(log, srv), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "CARS e-Services running at %s\n", base)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	return hs.Shutdown(sctx)
}

// statusWriter remembers the status of an answer, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// logRequests logs each request's method, path (never the query: a
// callback's holds the authorization code and state), status and time.
func logRequests(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			log.Info("http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start))
		}
	})
}
