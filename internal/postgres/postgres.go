// Package postgres stores MILogin's data in PostgreSQL, for deployments with
// several nodes. It uses pgx through database/sql and the shared SQL of
// internal/sqlstore; the differences from SQLite are row locks (SELECT ...
// FOR UPDATE in Update methods, SKIP LOCKED when claiming outbox messages)
// and how a unique violation is recognized.
//
// Tables live in the first schema of the connection's search_path, which may
// be given in the DSN (postgres://…/db?search_path=milogin); goose's version
// table lives there too, so several MILogin databases (or test runs) can
// share one PostgreSQL database in separate schemas.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"milogin"
	"milogin/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a milogin.Store on PostgreSQL.
type DB struct {
	*sqlstore.Store
	// Schema is where the tables are: the first schema of the search_path.
	Schema string
}

// The whole contract comes from the embedded sqlstore.Store.
var _ milogin.Store = (*DB)(nil)

// Dialect is PostgreSQL's: rows read for an Update are locked until the
// transaction ends, so concurrent read-modify-writes on any node queue on the
// row; outbox claims skip rows another worker holds.
var Dialect = sqlstore.Dialect{
	Name:            "postgres",
	ForUpdate:       " FOR UPDATE",
	SkipLocked:      " FOR UPDATE SKIP LOCKED",
	UniqueViolation: uniqueViolation,
	BulkRows:        500,
	ReadRows:        readRows,
}

// readRows runs a hot read on pgx's own interface, on a connection of the
// database/sql pool: pgx scans each column straight into its destination
// (with the connection's cached prepared statement), where database/sql
// would first have it build a conversion per column and box each value.
func readRows(ctx context.Context, db *sql.DB, query string, args []any, each func(sqlstore.Scanner) error) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: the pool's connections are %T, not pgx's", dc)
		}
		rows, err := sc.Conn().Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// uniqueViolation recognizes SQLSTATE 23505 and returns the constraint (for
// a unique index, the index) name.
func uniqueViolation(err error) (string, bool) {
	var e *pgconn.PgError
	if errors.As(err, &e) && e.Code == "23505" {
		return e.ConstraintName, true
	}
	return "", false
}

// MaxOpenConns bounds each node's pool. A Write holds one connection for its
// whole callback, and a Read called from inside a Write needs a second one.
const MaxOpenConns = 25

// Open connects to the database at dsn, applies pending migrations under an
// advisory lock (several nodes may start at once) and returns the store.
func Open(ctx context.Context, dsn string, opts sqlstore.Options) (*DB, error) {
	const op = "postgres.Open"
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	db.SetMaxOpenConns(MaxOpenConns)
	db.SetMaxIdleConns(MaxOpenConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, milogin.Wrap(op, err)
	}
	schema, err := migrate(ctx, db)
	if err != nil {
		db.Close()
		return nil, milogin.Wrap(op, err)
	}
	return &DB{Store: sqlstore.New(db, db, Dialect, opts), Schema: schema}, nil
}

// migrate applies the embedded migrations, each in a transaction, holding a
// session-level advisory lock so that nodes starting together migrate one
// after the other (the later ones find nothing to do). The lock ID is
// derived from the schema, so that databases in different schemas (test
// runs in parallel) do not wait for each other.
func migrate(ctx context.Context, db *sql.DB) (schema string, err error) {
	var cur sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&cur); err != nil {
		return "", err
	}
	if !cur.Valid {
		return "", errors.New("no schema of the search_path exists: create it first")
	}
	schema = cur.String
	h := fnv.New64a()
	h.Write([]byte("milogin.migrate:" + schema))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		// Poll every second for up to five minutes: migrations are quick,
		// and the default five-second poll would slow every start but one.
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return "", err
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return "", err
	}
	// Migrations come in per-feature blocks that may land out of order
	// (see internal/sqlite): a lower block is applied, not refused.
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker), goose.WithAllowOutofOrder(true), goose.WithGoMigrations(sqlstore.NameKeyMigration()))
	if err != nil {
		return "", fmt.Errorf("loading migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return "", fmt.Errorf("migrating schema %q: %w", schema, err)
	}
	return schema, nil
}
