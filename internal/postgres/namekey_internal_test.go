package postgres

import (
	"database/sql"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"

	"milogin"
	"milogin/internal/postgres/pgtest"
	"milogin/internal/sqlstore"
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
	for _, n := range [][3]string{{"a1", "ÉMILE", "ÁLVAREZ"}, {"a2", "John", "Smith"}} {
		if _, err := old.ExecContext(ctx, `INSERT INTO accounts (id, portal, user_id, user_id_norm, first_name, last_name, status, created_at)
			VALUES ($1, 'thirdparty', $1, $1, $2, $3, 'active', 1)`, n[0], n[1], n[2]); err != nil {
			t.Fatal(err)
		}
	}
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
	for prefix, want := range map[string]string{"álvarez émile": "a1", "smith john": "a2"} {
		err := db.Read(ctx, func(tx milogin.Tx) error {
			hits, err := tx.Accounts().Search(ctx, milogin.AccountSearch{Portal: milogin.ThirdParty, Field: milogin.SearchName, Prefix: prefix, Limit: 10})
			if err != nil {
				return err
			}
			if len(hits) != 1 || hits[0].Account.ID != want {
				t.Errorf("search %q after the upgrade: %d hits, want %s", prefix, len(hits), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
