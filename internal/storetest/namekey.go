package storetest

import (
	"database/sql"
	"testing"

	"milogin"
)

// The name-key upgrade (migrations 01103 and 01104), tested on each engine
// from a database migrated up to 01102: InsertOldNames writes accounts as
// MILogin did before it, the engine's test opens the store (the rest of the
// migrations run), and WantOldNamesFound searches for them by name.
var oldNames = []struct{ id, first, last, query string }{
	{"a1", "ÉMILE", "ÁLVAREZ", "álvarez émile"},
	{"a2", "John", "Smith", "smith john"},
}

// InsertOldNames writes the accounts of the upgrade test with the columns
// of migration 01102 (name_norm is the engine's then).
func InsertOldNames(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, n := range oldNames {
		if _, err := db.ExecContext(t.Context(), `INSERT INTO accounts (id, portal, user_id, user_id_norm, first_name, last_name, status, created_at)
			VALUES ($1, 'thirdparty', $1, $1, $2, $3, 'active', 1)`, n.id, n.first, n.last); err != nil {
			t.Fatal(err)
		}
	}
}

// WantOldNamesFound checks that each account of InsertOldNames is found by
// its name in lower case after the upgrade.
func WantOldNamesFound(t *testing.T, s milogin.Store) {
	t.Helper()
	for _, n := range oldNames {
		read(t, s, func(tx milogin.Tx) error {
			hits := must(tx.Accounts().Search(ctx(t), milogin.AccountSearch{Portal: milogin.ThirdParty, Field: milogin.SearchName, Prefix: n.query, Limit: 10}))
			if len(hits) != 1 || hits[0].Account.ID != n.id {
				t.Errorf("search %q after the upgrade: %d hits, want %s", n.query, len(hits), n.id)
			}
			return nil
		})
	}
}
