package postgres

import (
	"database/sql"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"

	"milogin/internal/postgres/pgtest"
	"milogin/internal/sqlstore"
	"milogin/internal/storetest"
)

// A database from before the name key was MILogin's own (migration 01103)
// keeps its accounts findable by name after the upgrade, refolded by the
// Go migration 01104 where lower() under the database's LC_CTYPE folded a
// name differently from MILogin.
func TestNameKeyMigrationRefoldsExistingNames(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	old, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, old, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1102); err != nil {
		t.Fatal(err)
	}
	storetest.InsertOldNames(t, old)
	if _, err := p.UpTo(ctx, 1103); err != nil {
		t.Fatal(err)
	}
	// As 01103 leaves a database whose LC_CTYPE is "C": lower() folded the
	// ASCII letters only.
	if _, err := old.ExecContext(ctx, `UPDATE accounts SET name_norm = 'Álvarez Émile' WHERE id = 'a1'`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db, err := Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.WantOldNamesFound(t, db)
}
