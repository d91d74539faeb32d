package postgres_test

import (
	"database/sql"
	"sync"
	"testing"

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

func pool(db *postgres.DB) *sql.DB {
	w, _ := db.Pools()
	return w
}
