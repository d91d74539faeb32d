package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"milogin"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
	"milogin/internal/storetest"
)

// mustOpen opens a fresh database in a temporary directory (a subdirectory,
// so that Open's MkdirAll is exercised too).
func mustOpen(tb testing.TB, opts sqlstore.Options) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "data", "milogin.db"), opts)
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

// Two handles on one file stand for two processes (the server and a CLI
// command): with BEGIN IMMEDIATE and a busy timeout their write transactions
// take turns instead of failing with SQLITE_BUSY or losing updates.
func TestTwoProcessesWrite(t *testing.T) {
	dbs := openTwo(t)
	a := &milogin.Account{ID: "a1", Portal: milogin.Citizen, UserID: "jsmith", Status: milogin.StatusActive}
	if err := dbs[0].Write(t.Context(), func(tx milogin.Tx) error { return tx.Accounts().Create(t.Context(), a) }); err != nil {
		t.Fatal(err)
	}
	const perProcess = 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*perProcess)
	for _, db := range dbs {
		for range perProcess {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.Write(t.Context(), func(tx milogin.Tx) error {
					// Read first, then write: the pattern that deadlocks
					// with deferred transactions.
					_, err := tx.Accounts().Update(t.Context(), a.ID, func(a *milogin.Account) error {
						a.FailedLogins++
						return nil
					})
					return err
				})
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var got *milogin.Account
	if err := dbs[1].Read(t.Context(), func(tx milogin.Tx) (err error) {
		got, err = tx.Accounts().Get(t.Context(), a.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.FailedLogins != 2*perProcess {
		t.Fatalf("FailedLogins = %d, want %d", got.FailedLogins, 2*perProcess)
	}
}

// Another process's change to the catalog (the command line, while the
// server runs) is seen by the next read here, though reads keep the
// catalog in memory.
func TestCatalogChangesSeenAcrossProcesses(t *testing.T) {
	dbs := openTwo(t)
	storetest.CatalogChangesSeen(t, dbs[0], dbs[1])
}

// openTwo opens two handles on one new file: two processes, as the server
// and a command-line command are.
func openTwo(t *testing.T) [2]*sqlite.DB {
	path := filepath.Join(t.TempDir(), "milogin.db")
	var dbs [2]*sqlite.DB
	for i := range dbs {
		db, err := sqlite.Open(t.Context(), path, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

// The read pool is query-only in SQLite itself, not only by convention.
func TestReadPoolIsQueryOnly(t *testing.T) {
	db := mustOpen(t, sqlstore.Options{})
	_, read := db.Pools()
	if _, err := read.ExecContext(t.Context(), `INSERT INTO settings (name, value) VALUES ('k', x'00')`); err == nil {
		t.Fatal("the read pool accepted an INSERT")
	}
	write, _ := db.Pools()
	for name, pool := range map[string]*sql.DB{"write": write, "read": read} {
		for pragma, want := range map[string]string{"foreign_keys": "1", "busy_timeout": "10000", "journal_mode": "wal", "synchronous": "1"} {
			var got string
			if err := pool.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s pool: %s = %s, want %s", name, pragma, got, want)
			}
		}
	}
	var pages int
	if err := write.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&pages); err != nil || pages != 10000 {
		t.Errorf("write pool: wal_autocheckpoint = %d (%v), want 10000", pages, err)
	}
}

func TestOpenRejects(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory", filepath.Join(t.TempDir(), "a?b.db")} {
		if db, err := sqlite.Open(t.Context(), path, sqlstore.Options{}); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", path)
		} else if !milogin.IsKind(err, milogin.EINVALID) {
			t.Errorf("Open(%q): %v, want EINVALID", path, err)
		}
	}
}

// Opening an existing database applies no migration twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "milogin.db")
	for range 2 {
		db, err := sqlite.Open(t.Context(), path, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Write(t.Context(), func(tx milogin.Tx) error {
			_, err := tx.Limits().Hit(t.Context(), "k", time.Hour, time.Unix(0, 0))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}

// Every hot query finds its rows through an index: no "SCAN <table>" in
// EXPLAIN QUERY PLAN (a SEARCH is an index lookup), and no SEARCH on the
// portal alone, which reads every account of the portal.
func TestHotQueryPlans(t *testing.T) {
	db := mustOpen(t, sqlstore.Options{})
	raw, err := sql.Open("sqlite", db.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	explain := func(ctx context.Context, q sqlstore.HotQuery) ([]string, error) {
		rows, err := raw.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q.SQL, q.Args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return nil, err
			}
			lines = append(lines, detail)
		}
		return lines, rows.Err()
	}
	storetest.RequireIndexedPlans(t, explain, func(l string) bool {
		return strings.HasPrefix(l, "SCAN ") || strings.HasSuffix(l, "(portal=?)")
	})
}

func TestAccountUniqueColumns(t *testing.T) {
	db := mustOpen(t, sqlstore.Options{})
	raw, err := sql.Open("sqlite", db.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storetest.RequireAccountUniqueColumns(t, raw, `SELECT il.name, ii.name FROM pragma_index_list('accounts') AS il,
			pragma_index_info(il.name) AS ii WHERE il."unique" = 1 AND il.origin <> 'pk'`)
}
