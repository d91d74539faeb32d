package cars

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzImport feeds the business-account importer any bytes. Properties: no
// panic; a file either imports (every rejected row with a line and a
// reason) or is refused with an error that wrote nothing; and what is
// stored is exactly the loaded accounts, each whole, valid and clean (no
// NUL, control character or invalid UTF-8). A row repeated later in the
// file replaces the earlier one (counted as updated), so the store holds
// as many accounts as were loaded. One SQLite database per fuzz worker,
// emptied before each input, keeps an iteration to a few milliseconds.
func FuzzImport(f *testing.F) {
	const head = "type,account_number,name,street,city,state,zip,email,identifier,balance\n"
	const row = "Dealer,00-00300005,MITTEN MOTORS,1 Main St,Lansing,MI,48933,sales@example.org,D12345,$42.00\n"
	for _, s := range []string{
		importCSV,
		strings.ReplaceAll(importCSV, "\n", "\r\n"),
		"\ufeff" + head + row,
		head + row + row,
		head + row + strings.Replace(row, "MITTEN MOTORS", "MITTEN MOTORS II", 1),
		head + row + strings.Replace(row, "00-00300005", "00-00300006", 1),
		"name,type\nX,Dealer\n",
		"",
		"\n",
		head,
		head + `"Dealer","00-00300005","MITTEN ""M"" MOTORS","1 Main St, Suite 2",Lansing,MI,48933,sales@example.org,D12345,0` + "\n",
		head + "Dealer,00-00300005,\"MITTEN\nMOTORS\",1 Main St,Lansing,MI,48933,sales@example.org,D12345,0\n",
		head + "Dealer,00-00300005,\"MITTEN MOTORS,1 Main St,Lansing,MI,48933,sales@example.org,D12345,0\n",
		head + "Dealer,00-00300005,MITTEN\x00MOTORS,1 Main St,Lansing,MI,48933,sales@example.org,D12345,0\n",
		head + "Dealer,00-00300005,MITTEN MOTORS,1 Main\xff St,Lansing,MI,48933,sales@example.org,D12345,0\n",
		head + "Dealer,00-00300005,MITTEN MOTORS,1 Main St,Lan\x1bsing,MI,48933,sales@example.org,D12345,0\n",
		head + "Dealer,00-00300005," + strings.Repeat("M", 70000) + ",1 Main St,Lansing,MI,48933,sales@example.org,D12345,0\n",
		head + "Dealer,00-00300005,MITTEN MOTORS\n",
		head + "Dealer,00-00300005,MITTEN MOTORS,1 Main St,Lansing,MI,48933,sales@example.org,D12345,0,extra,fields\n",
		head + "Dealer,00-00300005,MITTEN MOTORS,1 Main St,Lansing,MI,48933,sales@example.org,D12345,99999999999999999999\n",
		head + "Dealer,00-00300005,MITTEN MOTORS,1 Main St,Lansing,MI,48933,sales@example.org,D12345,-1.00\n",
		"type,type,account_number,name,street,city,state,zip,email\nDealer,Mechanic,00-00300005,M,1 Main St,Lansing,MI,48933,a@example.org\n",
		"\"type,account_number\n",
	} {
		f.Add([]byte(s))
	}
	db, err := OpenDB(context.Background(), "", f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, file []byte) {
		ctx := t.Context()
		if _, err := db.sql.ExecContext(ctx, `DELETE FROM cars_accounts`); err != nil {
			t.Fatal(err)
		}
		sum, err := ImportAccounts(ctx, db, bytes.NewReader(file), t0)
		stored := storedAccounts(t, db)
		if err != nil {
			if err.Error() == "" || sum.Loaded+sum.Updated+sum.Unchanged+len(sum.Rejected) != 0 || len(stored) != 0 {
				t.Fatalf("refused file (%v) changed something: %+v, %d stored", err, sum, len(stored))
			}
			return
		}
		if sum.Unchanged != 0 && sum.Loaded == 0 {
			t.Fatalf("summary %+v: nothing to leave unchanged in an empty database", sum)
		}
		for _, r := range sum.Rejected {
			if r.Line < 2 || r.Reason == "" || !utf8.ValidString(r.Reason) {
				t.Fatalf("reject %+v: want a data line and a readable reason", r)
			}
		}
		if len(stored) != sum.Loaded {
			t.Fatalf("%d accounts stored, summary %+v", len(stored), sum)
		}
		for _, a := range stored {
			for _, v := range []string{a.Number, a.Type.Slug, a.Ident, a.Name, a.Street, a.City, a.State, a.ZIP, a.Email} {
				if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
					t.Fatalf("stored account %+v has a control character or invalid UTF-8", a)
				}
			}
			b := a
			if err := b.Validate(); err != nil || b != a {
				t.Fatalf("stored account %+v is not valid as stored (%v)", a, err)
			}
		}
	})
}

// storedAccounts reads every business account back through the store.
func storedAccounts(t *testing.T, db *DB) []Account {
	t.Helper()
	rows, err := db.sql.QueryContext(t.Context(), `SELECT number FROM cars_accounts`)
	if err != nil {
		t.Fatal(err)
	}
	var numbers []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out := make([]Account, 0, len(numbers))
	for _, n := range numbers {
		a, err := db.Account(t.Context(), n)
		if err != nil {
			t.Fatalf("account %q: %v", n, err)
		}
		out = append(out, a)
	}
	return out
}
