package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"milogin"
	"milogin/internal/postgres"
	"milogin/internal/postgres/pgtest"
	"milogin/internal/sqlstore"
	"milogin/internal/storetest"
)

// mustOpen opens a store on a fresh schema, closed before the schema is dropped.
func mustOpen(tb testing.TB, opts sqlstore.Options) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(tb.Context(), pgtest.DSN(tb), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// The suite runs twice: outbox bodies stored as they are, and sealed.
func TestStore(t *testing.T) {
	storetest.RunBackend(t, func(t *testing.T, opts sqlstore.Options) milogin.Store { return mustOpen(t, opts) })
}

// Nodes starting at the same moment on an empty schema all come up: the
// migrations run once, under the advisory lock, and the others wait.
func TestOpenConcurrently(t *testing.T) {
	dsn := pgtest.DSN(t)
	const nodes = 4
	dbs := make([]*postgres.DB, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = postgres.Open(t.Context(), dsn, sqlstore.Options{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	// Each node sees the schema; each migration was recorded once.
	for i, db := range dbs {
		if err := db.Write(t.Context(), func(tx milogin.Tx) error {
			_, err := tx.Settings().PutIfAbsent(t.Context(), "node", []byte{byte(i)})
			return err
		}); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	var versions, distinct int
	err := pool(dbs[0]).QueryRowContext(t.Context(),
		`SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&versions, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if versions == 0 || versions != distinct {
		t.Errorf("goose_db_version has %d rows for %d versions", versions, distinct)
	}
	if s := dbs[0].Schema; s == "" || s == "public" {
		t.Errorf("tables went to schema %q, not the DSN's search_path", s)
	}
}

// Another node's change to the catalog is seen by the next read on this
// one, though reads keep the catalog in memory.
func TestCatalogChangesSeenAcrossNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	var dbs [2]*postgres.DB
	for i := range dbs {
		db, err := postgres.Open(t.Context(), dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	storetest.CatalogChangesSeen(t, dbs[0], dbs[1])
}

func pool(db *postgres.DB) *sql.DB {
	w, _ := db.Pools()
	return w
}

// Every hot query finds its rows through an index in the plan PostgreSQL
// uses for a prepared statement after a few executions: the generic plan,
// which knows nothing of the parameters' values (and so cannot use a partial
// index whose condition the query does not repeat). Sequential scans are
// discouraged so that the empty tables of the test do not make one look
// cheap: a Seq Scan left in the plan means no index can answer.
func TestHotQueryPlans(t *testing.T) {
	db := mustOpen(t, sqlstore.Options{})
	conn, err := pool(db).Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// With empty tables every index looks as good as any other; a portal
	// with some thousands of accounts and fresh statistics gives the planner
	// the distribution it sees in production.
	for _, s := range []string{
		`INSERT INTO accounts (id, portal, user_id, user_id_norm, email, email_norm, mobile, mobile_digits, status, created_at)
			SELECT 'a' || i, 'citizen', 'u' || i, 'u' || i, 'u' || i || '@example.com', 'u' || i || '@example.com',
				'517555' || i, '517555' || i, 'active', i FROM generate_series(1, 5000) AS i`,
		`ANALYZE`,
		`SET enable_seqscan = off`,
		`SET plan_cache_mode = force_generic_plan`,
	} {
		if _, err := conn.ExecContext(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	explain := func(ctx context.Context, q sqlstore.HotQuery) ([]string, error) {
		if _, err := conn.ExecContext(ctx, `PREPARE hot AS `+q.SQL); err != nil {
			return nil, err
		}
		defer conn.ExecContext(ctx, `DEALLOCATE hot`)
		lits := make([]string, len(q.Args))
		for i, a := range q.Args {
			switch v := a.(type) {
			case string:
				lits[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
			case int64:
				lits[i] = strconv.FormatInt(v, 10)
			default:
				return nil, fmt.Errorf("argument %d: unexpected type %T", i, a)
			}
		}
		rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE hot(`+strings.Join(lits, ", ")+`)`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				return nil, err
			}
			lines = append(lines, strings.TrimSpace(l))
		}
		return lines, rows.Err()
	}
	// An index condition on the portal alone reads every account of the
	// portal: as bad as a scan.
	storetest.RequireIndexedPlans(t, explain, func(l string) bool {
		return strings.Contains(l, "Seq Scan") || l == "Index Cond: (portal = $1)"
	})
}

func TestAccountUniqueColumns(t *testing.T) {
	db := mustOpen(t, sqlstore.Options{})
	storetest.RequireAccountUniqueColumns(t, pool(db), `SELECT i.relname, a.attname FROM pg_index x
			JOIN pg_class i ON i.oid = x.indexrelid
			JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
			WHERE x.indrelid = 'accounts'::regclass AND x.indisunique AND NOT x.indisprimary`)
}

// The hot reads of a Read (a signed-in page's session with its account and
// grants, a bearer token with its account) run on pgx's own interface
// (Dialect.ReadRows): they read what database/sql reads, with far fewer
// allocations. The comparison is a store over the same pools without it.
func TestHotReadsSkipDatabaseSQL(t *testing.T) {
	db := mustOpen(t, sqlstore.Options{})
	w, r := db.Pools()
	viaSQL := postgres.Dialect
	viaSQL.ReadRows = nil
	plain := sqlstore.New(w, r, viaSQL, sqlstore.Options{}) // not closed: the pools are db's
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	acct := &milogin.Account{ID: "acct-hot", Portal: milogin.ThirdParty, UserID: "hot0001", FirstName: "Hot", LastName: "Read",
		Email: "hot@example.org", EmailVerified: true, PasswordHash: "$argon2id$x", PasswordChangedAt: now,
		PasswordHistory: []string{"a", "b"}, Status: milogin.StatusActive, CreatedAt: now, UpdatedAt: now}
	sess := &milogin.Session{ID: "sess-hot", AccountID: acct.ID, Portal: acct.Portal, Stage: milogin.StageActive,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.1", UserAgent: "test"}
	tok := &milogin.OAuthToken{ID: "tok-hot", Kind: milogin.AccessToken, Portal: acct.Portal, ClientID: "c", Subject: acct.ID,
		Scopes: []string{"openid"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.Accounts().Create(ctx, acct); err != nil {
			return err
		}
		if err := tx.Sessions().Create(ctx, sess); err != nil {
			return err
		}
		return tx.OAuthTokens().Create(ctx, tok)
	}); err != nil {
		t.Fatal(err)
	}
	type got struct {
		sess *milogin.Session
		tok  *milogin.OAuthToken
		a, b *milogin.Account
	}
	read := func(s milogin.Store) got {
		var g got
		c := milogin.WithStoreScope(ctx) // as every request's
		if err := s.Read(c, func(tx milogin.Tx) error {
			var err error
			if g.sess, g.a, err = tx.Sessions().GetWithAccount(c, sess.ID); err != nil {
				return err
			}
			g.tok, g.b, err = tx.OAuthTokens().GetWithAccount(c, tok.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return g
	}
	if a, b := read(db), read(plain); !reflect.DeepEqual(a, b) {
		t.Fatalf("pgx read %+v, database/sql read %+v", a, b)
	}
	native := testing.AllocsPerRun(200, func() { read(db) })
	generic := testing.AllocsPerRun(200, func() { read(plain) })
	t.Logf("allocations per session and token read: %.0f on pgx, %.0f through database/sql", native, generic)
	if native > generic*0.75 {
		t.Errorf("the hot reads allocate %.0f times on pgx against %.0f through database/sql: is Dialect.ReadRows used?", native, generic)
	}
}
