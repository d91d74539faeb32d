package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStatements bounds the statements a pool keeps prepared. The
// store's queries are a few hundred fixed strings; the rest (searches with
// a variable number of terms, bulk inserts of a variable number of rows)
// are built at run time and would otherwise grow the cache without end.
// Past the bound, a new query string runs unprepared, as before.
const maxCachedStatements = 1024

// stmtCache keeps one prepared statement per distinct query string of a
// pool. SQLite compiles every statement it is handed: in a profile of the
// OpenID Connect flow, parsing and planning the same few dozen queries over
// and over cost about as much CPU as running them. database/sql prepares
// a cached *sql.Stmt once on each connection that uses it (and again,
// transparently, on a new connection), so the compilation happens once
// per connection instead of once per call. PostgreSQL needs none of this:
// pgx already caches prepared statements per connection.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// lookup returns the prepared statement for query, if there is one.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// get returns the prepared statement for query, preparing it the first
// time, or nil when it cannot be cached: the cache is full, or preparing
// failed (the caller then runs the query unprepared, which reports the
// error the way it always did). Preparing takes a connection of the pool:
// never call get while holding the pool's last one (txQuerier does not).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.m[query]
	full := len(c.m) >= maxCachedStatements
	c.mu.RUnlock()
	if ok {
		return st
	}
	if full {
		return nil
	}
	// Prepared without the caller's context: the statement outlives the
	// request (a cancelled request must not leave a broken entry).
	st, err := c.db.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if other, ok := c.m[query]; ok {
		// Another request prepared it meanwhile: keep one.
		st.Close()
		return other
	}
	if len(c.m) >= maxCachedStatements {
		st.Close()
		return nil
	}
	c.m[query] = st
	return st
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// poolQuerier runs queries on a pool through its statement cache.
type poolQuerier struct {
	db *sql.DB
	c  *stmtCache
}

func (p poolQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.c.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, query, args...)
}

func (p poolQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.c.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p poolQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.c.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// txQuerier runs queries in a transaction through the pool's statement
// cache. Tx.StmtContext binds a cached statement to the transaction's
// connection (reusing what was prepared there before); the bound copies
// are kept for the transaction's life, so a query repeated within one
// transaction binds once. A query not yet cached runs unprepared and is
// remembered in missed, for warm to prepare after the transaction: the
// SQLite write pool has one connection, which the transaction holds, so
// preparing on the pool now would wait for ever.
type txQuerier struct {
	tx     *sql.Tx
	c      *stmtCache
	bound  map[*sql.Stmt]*sql.Stmt
	missed []string
}

// warm prepares the queries the transaction ran unprepared. Call it after
// the transaction has ended, when its connection is back in the pool.
func (t *txQuerier) warm(ctx context.Context) {
	for _, q := range t.missed {
		t.c.get(ctx, q)
	}
}

func (t *txQuerier) stmt(query string) *sql.Stmt {
	st := t.c.lookup(query)
	if st == nil {
		if len(t.missed) < 64 {
			t.missed = append(t.missed, query)
		}
		return nil
	}
	if b, ok := t.bound[st]; ok {
		return b
	}
	b := t.tx.Stmt(st)
	if t.bound == nil {
		t.bound = map[*sql.Stmt]*sql.Stmt{}
	}
	t.bound[st] = b
	return b
}

func (t *txQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *txQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *txQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
