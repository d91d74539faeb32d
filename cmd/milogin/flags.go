package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/postgres"
	"milogin/internal/secrets"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

// common holds the flags every subcommand shares.
type common struct {
	data string
	db   string
}

// newFlagSet returns a FlagSet whose defaults come from MILOGIN_* variables.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// envName turns a flag name into its environment variable: mail-from → MILOGIN_MAIL_FROM.
func envName(flagName string) string {
	return "MILOGIN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its variable.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
			}
		}
	})
	return err
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "milogin-data", "data folder: SQLite database, generated key-encryption key")
	fs.StringVar(&c.db, "db", "", "database: sqlite:PATH or postgres://… (default: SQLite in the data folder)")
}

// parse parses args and applies the environment; a -h answer is a usage error
// with no message.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{}
		}
		return usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return applyEnv(fs, getenv)
}

// env bundles what opening the platform yields.
type env struct {
	store milogin.Store
	kek   *secrets.KEK
	auth  *authn.Service
}

// open loads the key-encryption key and opens the database named by c.
func (c *common) open(ctx context.Context, getenv func(string) string) (*env, error) {
	db := c.db
	isPG := strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
	if db != "" && !isPG && !strings.HasPrefix(db, "sqlite:") {
		return nil, usageError{msg: fmt.Sprintf("--db %q: want sqlite:PATH or postgres://…", db)}
	}
	kek, err := secrets.Load(c.data, getenv("MILOGIN_KEK"))
	if err != nil {
		return nil, fmt.Errorf("loading key-encryption key: %w", err)
	}
	opts := sqlstore.Options{AEAD: kek.AEAD("outbox")}
	var store milogin.Store
	switch {
	case isPG:
		store, err = postgres.Open(ctx, db, opts)
	case db == "":
		store, err = sqlite.Open(ctx, filepath.Join(c.data, "milogin.db"), opts)
	default:
		store, err = sqlite.Open(ctx, strings.TrimPrefix(db, "sqlite:"), opts)
	}
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	auth := authn.NewService(store, authn.NewHasher(authn.DefaultParams, 0), authn.NewCodeHasher(kek.Derive("codes")))
	// Portal policies changed in the administration console replace the
	// defaults (and serve reads them again as they change).
	if err := auth.LoadPolicies(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("loading portal policies: %w", err)
	}
	return &env{store: store, kek: kek, auth: auth}, nil
}
