// Package sqlite stores MILogin's data in one SQLite file, the default for a
// single node. It uses modernc.org/sqlite (pure Go, no cgo) and the shared
// SQL of internal/sqlstore.
//
// The file is opened twice: a writer pool with exactly one connection, whose
// transactions begin IMMEDIATE, and a read-only pool for Store.Read. One
// writer is how SQLite works anyway; making it explicit means write
// transactions queue in Go instead of failing with SQLITE_BUSY, and
// BEGIN IMMEDIATE takes the write lock up front so that a second process
// (the CLI, while the server runs) waits its turn (busy_timeout) rather than
// deadlocking on a read lock upgraded too late. WAL lets readers proceed
// while a write is in progress.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"milogin"
	"milogin/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a milogin.Store on an SQLite file.
type DB struct {
	*sqlstore.Store
	// Path is the database file.
	Path string
}

// The whole contract comes from the embedded sqlstore.Store.
var _ milogin.Store = (*DB)(nil)

// Dialect is SQLite's: no row locks (the single writer serializes), and
// unique violations recognized by their extended result code.
var Dialect = sqlstore.Dialect{
	Name:            "sqlite",
	ForUpdate:       "",
	SkipLocked:      "",
	UniqueViolation: uniqueViolation,
	BulkRows:        8,
	CacheStatements: true,
	StatementAtomic: true,
}

// uniqueViolation returns SQLite's error text, which names the columns of
// the violated key ("UNIQUE constraint failed: accounts.portal,
// accounts.email_norm").
func uniqueViolation(err error) (string, bool) {
	var e *msqlite.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return e.Error(), true
		}
	}
	return "", false
}

// Open opens (creating if needed) the database file at path, creates its
// parent directory, applies pending migrations and returns the store.
// In-memory databases are not supported: the reader pool would not see the
// writer's data.
func Open(ctx context.Context, path string, opts sqlstore.Options) (*DB, error) {
	const op = "sqlite.Open"
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, milogin.Errorf(op, milogin.EINVALID, "SQLite needs a file path, not %q", path)
	}
	// The driver splits the DSN at the first '?': a path containing one
	// would be cut short.
	if strings.ContainsRune(path, '?') {
		return nil, milogin.Errorf(op, milogin.EINVALID, "SQLite path %q contains '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, milogin.Wrap(op, err)
	}

	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, milogin.Wrap(op, err)
	}

	// The reader opens after the writer has switched the file to WAL.
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, milogin.Wrap(op, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, milogin.Wrap(op, err)
	}
	return &DB{Store: sqlstore.New(write, read, Dialect, opts), Path: path}, nil
}

// dsn builds the driver's connection string. Pragmas apply to every new
// connection of the pool: busy_timeout so that another process's write
// makes us wait rather than fail, foreign_keys because SQLite leaves them
// off by default, synchronous(NORMAL) which is durable enough in WAL mode
// (a power loss may lose the last transactions, never corrupt the file).
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
		// The commit that finds the log longer than this many pages
		// copies it into the database file, holding the one write
		// connection meanwhile. At SQLite's default of 1,000 pages that
		// was a tenth of a token request's CPU and most of its latency
		// spikes; ten times as long a log (40 MB at most) copies a page
		// written many times once, a tenth as often.
		q.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	return path + "?" + q.Encode()
}

// migrate applies the embedded migrations, each in its own transaction.
//
// goose has no lock for SQLite. When two processes open a fresh file at the
// same moment, both may plan the same migration; BEGIN IMMEDIATE makes the
// second wait for the first, after which its copy fails (the table exists).
// A second pass then finds the migration applied, so one retry with a fresh
// provider is enough; a genuinely broken migration fails twice.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	up := func() error {
		// Features number their migrations in blocks (00100 self-service,
		// 00200 OpenID Connect, 00300 MFA, …) that land in any order: a
		// block below a version already applied is applied, not refused.
		p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithAllowOutofOrder(true), goose.WithGoMigrations(sqlstore.NameKeyMigration()))
		if err != nil {
			return fmt.Errorf("loading migrations: %w", err)
		}
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("migrating: %w", err)
		}
		return nil
	}
	if err := up(); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return up()
	}
	return nil
}
