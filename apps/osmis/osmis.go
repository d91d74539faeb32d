// Package osmis is the One-Stop Management Information System, the
// workforce system of the Michigan Works Agencies, as a relying party of
// MILogin. It is a separate program with its own database and its own
// session cookie, and it reaches MILogin only over HTTP: OpenID Connect to
// sign staff in, the provisioning API to grant and revoke their access.
//
// Run is the whole program; cmd/osmis calls it, and so does `milogin demo`
// (in a goroutine of its own process). Its args do NOT include the program
// name:
//
//	osmis [serve] [--addr A] [--db DSN] [--data DIR] [--issuer URL] [--client-id ID]
//	      [--client-secret S | --client-secret-file F] [--base-url URL] [--demo] [--clock-offset D]
//	osmis admin bootstrap --login-id ID --email E --mwa NAME --domain D [--first F] [--last L] [--data DIR] [--db DSN]
//
// Every flag can also be given as an OSMIS_* variable: --client-secret is
// OSMIS_CLIENT_SECRET.
package osmis

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"milogin/apps/osmis/internal/provision"
	"milogin/apps/osmis/internal/server"
	"milogin/apps/osmis/internal/store"
)

// UsageError is a mistake on the command line (exit status 2).
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

const usage = `usage: osmis [serve] [flags]          run OSMIS
       osmis admin bootstrap [flags]  create the first MWA Administrator

Run "osmis serve -h" or "osmis admin bootstrap -h" for the flags. Every flag can
also be set with an environment variable: --client-secret is OSMIS_CLIENT_SECRET.
`

// Run runs OSMIS with args (without the program name).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return runServe(ctx, args[1:], getenv, stdout, stderr)
		case "admin":
			if len(args) > 1 && args[1] == "bootstrap" {
				return runBootstrap(ctx, args[2:], getenv, stdout, stderr)
			}
			fmt.Fprint(stderr, usage)
			return UsageError{Msg: "usage: osmis admin bootstrap [flags]"}
		case "help", "-h", "--help":
			fmt.Fprint(stdout, usage)
			return nil
		}
		if !strings.HasPrefix(args[0], "-") {
			fmt.Fprint(stderr, usage)
			return UsageError{Msg: fmt.Sprintf("unknown command %q", args[0])}
		}
	}
	return runServe(ctx, args, getenv, stdout, stderr)
}

func envName(flagName string) string {
	return "OSMIS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, then sets every flag not given from its variable.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return UsageError{}
		}
		return UsageError{Msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return UsageError{Msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := f.Value.Set(v); e != nil {
				err = UsageError{Msg: fmt.Sprintf("%s: %v", envName(f.Name), e)}
			}
		}
	})
	return err
}

type dbFlags struct{ data, db string }

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.data, "data", "osmis-data", "data folder: SQLite database, generated sealing key")
	fs.StringVar(&d.db, "db", "", "database: sqlite:PATH or postgres://… (default: SQLite in the data folder)")
}

// clock returns the clock of a run: the real one moved by offset.
func clock(offset time.Duration) func() time.Time {
	if offset == 0 {
		return time.Now
	}
	return func() time.Time { return time.Now().Add(offset) }
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("osmis serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var d dbFlags
	d.register(fs)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on (port 0 picks a free one)")
	baseURL := fs.String("base-url", "", "public URL of OSMIS (default: http://ADDR)")
	issuer := fs.String("issuer", "http://127.0.0.1:8080/thirdparty", "MILogin issuer (the MILogin for Third Party portal)")
	clientID := fs.String("client-id", "osmis", "OpenID Connect client ID of OSMIS in MILogin")
	secret := fs.String("client-secret", "", "client secret (prefer OSMIS_CLIENT_SECRET or --client-secret-file)")
	secretFile := fs.String("client-secret-file", "", "file holding the client secret")
	demo := fs.Bool("demo", false, "seed the demo MWA, staff accounts, participants and links")
	offset := fs.Duration("clock-offset", 0, "development only, with --demo: move OSMIS's clock (e.g. 24h for the next day)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *offset != 0 && !*demo {
		return UsageError{Msg: "--clock-offset is for development only and needs --demo"}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return UsageError{Msg: "--log-level: " + err.Error()}
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})).With("program", "osmis")
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			return fmt.Errorf("reading --client-secret-file: %w", err)
		}
		*secret = strings.TrimSpace(string(b))
	}
	if *secret == "" {
		return UsageError{Msg: "the client secret is required: --client-secret-file, OSMIS_CLIENT_SECRET or --client-secret"}
	}

	db, err := store.Open(ctx, d.db, d.data)
	if err != nil {
		return err
	}
	defer db.Close()
	now := clock(*offset)
	db.Now = now
	seal, err := sealKey(d.data, getenv("OSMIS_SEAL_KEY"))
	if err != nil {
		return err
	}
	if *demo {
		if err := SeedDemo(ctx, db); err != nil {
			return fmt.Errorf("seeding demo data: %w", err)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	defer ln.Close()
	if *baseURL == "" {
		*baseURL = "http://" + ln.Addr().String()
	}
	*baseURL = strings.TrimRight(*baseURL, "/")

	hc := &http.Client{Timeout: 15 * time.Second}
	worker := provision.NewWorker(db, &provision.Client{Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret, HTTP: hc}, logger)
	srv, err := server.New(server.Config{DB: db, Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret, BaseURL: *baseURL,
		Logger: logger, Now: now, Seal: seal, Kick: worker.Kick, HTTPClient: hc})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(bg) })
	wg.Go(func() { sweep(bg, db, logger) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "OSMIS is running at %s/ (sign in: %s/login; MILogin issuer %s)\n", *baseURL, *baseURL, *issuer)
	logger.Info("serving", "addr", ln.Addr().String(), "base_url", *baseURL, "issuer", *issuer, "demo", *demo, "clock_offset", offset.String())

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	stopBG()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// sweep deletes expired sessions and abandoned sign-ins every hour.
func sweep(ctx context.Context, db *store.DB, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := db.SweepExpired(ctx); err != nil && ctx.Err() == nil {
			logger.Error("sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sealKey returns the AEAD that seals ID tokens at rest: OSMIS_SEAL_KEY
// (base64 of 32 bytes; every node of a multi-node deployment must share
// it), or a key generated once in the data folder.
func sealKey(dataDir, env string) (cipher.AEAD, error) {
	var key []byte
	if env != "" {
		b, err := base64.StdEncoding.DecodeString(env)
		if err != nil || len(b) != 32 {
			return nil, UsageError{Msg: "OSMIS_SEAL_KEY must be the base64 of 32 bytes"}
		}
		key = b
	} else {
		path := filepath.Join(dataDir, "seal.key")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			if key, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err != nil || len(key) != 32 {
				return nil, fmt.Errorf("%s is not the base64 of 32 bytes", path)
			}
		case errors.Is(err, os.ErrNotExist):
			key = make([]byte, 32)
			rand.Read(key)
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, err
			}
			if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("writing the sealing key: %w", err)
			}
		default:
			return nil, fmt.Errorf("reading the sealing key: %w", err)
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func runBootstrap(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("osmis admin bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var d dbFlags
	d.register(fs)
	loginID := fs.String("login-id", "", "MILogin ID of the administrator, exactly as in MILogin (required)")
	email := fs.String("email", "", "work email, exactly as in MILogin (required)")
	mwaName := fs.String("mwa", "", "the administrator's MWA; created if new (required)")
	domain := fs.String("domain", "", "a valid email domain of the MWA, e.g. miworks.org (required)")
	first := fs.String("first", "MWA", "first name")
	last := fs.String("last", "Administrator", "last name")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return UsageError{}
		}
		return UsageError{Msg: err.Error()}
	}
	// Only --data and --db come from the environment here.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, n := range []string{"data", "db"} {
		if v := getenv(envName(n)); v != "" && !given[n] {
			_ = fs.Lookup(n).Value.Set(v)
		}
	}
	if *loginID == "" || *email == "" || *mwaName == "" || *domain == "" {
		return UsageError{Msg: "--login-id, --email, --mwa and --domain are required"}
	}
	db, err := store.Open(ctx, d.db, d.data)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := Bootstrap(ctx, db, *mwaName, *domain, &store.Staff{FirstName: *first, LastName: *last, LoginID: *loginID, Email: *email})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "MWA Administrator %s (%s) of %s is ACTIVE; OSMIS grants their access in MILogin once it runs.\n",
		s.LoginID, s.Email, s.MWAName)
	return nil
}

// Bootstrap creates (or adds the domain to) the MWA and the administrator
// s in it, ACTIVE, which queues their grant in MILogin.
func Bootstrap(ctx context.Context, db *store.DB, mwaName, domain string, s *store.Staff) (*store.Staff, error) {
	m, err := db.MWAByName(ctx, mwaName)
	if errors.Is(err, store.ErrNotFound) {
		m, err = db.CreateMWA(ctx, mwaName, []string{domain})
	} else if err == nil && !containsDomain(m, domain) {
		if err = db.AddDomain(ctx, m.ID, domain); err == nil {
			m, err = db.GetMWA(ctx, m.ID)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("MWA %q: %w", mwaName, err)
	}
	if !m.HasDomain(s.Email) {
		return nil, UsageError{Msg: fmt.Sprintf("--email %s is not in the MWA's domains (%s)", s.Email, strings.Join(m.Domains, ", "))}
	}
	s.MWAID, s.Status, s.IsAdmin = m.ID, store.Active, true
	if err := db.CreateStaff(ctx, s); err != nil {
		return nil, fmt.Errorf("creating the administrator: %w", err)
	}
	return db.GetStaff(ctx, s.ID)
}

func containsDomain(m *store.MWA, d string) bool {
	for _, x := range m.Domains {
		if x == store.NormDomain(d) {
			return true
		}
	}
	return false
}
