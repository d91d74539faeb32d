package storetest

import (
	"context"
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
