package sqlite

import (
	"database/sql"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"

	"milogin"
	"milogin/internal/sqlstore"
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
	for _, n := range [][3]string{{"a1", "ÉMILE", "ÁLVAREZ"}, {"a2", "John", "Smith"}} {
		if _, err := old.ExecContext(ctx, `INSERT INTO accounts (id, portal, user_id, user_id_norm, first_name, last_name, status, created_at)
			VALUES ($1, 'thirdparty', $1, $1, $2, $3, 'active', 1)`, n[0], n[1], n[2]); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(ctx, path, sqlstore.Options{})
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
