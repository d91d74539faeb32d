// Package sqlstore implements milogin.Store in hand-written, portable SQL over
// database/sql. The SQLite (internal/sqlite) and PostgreSQL
// (internal/postgres) adapters open their databases, run their own migrations
// and hand the pools to New with a Dialect that holds the few differences
// between the engines. There is no SQL rewriting: every statement here runs
// as written on both engines ($1 placeholders, ON CONFLICT, RETURNING).
//
// What the package promises, beyond the milogin.Store contract:
//
//   - Times are stored as unix microseconds, UTC. A zero time.Time is stored
//     as 0 and reads back as the zero time.Time; every other time reads back
//     in UTC, truncated to the microsecond. (The consequence: the instant
//     1970-01-01T00:00:00Z itself reads back as the zero time.)
//   - User IDs and emails are unique per portal after milogin.NormalizeLogin,
//     enforced by unique indexes, so it holds under concurrent inserts on any
//     number of nodes. An empty email is not unique (accounts may lack one).
//   - A failed Create or Update (a unique violation) leaves the surrounding
//     Write usable on both engines. On PostgreSQL, which would otherwise
//     abort the transaction, an insert whose every conflict means the same
//     thing says ON CONFLICT DO NOTHING and counts its row (insertNew); an
//     insert or update that must name the index it ran into runs under a
//     savepoint, and an update under one only when it changes an indexed
//     unique column. SQLite undoes a failed statement alone.
//   - Writes inside Read fail instead of running outside a transaction.
//   - With Options.AEAD set, outbox message bodies (which carry PINs) are
//     sealed at rest.
//   - DeleteExpired(before) removes rows that expire at or before "before",
//     matching Session.Live and Code.Usable, which treat a session or code as
//     dead from the instant of its expiry.
package sqlstore

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"errors"
	"time"

	"milogin"
)

// Options configures the behaviour shared by both engines.
type Options struct {
	// AEAD, when set, seals Message.Text and Message.HTML before they are
	// written (a random nonce is prepended) and opens them when read:
	// outbox bodies contain PINs and passcodes, which must not sit in
	// database backups in the clear. A nil AEAD stores bodies as they are.
	AEAD cipher.AEAD
}

// Dialect holds what differs between the engines. It is deliberately tiny:
// anything larger belongs in the adapter's own SQL, not in a translator.
type Dialect struct {
	// Name names the engine in error messages: "sqlite", "postgres".
	Name string
	// ForUpdate is appended to the SELECT that loads a row for an Update:
	// " FOR UPDATE" on PostgreSQL, where concurrent transactions on many
	// nodes must queue on the row lock; "" on SQLite, whose single writer
	// (BEGIN IMMEDIATE) already serializes every write transaction.
	ForUpdate string
	// SkipLocked is appended to the SELECT that picks outbox messages to
	// claim: " FOR UPDATE SKIP LOCKED" on PostgreSQL, so that concurrent
	// workers take different messages instead of waiting for each other;
	// "" on SQLite.
	SkipLocked string
	// UniqueViolation reports whether err is a unique-constraint violation
	// and returns text naming the violated constraint: the constraint name
	// on PostgreSQL, the error text (which lists the columns) on SQLite.
	// Index and column names are chosen so that "user_id_norm" or
	// "email_norm" appears in that text on both engines.
	UniqueViolation func(err error) (constraint string, ok bool)
	// BulkRows is how many rows one multi-row INSERT of a bulk write
	// carries (0: 1). SQLite looks bound parameters up by name in a list,
	// which makes a statement's cost grow with the square of its
	// parameters: a few rows per statement is fastest there. PostgreSQL
	// pays a round trip per statement: hundreds of rows are.
	BulkRows int
	// CacheStatements keeps each query prepared (stmtcache.go): on for
	// SQLite, which otherwise compiles every statement on every call; off
	// for PostgreSQL, whose driver caches prepared statements itself.
	CacheStatements bool
	// StatementAtomic means a failed statement leaves its transaction
	// usable (SQLite undoes just the statement), so savepoint need not set
	// one: on SQLite the SAVEPOINT and RELEASE around every insert and
	// update were a third of the statements of a sign-in flow. PostgreSQL
	// aborts the whole transaction instead and needs them.
	StatementAtomic bool
	// ReadRows, when set, runs the hot reads of a Read (the session of a
	// signed-in page, a bearer token with its account) on the driver's own
	// interface and calls each for every row, instead of going through
	// database/sql. On PostgreSQL, database/sql's pgx adapter builds a
	// conversion per column on every query and boxes every value as a
	// driver.Value before Scan copies it out: for the 40-odd columns of a
	// session with its account, a third of a signed-in page's
	// allocations. Nil: database/sql, as every other query.
	ReadRows func(ctx context.Context, db *sql.DB, query string, args []any, each func(Scanner) error) error
}

// Store implements milogin.Store over a write pool and a read pool (which
// may be the same *sql.DB).
type Store struct {
	write *sql.DB
	read  *sql.DB
	d     Dialect
	opts  Options
	// The pools' statement caches, with Dialect.CacheStatements (nil
	// otherwise); readCache is writeCache when the pools are one.
	writeCache, readCache *stmtCache
	// catalog is the applications as Read sees them.
	catalog catalogCache
}

// New returns a Store that writes through write and reads through read. The
// schema must already exist. Close closes both pools.
func New(write, read *sql.DB, d Dialect, opts Options) *Store {
	if read == nil {
		read = write
	}
	if d.UniqueViolation == nil {
		d.UniqueViolation = func(error) (string, bool) { return "", false }
	}
	s := &Store{write: write, read: read, d: d, opts: opts}
	if d.CacheStatements {
		s.writeCache = newStmtCache(write)
		s.readCache = s.writeCache
		if read != write {
			s.readCache = newStmtCache(read)
		}
	}
	return s
}

var _ milogin.Store = (*Store)(nil)

// Write runs fn in one transaction on the write pool. If fn returns an error
// or panics, the transaction is rolled back; fn's error is returned
// unchanged so that callers see their own error kinds and messages.
//
// On SQLite the write pool has one connection: fn must not call Write again
// (it would wait forever for that connection). Calling Read from fn is fine,
// but Read does not see fn's uncommitted writes.
func (s *Store) Write(ctx context.Context, fn func(milogin.Tx) error) (err error) {
	const op = "sqlstore.Write"
	// What the request's reads learned may change now.
	milogin.StoreScopeOf(ctx).Forget()
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	done := false
	defer func() {
		if !done {
			// fn panicked: roll back, then let the panic continue.
			_ = sqlTx.Rollback()
		}
	}()
	var q querier = sqlTx
	var tq *txQuerier
	if s.writeCache != nil {
		tq = &txQuerier{tx: sqlTx, c: s.writeCache}
		q = tq
	}
	t := &tx{q: q, d: &s.d, opts: &s.opts}
	err = fn(t)
	done = true
	if err != nil {
		_ = sqlTx.Rollback()
	} else if cerr := sqlTx.Commit(); cerr != nil {
		err = milogin.Wrap(op, cerr)
	}
	if tq != nil {
		// The connection is free again: prepare what ran unprepared.
		tq.warm(ctx)
	}
	return err
}

// WriteOne runs fn on the write pool without a transaction. Only the write
// methods that are one statement (writableAlone) may run in it, once.
func (s *Store) WriteOne(ctx context.Context, fn func(milogin.Tx) error) error {
	milogin.StoreScopeOf(ctx).Forget() // as Write
	var q querier = s.write
	if s.writeCache != nil {
		q = poolQuerier{db: s.write, c: s.writeCache}
	}
	return fn(&tx{q: q, d: &s.d, opts: &s.opts, alone: new(bool)})
}

// Read runs fn on the read pool without a transaction: each query sees the
// latest committed data. Methods that write fail with EINTERNAL.
func (s *Store) Read(ctx context.Context, fn func(milogin.Tx) error) error {
	var q querier = s.read
	if s.readCache != nil {
		q = poolQuerier{db: s.read, c: s.readCache}
	}
	t := &tx{q: q, d: &s.d, opts: &s.opts, readOnly: true, catalog: &s.catalog}
	if s.d.ReadRows != nil {
		t.native = s.read
	}
	return fn(t)
}

// Ping reports whether both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return milogin.Wrap("sqlstore.Ping", err)
	}
	if s.read != s.write {
		if err := s.read.PingContext(ctx); err != nil {
			return milogin.Wrap("sqlstore.Ping", err)
		}
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	if s.readCache != nil && s.readCache != s.writeCache {
		s.readCache.close()
	}
	if s.writeCache != nil {
		s.writeCache.close()
	}
	var errs []error
	if s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	return errors.Join(errs...)
}

// Pools returns the underlying pools, for what the contract does not cover:
// tests that inspect the schema, backups, administrative tools. Writes
// through them bypass every rule of this package.
func (s *Store) Pools() (write, read *sql.DB) { return s.write, s.read }

// RawMessageBodies returns the outbox bodies of message id exactly as they
// are stored, and whether they were sealed. It exists for tests that check
// that PINs are not readable at rest; nothing else should call it.
func (s *Store) RawMessageBodies(ctx context.Context, id int64) (text, html []byte, sealed bool, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT body_text, body_html, sealed FROM outbox WHERE id = $1`, id).
		Scan(&text, &html, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, false, notFound("sqlstore.RawMessageBodies", "Message not found.")
	}
	if err != nil {
		return nil, nil, false, milogin.Wrap("sqlstore.RawMessageBodies", err)
	}
	return text, html, sealed, nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx implements milogin.Tx. Its repositories are small values that share it.
type tx struct {
	q        querier
	d        *Dialect
	opts     *Options
	readOnly bool
	// alone, in a WriteOne, says whether its one write has run.
	alone *bool
	// catalog, in a Read, serves the applications (nil in a Write).
	catalog *catalogCache
	// native, in a Read on a dialect with ReadRows, is the pool its hot
	// reads run on through ReadRows (nil otherwise: see eachRow).
	native *sql.DB
}

// eachRow runs a query of a hot read and calls fn for every row: through
// Dialect.ReadRows in a Read that has it, else through database/sql. The
// caller wraps the error with its operation.
func (t *tx) eachRow(ctx context.Context, query string, args []any, fn func(Scanner) error) error {
	if t.native != nil {
		return t.d.ReadRows(ctx, t.native, query, args, fn)
	}
	rows, err := t.q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// hotOne is queryOne for a hot read (eachRow): the first row's value, or
// notFound when there is none.
func hotOne[T any](ctx context.Context, t *tx, op, notFoundMsg string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	var (
		v    T
		seen bool
	)
	err := t.eachRow(ctx, query, args, func(s Scanner) error {
		if seen {
			return nil
		}
		seen = true
		var err error
		v, err = scan(s)
		return err
	})
	if err == nil && !seen {
		return v, notFound(op, notFoundMsg)
	}
	if err != nil {
		var zero T
		return zero, milogin.Wrap(op, err)
	}
	return v, nil
}

func (t *tx) Accounts() milogin.AccountStore { return accounts{t} }
func (t *tx) Sessions() milogin.SessionStore { return sessions{t} }
func (t *tx) Codes() milogin.CodeStore       { return codes{t} }
func (t *tx) Audit() milogin.AuditLog        { return audit{t} }
func (t *tx) Outbox() milogin.Outbox         { return outbox{t} }
func (t *tx) Limits() milogin.LimitStore     { return limits{t} }
func (t *tx) Settings() milogin.SettingStore { return settings{t} }
func (t *tx) Apps() milogin.AppStore         { return apps{t} }
func (t *tx) Grants() milogin.GrantStore     { return grants{t} }
func (t *tx) LoginRequests() milogin.LoginRequestStore {
	return loginRequests{t}
}
func (t *tx) SigningKeys() milogin.SigningKeyStore       { return signingKeys{t} }
func (t *tx) OAuthRequests() milogin.OAuthRequestStore   { return oauthRequests{t} }
func (t *tx) OAuthTokens() milogin.OAuthTokenStore       { return oauthTokens{t} }
func (t *tx) SessionClients() milogin.SessionClientStore { return sessionClients{t} }
func (t *tx) TOTP() milogin.TOTPStore                    { return totpKeys{t} }
func (t *tx) WebAuthn() milogin.WebAuthnStore            { return webAuthn{t} }

// writable returns an error when a write is attempted inside Read, where it
// would run outside any transaction (and, on SQLite, on a query-only pool).
func (t *tx) writable(op string) error {
	if t.readOnly {
		return &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: errors.New("write attempted inside Store.Read")}
	}
	if t.alone != nil {
		return &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: errors.New("a write of several statements needs Store.Write, not WriteOne")}
	}
	return nil
}

// writableAlone is writable for a write method that is a single statement:
// it may also run once in a WriteOne.
func (t *tx) writableAlone(op string) error {
	if t.alone == nil {
		return t.writable(op)
	}
	if *t.alone {
		return &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: errors.New("a second write inside Store.WriteOne")}
	}
	*t.alone = true
	return nil
}

// savepoint runs fn under a savepoint and rolls back to it if fn fails, so
// that an expected failure (a unique violation) leaves the transaction usable
// on PostgreSQL, which otherwise aborts the whole transaction, exactly as it
// stays usable on SQLite.
func (t *tx) savepoint(ctx context.Context, fn func() error) error {
	if t.d.StatementAtomic {
		// Every fn is one statement: its failure undoes only itself.
		return fn()
	}
	if _, err := t.q.ExecContext(ctx, "SAVEPOINT sqlstore_stmt"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rerr := t.q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT sqlstore_stmt"); rerr != nil {
			return errors.Join(err, rerr)
		}
		if _, rerr := t.q.ExecContext(ctx, "RELEASE SAVEPOINT sqlstore_stmt"); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := t.q.ExecContext(ctx, "RELEASE SAVEPOINT sqlstore_stmt")
	return err
}

// insertNew runs insert, an INSERT of one row, so that a row already there
// under any unique key fails with ECONFLICT and msg and leaves the
// transaction usable on both engines: with ON CONFLICT DO NOTHING, and
// the row counted. It is the savepoint's guarantee in one statement: on
// PostgreSQL the SAVEPOINT and RELEASE around every such insert were two
// of its round trips (a token from the client-credentials grant took six
// in all).
func (t *tx) insertNew(ctx context.Context, op, msg, insert string, args ...any) error {
	res, err := t.q.ExecContext(ctx, insert+` ON CONFLICT DO NOTHING`, args...)
	n, err := affected(op, res, err)
	if err == nil && n == 0 {
		return &milogin.Error{Op: op, Kind: milogin.ECONFLICT, Msg: msg}
	}
	return err
}

// savepointIf is savepoint when conflict says a unique violation is
// possible, and fn alone when none can happen: on PostgreSQL the
// SAVEPOINT and RELEASE are two round trips of three.
func (t *tx) savepointIf(ctx context.Context, conflict bool, fn func() error) error {
	if !conflict {
		return fn()
	}
	return t.savepoint(ctx, fn)
}

// scanner is what *sql.Row and *sql.Rows have in common.
// Scanner is a row being read: *sql.Rows, *sql.Row, or a driver's own rows
// (Dialect.ReadRows).
type Scanner interface {
	Scan(dest ...any) error
}

type scanner = Scanner

// toDB stores a time as unix microseconds, the zero time as 0.
func toDB(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromDB is the inverse of toDB: 0 is the zero time, anything else is UTC.
func fromDB(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// stored sets each time to what reading it back will give (UTC,
// microseconds), so that an Update returns exactly what a Get would.
func stored(ts ...*time.Time) {
	for _, t := range ts {
		*t = fromDB(toDB(*t))
	}
}

func notFound(op, msg string) error {
	return &milogin.Error{Op: op, Kind: milogin.ENOTFOUND, Msg: msg}
}

// conflictOr turns a unique violation into ECONFLICT with msg; any other error
// is wrapped as EINTERNAL.
func (t *tx) conflictOr(op string, err error, msg func(constraint string) string) error {
	if c, ok := t.d.UniqueViolation(err); ok {
		return &milogin.Error{Op: op, Kind: milogin.ECONFLICT, Msg: msg(c), Err: err}
	}
	return milogin.Wrap(op, err)
}

// rowsAffected reports ENOTFOUND when a statement touched no row.
func rowsAffected(op string, res sql.Result, err error, msg string) error {
	n, err := affected(op, res, err)
	if err == nil && n == 0 {
		return notFound(op, msg)
	}
	return err
}

// affected returns the number of rows a statement touched, its error (or
// RowsAffected's) wrapped with op.
func affected(op string, res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, milogin.Wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, milogin.Wrap(op, err)
	}
	return n, nil
}

// queryAll runs query on q and returns its rows as scan reads them, every
// error wrapped with op.
func queryAll[T any](ctx context.Context, q querier, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return list, nil
}

// queryOne runs a query for one row and scans it; no row is ENOTFOUND with
// notFoundMsg, any other failure EINTERNAL under op.
func queryOne[T any](ctx context.Context, q querier, op, notFoundMsg string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, notFound(op, notFoundMsg)
	}
	if err != nil {
		var zero T
		return zero, milogin.Wrap(op, err)
	}
	return v, nil
}

// scanString reads a row of one text column.
func scanString(s scanner) (string, error) {
	var v string
	err := s.Scan(&v)
	return v, err
}

// scanJoined scans one row that holds the columns of two records side by
// side, first's then second's, with each record's own scan function:
// first's Scan runs second, and second's Scan reads the whole row into
// both sets of destinations at once.
func scanJoined[A, B any](s scanner, first func(scanner) (A, error), second func(scanner) (B, error)) (A, B, error) {
	var b B
	a, err := first(scanFunc(func(d1 ...any) error {
		var err error
		b, err = second(scanFunc(func(d2 ...any) error {
			return s.Scan(append(d1[:len(d1):len(d1)], d2...)...)
		}))
		return err
	}))
	return a, b, err
}

// scanFunc is a function that is a scanner.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// withAccount is a record read together with its account.
type withAccount[T any] struct {
	v    T
	acct *milogin.Account
}

// scanWithAccount returns the scan function of a row of first's columns
// followed by an account's.
func scanWithAccount[T any](first func(scanner) (T, error)) func(scanner) (withAccount[T], error) {
	return func(s scanner) (withAccount[T], error) {
		v, a, err := scanJoined(s, first, scanAccount)
		return withAccount[T]{v, a}, err
	}
}
