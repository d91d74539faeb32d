package cars

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationTable is goose's version table, named for CARS so that CARS may
// share a PostgreSQL database with another program without a collision.
const migrationTable = "cars_goose_db_version"

// DB is CARS's own database: SQLite in the data folder by default, or
// PostgreSQL. The SQL of this package runs unchanged on both.
type DB struct {
	sql      *sql.DB
	postgres bool
}

// OpenDB opens (and migrates) the database named by dsn: a postgres:// URL,
// or else a SQLite file path ("" means cars.db in dataDir).
func OpenDB(ctx context.Context, dsn, dataDir string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		db.SetMaxOpenConns(10)
		if err := migrate(ctx, db, true); err != nil {
			db.Close()
			return nil, err
		}
		return &DB{sql: db, postgres: true}, nil
	}
	path := dsn
	if path == "" {
		path = filepath.Join(dataDir, "cars.db")
	}
	if strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("SQLite path %q: give a plain file path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the data folder: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening SQLite: %w", err)
	}
	// One connection: SQLite has one writer, and every transaction of CARS
	// is short. Nothing here queries while holding a transaction open.
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := migrate(ctx, db, false); err != nil {
		db.Close()
		return nil, err
	}
	return &DB{sql: db}, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

func migrate(ctx context.Context, db *sql.DB, postgres bool) error {
	fsys, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return err
	}
	dialect := database.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithAllowOutofOrder(true), goose.WithDisableGlobalRegistry(true)}
	if postgres {
		dialect = database.DialectPostgres
		// Several CARS nodes may start at once: one migrates, the others wait.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(0x43415253), lock.WithLockTimeout(1, 300))
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	store, err := database.NewStore(dialect, migrationTable)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider("", db, fsys, append(opts, goose.WithStore(store))...)
	if err != nil {
		return fmt.Errorf("loading migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrating the CARS database: %w", err)
	}
	return nil
}

// tx runs fn in a transaction, committed when fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	t, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		_ = t.Rollback()
		return err
	}
	return t.Commit()
}

// ms is a time as stored: Unix milliseconds (0 is "never").
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// newID is a random identifier for rows nobody types.
func newID() string { return rand.Text() }

var errNotFound = errors.New("not found")

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errNotFound
	}
	return err
}
