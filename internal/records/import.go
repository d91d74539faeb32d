package records

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"milogin"
)

// Header is the first line every records file must have, in this order.
var Header = []string{"card_number", "first_name", "middle_name", "last_name", "suffix", "date_of_birth", "status"}

// Reject is a row the import refused, with the reason shown to the operator.
type Reject struct {
	Line   int
	Reason string
}

// Result counts what an import did. Rows counted as unchanged were already
// stored exactly as given, so running the same file twice loads and updates
// nothing the second time.
type Result struct {
	Lines     int // data lines read (the header not counted)
	Loaded    int // new cards
	Updated   int // cards whose data changed
	Unchanged int
	Rejected  int
}

// Importer loads a records CSV file into the store. It streams: the file is
// read one row at a time and written in batches of BatchSize rows, one
// transaction each (a batch is looked up and written with a few multi-row
// statements), so memory grows with the file only by a hash and a line
// number per card, kept to refuse repeated cards. Every row is checked
// whole before anything of it is written: a rejected row is never half
// imported. A database failure
// rolls back its batch only and stops the import; the batches before it
// stay, and running the file again finishes the job.
type Importer struct {
	Store     milogin.Store
	Now       func() time.Time
	BatchSize int // rows per transaction; 0 means 1000
	// OnReject is called for each rejected row as it is found (so rejects
	// are not held in memory).
	OnReject func(Reject)
	// Progress, when set, is called after each batch with the data lines
	// read so far.
	Progress func(lines int)
}

type row struct {
	line int
	rec  milogin.CardRecord
}

// Import reads CSV from r and applies it.
func (im *Importer) Import(ctx context.Context, r io.Reader) (Result, error) {
	const op = "records.Import"
	var res Result
	now := time.Now
	if im.Now != nil {
		now = im.Now
	}
	batch := im.BatchSize
	if batch <= 0 {
		batch = 1000
	}
	runAt := now().UTC().Truncate(time.Microsecond)
	// seen holds every card number read so far with the line it was first
	// on, so that a card repeated later in the file, in the same batch or
	// another, is refused on every run: the first line wins, whether this
	// run wrote it or found it unchanged. Numbers are kept as 64-bit hashes
	// (the live heap at the end of a million cards is about 36 MB, most of
	// it this map, with or without the lines; the numbers as strings would
	// take more). Two different numbers of a file of a million share a
	// hash with odds of about 1 in 30 million; the seed is new for every
	// run, so such a refusal would not repeat when the file is imported
	// again.
	seen := map[uint64]int{}
	seed := maphash.MakeSeed()
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return res, milogin.Errorf(op, milogin.EINVALID, "the file is empty: want the header %s", strings.Join(Header, ","))
		}
		return res, milogin.Errorf(op, milogin.EINVALID, "line 1: %v", err)
	}
	if !headerOK(head) {
		return res, milogin.Errorf(op, milogin.EINVALID, "line 1: the header must be %s", strings.Join(Header, ","))
	}
	reject := func(line int, reason string) {
		res.Rejected++
		if im.OnReject != nil {
			im.OnReject(Reject{Line: line, Reason: reason})
		}
	}
	pending := make([]row, 0, batch)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		var loaded, updated, unchanged int
		var rejects []Reject
		// A card repeated: the first occurrence wins and the others are
		// reported. (If the batch cannot be written the import stops, so
		// marking its cards seen before the write decides nothing.)
		numbers := make([]string, 0, len(pending))
		rows := make([]*row, 0, len(pending))
		for i := range pending {
			p := &pending[i]
			h := maphash.String(seed, p.rec.Number)
			if line, dup := seen[h]; dup {
				rejects = append(rejects, Reject{p.line, fmt.Sprintf("card_number %s appears on an earlier line of this file (line %d)", FormatCard(p.rec.Number), line)})
				continue
			}
			seen[h] = p.line
			numbers = append(numbers, p.rec.Number)
			rows = append(rows, p)
		}
		inBatch := len(rejects)
		err := im.Store.Write(ctx, func(tx milogin.Tx) error {
			loaded, updated, unchanged, rejects = 0, 0, 0, rejects[:inBatch]
			olds, err := tx.Records().GetMany(ctx, numbers)
			if err != nil {
				return err
			}
			stored := make(map[string]*milogin.CardRecord, len(olds))
			for _, o := range olds {
				stored[o.Number] = o
			}
			write := make([]*milogin.CardRecord, 0, len(rows))
			for _, p := range rows {
				old := stored[p.rec.Number]
				switch {
				case old == nil:
					loaded++
				case old.SameData(&p.rec):
					unchanged++
					continue
				default:
					updated++
				}
				p.rec.ImportedAt, p.rec.UpdatedAt = runAt, runAt
				write = append(write, &p.rec)
			}
			return tx.Records().PutMany(ctx, write)
		})
		if err != nil {
			return milogin.Wrap(op, fmt.Errorf("writing lines %d-%d (nothing of them was kept): %w", pending[0].line, pending[len(pending)-1].line, err))
		}
		res.Loaded += loaded
		res.Updated += updated
		res.Unchanged += unchanged
		slices.SortFunc(rejects, func(a, b Reject) int { return a.Line - b.Line })
		for _, rj := range rejects {
			reject(rj.Line, rj.Reason)
		}
		pending = pending[:0]
		if im.Progress != nil {
			im.Progress(res.Lines)
		}
		return nil
	}
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return res, milogin.Wrap(op, err)
			}
			res.Lines++
			reject(pe.Line, "not valid CSV: "+pe.Err.Error())
			continue
		}
		// FieldPos only after a good read: after a parse error there may be
		// no field 0, and asking for it panics (found by FuzzImport).
		line, _ := cr.FieldPos(0)
		res.Lines++
		rec, reason := parseRow(fields, runAt)
		if reason != "" {
			reject(line, reason)
			continue
		}
		pending = append(pending, row{line: line, rec: rec})
		if len(pending) == batch {
			if err := flush(); err != nil {
				return res, err
			}
		}
		if err := ctx.Err(); err != nil {
			return res, milogin.Wrap(op, err)
		}
	}
	return res, flush()
}

func headerOK(h []string) bool {
	if len(h) != len(Header) {
		return false
	}
	for i, f := range h {
		f = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(f, "\ufeff")))
		if f != Header[i] {
			return false
		}
	}
	return true
}

// parseRow checks one data row; reason is "" when it is good.
func parseRow(f []string, now time.Time) (milogin.CardRecord, string) {
	var rec milogin.CardRecord
	if len(f) != len(Header) {
		return rec, fmt.Sprintf("want %d fields (%s), got %d", len(Header), strings.Join(Header, ","), len(f))
	}
	for i, v := range f {
		if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return rec, Header[i] + " has control characters or is not UTF-8"
		}
		f[i] = strings.TrimSpace(v)
	}
	number, ok := NormalizeCard(f[0], "")
	switch {
	case f[0] == "":
		return rec, "card_number is empty"
	case !ok:
		return rec, fmt.Sprintf("card_number %q is not one letter and 12 digits", truncate(f[0], 40))
	}
	names := []struct {
		col, v   string
		required bool
		max      int
	}{{"first_name", f[1], true, 64}, {"middle_name", f[2], false, 64}, {"last_name", f[3], true, 64}, {"suffix", f[4], false, 10}}
	for _, n := range names {
		switch {
		case n.v == "" && n.required:
			return rec, n.col + " is empty"
		case utf8.RuneCountInString(n.v) > n.max:
			return rec, fmt.Sprintf("%s is longer than %d characters", n.col, n.max)
		case n.v != "" && !validName(n.v):
			return rec, fmt.Sprintf("%s %q has characters a name cannot have", n.col, truncate(n.v, 40))
		}
	}
	dob, err := time.Parse("2006-01-02", f[5])
	switch {
	case f[5] == "":
		return rec, "date_of_birth is empty"
	case err != nil:
		return rec, fmt.Sprintf("date_of_birth %q is not a date (YYYY-MM-DD)", truncate(f[5], 20))
	case dob.Year() < 1880 || dob.After(now):
		return rec, fmt.Sprintf("date_of_birth %s is out of range", f[5])
	}
	status := milogin.CardStatus(strings.ToLower(f[6]))
	if !validStatus(status) {
		return rec, fmt.Sprintf("status %q is not one of valid, expired, suspended, revoked, deceased", truncate(f[6], 20))
	}
	return milogin.CardRecord{Number: number, FirstName: f[1], MiddleName: f[2], LastName: f[3], Suffix: f[4],
		DateOfBirth: f[5], Status: status}, ""
}

func validStatus(s milogin.CardStatus) bool {
	for _, x := range milogin.CardStatuses {
		if s == x {
			return true
		}
	}
	return false
}

// validName accepts letters (any script, with their marks), spaces,
// hyphens, apostrophes and periods, with at least one letter.
func validName(s string) bool {
	letter := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.Is(unicode.Mn, r) || r == ' ' || r == '-' || r == '\'' || r == '’' || r == '.':
		default:
			return false
		}
	}
	return letter
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
