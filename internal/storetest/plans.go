package storetest

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"milogin/internal/sqlstore"
)

// Explain returns the lines of the plan the engine chooses for q.
type Explain func(ctx context.Context, q sqlstore.HotQuery) ([]string, error)

// RequireIndexedPlans fails for every hot query (sqlstore.HotQueries) whose
// plan contains a line for which isScan reports a full scan of a table. The
// engine's explain must plan as production does: on PostgreSQL a generic
// plan (prepared statements with parameters) with sequential scans
// discouraged, so that an empty test table does not make a scan look cheap.
func RequireIndexedPlans(t *testing.T, explain Explain, isScan func(line string) bool) {
	t.Helper()
	for _, q := range sqlstore.HotQueries() {
		lines, err := explain(t.Context(), q)
		if err != nil {
			t.Errorf("%s: explain: %v\n%s", q.Name, err, q.SQL)
			continue
		}
		if len(lines) == 0 {
			t.Errorf("%s: empty plan", q.Name)
			continue
		}
		for _, l := range lines {
			if isScan(l) {
				t.Errorf("%s: full scan in the plan:\n%s\nquery: %s", q.Name, strings.Join(lines, "\n"), q.SQL)
				break
			}
		}
	}
}

// RequireAccountUniqueColumns fails when a unique index on accounts, other
// than the primary key, holds a column missing from
// sqlstore.AccountUniqueColumns: an update changing that column would run
// without the savepoint that keeps its transaction usable after a
// conflict on PostgreSQL. uniqueIndexes returns each such index's name
// and columns, as the engine's catalog lists them: query, run on db,
// returns one row (index name, column name) per column.
func RequireAccountUniqueColumns(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	idx := map[string][]string{}
	for rows.Next() {
		var name, col string
		if err := rows.Scan(&name, &col); err != nil {
			t.Fatal(err)
		}
		idx[name] = append(idx[name], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(idx) == 0 {
		t.Fatal("no unique index on accounts found: the catalog query is wrong")
	}
	known := sqlstore.AccountUniqueColumns()
	for name, cols := range idx {
		for _, c := range cols {
			if !slices.Contains(known, c) {
				t.Errorf("unique index %s holds %s, which sqlstore.AccountUniqueColumns lacks", name, c)
			}
		}
	}
}
