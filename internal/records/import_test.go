package records_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"milogin"
	"milogin/internal/records"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

func openStore(t *testing.T) milogin.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), t.TempDir()+"/m.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func importString(t *testing.T, s milogin.Store, c *clock, csv string, batch int) (records.Result, []records.Reject, error) {
	t.Helper()
	var rejects []records.Reject
	im := &records.Importer{Store: s, Now: c.now, BatchSize: batch, OnReject: func(r records.Reject) { rejects = append(rejects, r) }}
	res, err := im.Import(t.Context(), strings.NewReader(csv))
	return res, rejects, err
}

const header = "card_number,first_name,middle_name,last_name,suffix,date_of_birth,status\n"

func TestImport(t *testing.T) {
	s := openStore(t)
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	file := header +
		"S 123 456 789 012,Mary,Ann,Smith-Jones,,1980-02-29,valid\n" + // line 2
		"j-123-456-789-013,John,,Doe,Jr.,1975-07-04,SUSPENDED\n" + // line 3: either case
		"123456789014,Ann,,Lee,,1990-01-01,valid\n" + // line 4: no letter
		"S123456789015,,,Smith,,1990-01-01,valid\n" + // line 5: no first name
		"S123456789016,Bob,,Smith,,1990-13-01,valid\n" + // line 6: bad date
		"S123456789017,Bob,,Smith,,1990-01-01,lost\n" + // line 7: bad status
		"S123456789018,Bob,,Smith\n" + // line 8: short
		"S123456789019,B0b,,Smith,,1990-01-01,valid\n" + // line 9: digit in a name
		"S123456789020,\"Bob,,Smith,,1990-01-01,valid\n" + // line 10: bad quoting (runs to EOF)
		""
	res, rejects, err := importString(t, s, c, file, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := records.Result{Lines: 9, Loaded: 2, Rejected: 7}
	if res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	wantLines := []int{4, 5, 6, 7, 8, 9, 10}
	if len(rejects) != len(wantLines) {
		t.Fatalf("rejects = %+v", rejects)
	}
	for i, r := range rejects {
		if r.Line != wantLines[i] || r.Reason == "" {
			t.Errorf("reject %d = %+v, want line %d with a reason", i, r, wantLines[i])
		}
	}
	for _, frag := range []string{"card_number", "first_name is empty", "date_of_birth", "status", "want 7 fields", "first_name"} {
		found := false
		for _, r := range rejects {
			found = found || strings.Contains(r.Reason, frag)
		}
		if !found {
			t.Errorf("no reject names %q: %+v", frag, rejects)
		}
	}
	var got *milogin.CardRecord
	if err := s.Read(t.Context(), func(tx milogin.Tx) (err error) {
		got, err = tx.Records().Get(t.Context(), "J123456789013")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.Status != milogin.CardSuspended || got.Suffix != "Jr." || got.FirstName != "John" {
		t.Errorf("stored %+v", got)
	}

	// The same file again changes nothing.
	res, _, err = importString(t, s, c, file, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := (records.Result{Lines: 9, Unchanged: 2, Rejected: 7}); res != want {
		t.Errorf("second import = %+v, want %+v", res, want)
	}

	// A changed row is updated, a repeated card is reported, the link to
	// an account survives a re-import.
	if err := s.Write(t.Context(), func(tx milogin.Tx) error {
		_, err := tx.Records().Update(t.Context(), "S123456789012", func(r *milogin.CardRecord) error { r.AccountID = "acct-1"; return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	res, rejects, err = importString(t, s, c, header+
		"S123456789012,Mary,Ann,Smith-Jones,,1980-02-29,expired\n"+
		"S123456789012,Mary,Ann,Smith,,1980-02-29,valid\n"+
		"S123456789099,Zoë,,Ñandú,,2001-12-31,valid\n", 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := (records.Result{Lines: 3, Loaded: 1, Updated: 1, Rejected: 1}); res != want {
		t.Errorf("third import = %+v, want %+v", res, want)
	}
	if len(rejects) != 1 || rejects[0].Line != 3 || !strings.Contains(rejects[0].Reason, "earlier line") {
		t.Errorf("rejects = %+v", rejects)
	}
	if err := s.Read(t.Context(), func(tx milogin.Tx) (err error) {
		got, err = tx.Records().Get(t.Context(), "S123456789012")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.Status != milogin.CardExpired || got.LastName != "Smith-Jones" || got.AccountID != "acct-1" {
		t.Errorf("after update %+v", got)
	}
}

func TestImportHeader(t *testing.T) {
	s := openStore(t)
	c := &clock{t: time.Now()}
	for _, file := range []string{"", "card,first,last\nS123456789012,a,b\n", "first_name,card_number,middle_name,last_name,suffix,date_of_birth,status\n"} {
		_, _, err := importString(t, s, c, file, 0)
		if !milogin.IsKind(err, milogin.EINVALID) {
			t.Errorf("Import(%q) = %v, want EINVALID", file, err)
		}
	}
	// A byte-order mark and spaces in the header are fine.
	if _, _, err := importString(t, s, c, "\ufeff card_number , first_name,middle_name,last_name,suffix,date_of_birth,status\n", 0); err != nil {
		t.Errorf("header with BOM: %v", err)
	}
}

// A batch whose transaction fails keeps nothing of itself, and the batches
// before it stay.
func TestImportBatchFailure(t *testing.T) {
	s := &failingStore{Store: openStore(t), failOn: 2}
	c := &clock{t: time.Now()}
	var b strings.Builder
	b.WriteString(header)
	for i := range 5 {
		fmt.Fprintf(&b, "S%012d,Ann,,Lee,,1990-01-01,valid\n", i)
	}
	res, _, err := importString(t, s, c, b.String(), 2)
	if err == nil || !strings.Contains(err.Error(), "lines 4-5") {
		t.Fatalf("err = %v, want the failed batch's lines", err)
	}
	if res.Loaded != 2 {
		t.Errorf("loaded = %d, want the first batch only", res.Loaded)
	}
	var counts map[milogin.CardStatus]int
	if err := s.Read(t.Context(), func(tx milogin.Tx) (err error) { counts, err = tx.Records().CountByStatus(t.Context()); return err }); err != nil {
		t.Fatal(err)
	}
	if counts[milogin.CardValid] != 2 {
		t.Errorf("stored %v, want 2", counts)
	}
}

// failingStore fails its failOn'th Write after running the callback (so
// that the writes were made and must be rolled back).
type failingStore struct {
	milogin.Store
	failOn, n int
}

var errDisk = errors.New("disk full")

func (f *failingStore) Write(ctx context.Context, fn func(milogin.Tx) error) error {
	f.n++
	if f.n == f.failOn {
		return f.Store.Write(ctx, func(tx milogin.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return errDisk
		})
	}
	return f.Store.Write(ctx, fn)
}

// A card repeated in a later batch is refused on every run, not only the
// first: the second run of the same file must change nothing (it used to
// let the later line replace the first, and the third put the first back).
func TestImportRepeatAcrossBatchesIsIdempotent(t *testing.T) {
	s := openStore(t)
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	file := header +
		"S123456789012,John,,Smith,,1980-02-03,valid\n" +
		"S123456789013,Mary,,Jones,,1981-03-04,valid\n" +
		"S123456789014,Ann,,Lee,,1982-04-05,valid\n" +
		"S123456789012,John,,Smith,,1980-02-03,expired\n" // line 5, batch 2
	wantFirst := records.Result{Lines: 4, Loaded: 3, Rejected: 1}
	wantAgain := records.Result{Lines: 4, Unchanged: 3, Rejected: 1}
	for run, want := range []records.Result{wantFirst, wantAgain, wantAgain} {
		res, rejects, err := importString(t, s, c, file, 3)
		if err != nil {
			t.Fatal(err)
		}
		if res != want {
			t.Errorf("run %d = %+v, want %+v", run+1, res, want)
		}
		if len(rejects) != 1 || rejects[0].Line != 5 || !strings.Contains(rejects[0].Reason, "earlier line") {
			t.Errorf("run %d rejects = %+v", run+1, rejects)
		}
		var got *milogin.CardRecord
		if err := s.Read(t.Context(), func(tx milogin.Tx) (err error) {
			got, err = tx.Records().Get(t.Context(), "S123456789012")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got.Status != milogin.CardValid {
			t.Fatalf("run %d: the repeated line replaced the first: status %s", run+1, got.Status)
		}
	}
}
