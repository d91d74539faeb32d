package records_test

import (
	"bytes"
	"database/sql"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"milogin"
	"milogin/internal/records"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

// FuzzImport feeds the records importer any bytes. Properties: no panic; a
// file either imports (every data line counted once as loaded, unchanged
// or rejected, each reject with a line and a reason) or is refused whole
// with an invalid-input error that wrote nothing; and what is stored is
// exactly the loaded rows, whole and clean (no NUL, control character or
// invalid UTF-8). One SQLite store per fuzz worker, emptied before each
// input, keeps an iteration to a few milliseconds.
func FuzzImport(f *testing.F) {
	good := header +
		"S123456789012,Mary,Ann,Smith-Jones,,1980-02-29,valid\n" +
		"J-123-456-789-013,John,,Doe,Jr.,1975-07-04,SUSPENDED\n"
	for _, s := range []string{
		good,
		"\ufeff" + strings.ToUpper(header) + "S123456789012,Mary,,Smith,,1980-01-01,valid\n",
		strings.ReplaceAll(good, "\n", "\r\n"),
		"card_number,first_name,last_name\nS123456789012,Mary,Smith\n",
		"",
		"\n",
		header,
		header + `"S123456789012","Mary ""M""",,"O'Neil",,1980-01-01,valid` + "\n",
		header + `S123456789012,"Mary,Ann",,Smith,,1980-01-01,valid` + "\n",
		header + "S123456789012,\"Mary\nAnn\",,Smith,,1980-01-01,valid\n",
		header + "S123456789012,\"Mary,,Smith,,1980-01-01,valid\n",
		header + "S123456789012,Ma\x00ry,,Smith,,1980-01-01,valid\n",
		header + "S123456789012,Ma\xffry,,Smith,,1980-01-01,valid\n",
		header + "S123456789012,\xc3,,Smith,,1980-01-01,valid\n",
		header + "S123456789012," + strings.Repeat("A", 70000) + ",,Smith,,1980-01-01,valid\n",
		header + "S123456789012,Mary,,Smith,,1980-01-01\n",
		header + "S123456789012,Mary,,Smith,,1980-01-01,valid,extra\n",
		header + "S123456789012,Mary,,Smith,,1980-01-01,valid\nS123456789012,Anne,,Smith,,1980-01-01,valid\nS123456789012,Anna,,Smith,,1980-01-01,valid\n",
		header + "S123456789012,Mary,,Smith,,2999-01-01,valid\nS12345678901,Mary,,Smith,,1980-01-01,valid\n",
		header + "\x00,\x00,\x00,\x00,\x00,\x00,\x00\n",
		"card_number\x00,first_name,middle_name,last_name,suffix,date_of_birth,status\n",
		"\"card_number,first_name\n",
	} {
		f.Add([]byte(s))
	}
	db, err := sqlite.Open(f.Context(), f.TempDir()+"/m.db", sqlstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	raw, err := sql.Open("sqlite", db.Path)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { raw.Close() })
	f.Fuzz(func(t *testing.T, file []byte) {
		ctx := t.Context()
		if _, err := raw.ExecContext(ctx, `DELETE FROM card_records`); err != nil {
			t.Fatal(err)
		}
		c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
		var rejects []records.Reject
		// Batches of 2 so that repeats and failures cross batch boundaries.
		im := &records.Importer{Store: db, Now: c.now, BatchSize: 2, OnReject: func(r records.Reject) { rejects = append(rejects, r) }}
		res, err := im.Import(ctx, bytes.NewReader(file))
		stored := storedRecords(t, raw)
		if err != nil {
			if !milogin.IsKind(err, milogin.EINVALID) || milogin.ErrorMessage(err) == "" {
				t.Fatalf("Import error %v (kind %q): want a clear invalid-input error", err, milogin.ErrorKind(err))
			}
			if res != (records.Result{}) || len(stored) != 0 {
				t.Fatalf("a refused file changed something: result %+v, %d stored", res, len(stored))
			}
			return
		}
		if got := res.Loaded + res.Updated + res.Unchanged + res.Rejected; got != res.Lines {
			t.Fatalf("result %+v: %d lines accounted for, %d read", res, got, res.Lines)
		}
		if res.Updated != 0 || res.Unchanged != 0 {
			t.Fatalf("result %+v: an empty store has nothing to update", res)
		}
		if len(rejects) != res.Rejected {
			t.Fatalf("%d rejects reported, result says %d", len(rejects), res.Rejected)
		}
		for _, r := range rejects {
			if r.Line < 2 || r.Reason == "" || !utf8.ValidString(r.Reason) {
				t.Fatalf("reject %+v: want a data line and a readable reason", r)
			}
		}
		if len(stored) != res.Loaded+res.Updated {
			t.Fatalf("%d records stored, result %+v", len(stored), res)
		}
		for _, r := range stored {
			checkStored(t, r)
		}
	})
}

// storedRecords reads every card record's text columns straight from the
// table, so that nothing the store's own reading might hide is missed.
func storedRecords(t *testing.T, raw *sql.DB) [][]string {
	t.Helper()
	rows, err := raw.QueryContext(t.Context(), `SELECT number, first_name, middle_name, last_name, suffix, date_of_birth, status, account_id FROM card_records`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		r := make([]string, 8)
		if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7]); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkStored: a stored record is one whole accepted row.
func checkStored(t *testing.T, r []string) {
	t.Helper()
	for _, v := range r {
		if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) || v != strings.TrimSpace(v) {
			t.Fatalf("stored record %q has a control character, invalid UTF-8 or untrimmed space", r)
		}
	}
	if n, ok := records.NormalizeCard(r[0], ""); !ok || n != r[0] {
		t.Fatalf("stored card number %q is not normalised", r[0])
	}
	if r[1] == "" || r[3] == "" || r[7] != "" {
		t.Fatalf("stored record %q: want first and last names and no account", r)
	}
	if _, err := time.Parse("2006-01-02", r[5]); err != nil {
		t.Fatalf("stored date of birth %q: %v", r[5], err)
	}
	valid := false
	for _, s := range milogin.CardStatuses {
		valid = valid || string(s) == r[6]
	}
	if !valid {
		t.Fatalf("stored status %q", r[6])
	}
}
