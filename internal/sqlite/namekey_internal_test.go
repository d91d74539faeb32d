package sqlite

import (
	"database/sql"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"

	"milogin/internal/sqlstore"
	"milogin/internal/storetest"
)

// A database from before the name key was MILogin's own (migration 01103)
// keeps its accounts findable by name after the upgrade, the names that
// SQLite's lower() could not fold included (the Go migration 01104).
func TestNameKeyMigrationRefoldsExistingNames(t *testing.T) {
	ctx := t.Context()
	path := t.TempDir() + "/milogin.db"
	old, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, old, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1102); err != nil {
		t.Fatal(err)
	}
	storetest.InsertOldNames(t, old)
	old.Close()

	db, err := Open(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.WantOldNamesFound(t, db)
}
