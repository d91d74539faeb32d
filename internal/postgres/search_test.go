package postgres_test

import (
	"strings"
	"testing"

	"milogin"
	"milogin/internal/sqlstore"
)

// The help desk's searches are range scans on an index. An empty table
// makes a sequential scan cheapest, so the test turns sequential scans off
// for its transaction: the plan then shows that an index can serve the
// query, which is what matters at a million accounts.
func TestSearchUsesIndex(t *testing.T) {
	db := mustOpen(t, sqlstore.Options{})
	for field, index := range map[milogin.SearchField]string{
		milogin.SearchUserID: "accounts_portal_user_id_norm_key", // unique: no ties to order by id,
		milogin.SearchEmail:  "accounts_portal_email_search_idx",
		milogin.SearchName:   "accounts_portal_name_norm_idx",
		milogin.SearchPhone:  "accounts_portal_mobile_search_idx",
	} {
		for _, after := range []string{"", "smithj0001"} {
			q, args, err := sqlstore.SearchQuery(milogin.AccountSearch{Portal: milogin.Citizen, Field: field, Prefix: "smith", AfterKey: after, AfterID: after, Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			tx, err := pool(db).BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(t.Context(), "SET LOCAL enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			rows, err := tx.QueryContext(t.Context(), "EXPLAIN "+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, strings.TrimSpace(line))
			}
			rows.Close()
			_ = tx.Rollback()
			got := strings.Join(plan, "; ")
			if !strings.Contains(got, "Index Scan using "+index) || strings.Contains(got, "Sort") {
				t.Errorf("search by %s (after %q): plan %q, want an index scan of %s without a sort", field, after, got, index)
			}
		}
	}
}
