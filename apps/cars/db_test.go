package cars

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"
)

// PostgreSQL tests read the DSN from MILOGIN_TEST_POSTGRES (as the rest of
// the repository does) or CARS_TEST_POSTGRES, and run in a fresh schema.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CARS_TEST_POSTGRES")
	if base == "" {
		base = os.Getenv("MILOGIN_TEST_POSTGRES")
	}
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MILOGIN_TEST_POSTGRES is not set: PostgreSQL tests must run in CI")
		}
		t.Skip("MILOGIN_TEST_POSTGRES is not set: skipping PostgreSQL")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "cars_" + hex.EncodeToString(b)
	exec := func(stmt string) {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// engines runs fn against SQLite and PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := OpenDB(context.Background(), "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := postgresDSN(t)
		db, err := OpenDB(context.Background(), dsn, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		// Migrating again (a second node starting) is a no-op.
		db2, err := OpenDB(context.Background(), dsn, "")
		if err != nil {
			t.Fatalf("second migration: %v", err)
		}
		db2.Close()
		fn(t, db)
	})
}

func testKeys(t *testing.T) *keys {
	t.Helper()
	k, err := loadKeys("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var t0 = time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
