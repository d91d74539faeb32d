// Package pgtest gives tests an empty PostgreSQL schema of their own.
//
// The server comes from MILOGIN_TEST_POSTGRES, a pgx DSN such as
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Without it, tests
// that need PostgreSQL are skipped, except in CI (CI=true), where they fail:
// a CI run must never pass by skipping the PostgreSQL backend.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// EnvDSN names the variable that holds the test server's DSN.
const EnvDSN = "MILOGIN_TEST_POSTGRES"

// DSN creates a fresh schema t_<random hex> on the test server and returns a
// DSN whose search_path is that schema. The schema is dropped, with
// everything in it, when the test ends. Stores opened on the DSN must be
// closed first: register their Close with tb.Cleanup after calling DSN
// (cleanups run last-in, first-out).
func DSN(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvDSN)
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set: PostgreSQL tests must run in CI", EnvDSN)
		}
		tb.Skipf("%s is not set: skipping PostgreSQL tests", EnvDSN)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)

	exec(tb, base, `CREATE SCHEMA `+schema)
	tb.Cleanup(func() { exec(tb, base, `DROP SCHEMA `+schema+` CASCADE`) })
	return WithSearchPath(tb, base, schema)
}

// WithSearchPath returns dsn with its search_path set to schema, in either
// DSN form pgx accepts (URL or key=value).
func WithSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("parsing %s: %v", EnvDSN, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// exec runs one statement on a short-lived connection to the server.
func exec(tb testing.TB, dsn, stmt string) {
	tb.Helper()
	// Not tb.Context(): it is already canceled when Cleanup functions run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		tb.Fatalf("%s: %v", stmt, err)
	}
}
