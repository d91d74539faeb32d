package sqlite_test

import (
	"strings"
	"testing"

	"milogin"
	"milogin/internal/sqlstore"
)

// The help desk's searches are range scans on an index, never a scan of
// every account (fast at a million accounts): the plan names the index.
func TestSearchUsesIndex(t *testing.T) {
	db := mustOpen(t, sqlstore.Options{})
	_, read := db.Pools()
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
			rows, err := read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			rows.Close()
			got := strings.Join(plan, "; ")
			if !strings.Contains(got, "INDEX "+index) || strings.Contains(got, "TEMP B-TREE") {
				t.Errorf("search by %s (after %q): plan %q, want a search of %s without a sort", field, after, got, index)
			}
		}
	}
}
