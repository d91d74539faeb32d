// Package store keeps OSMIS's own data: Michigan Works Agencies and their
// email domains, staff accounts, OSMIS sessions, the sign-ins in flight,
// the provisioning outbox, participant records, tasks and the links of the
// system-selection page. It runs on an SQLite file (the default) or on
// PostgreSQL with the same SQL ($1 placeholders, integer times in Unix
// milliseconds); each engine has its own embedded migrations.
//
// OSMIS is a separate program: this package shares nothing with MILogin's
// storage. What it promises:
//
//   - A staff change and the provisioning call it causes are written in one
//     transaction (the outbox), so a crash never loses a grant or a revoke.
//   - Setting a staff account INACTIVE deletes its OSMIS sessions in that
//     same transaction.
//   - MILogin IDs and emails are unique, compared without case; the
//     prerequisites compare them exactly (see Prerequisites).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// Errors callers tell apart with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// ConflictError names what already exists ("MILogin ID", "Email Address").
type ConflictError struct{ Field, Value string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %s is already used by another staff account", e.Field, e.Value)
}
func (e *ConflictError) Unwrap() error { return ErrConflict }

// DB is OSMIS's database.
type DB struct {
	db     *sql.DB
	engine string // "sqlite" or "postgres"
	// Now is the clock of every time written; tests and --clock-offset set it.
	Now func() time.Time
}

// Open opens dsn: "" means SQLite at dataDir/osmis.db, "sqlite:PATH" an
// SQLite file, "postgres://…" PostgreSQL (the schema of its search_path).
// Pending migrations are applied.
func Open(ctx context.Context, dsn, dataDir string) (*DB, error) {
	var d *DB
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		db.SetMaxOpenConns(10)
		d = &DB{db: db, engine: "postgres"}
	case dsn == "" || strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			path = filepath.Join(dataDir, "osmis.db")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating the data folder: %w", err)
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("opening SQLite: %w", err)
		}
		// One connection: SQLite has one writer anyway, and OSMIS is small.
		db.SetMaxOpenConns(1)
		d = &DB{db: db, engine: "sqlite"}
	default:
		return nil, fmt.Errorf("--db %q: want sqlite:PATH or postgres://…", dsn)
	}
	d.Now = time.Now
	if err := d.migrate(ctx); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Ping answers whether the database answers (/readyz).
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

func (d *DB) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations/"+d.engine)
	if err != nil {
		return err
	}
	var p *goose.Provider
	if d.engine == "postgres" {
		var schema string
		if err := d.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("reading the schema: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte("osmis.migrate:" + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 300))
		if err != nil {
			return err
		}
		p, err = goose.NewProvider(goose.DialectPostgres, d.db, fsys, goose.WithSessionLocker(locker),
			goose.WithAllowOutofOrder(true), goose.WithTableName("osmis_goose_version"))
		if err != nil {
			return err
		}
	} else {
		p, err = goose.NewProvider(goose.DialectSQLite3, d.db, fsys, goose.WithAllowOutofOrder(true),
			goose.WithTableName("osmis_goose_version"))
		if err != nil {
			return err
		}
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrating the OSMIS database: %w", err)
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func (d *DB) now() int64 { return ms(d.Now()) }

// tx runs fn in a transaction, committed when fn returns nil.
func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isUnique reports a unique-key violation of either engine.
func isUnique(err error) bool {
	var se *msqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// insertID inserts and returns the new row's id (RETURNING works on both).
func insertID(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

// GetSetting reads a setting ("" when unset).
func (d *DB) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := d.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetSetting writes a setting.
func (d *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
