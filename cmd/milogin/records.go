package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"milogin"
	"milogin/internal/records"
)

// runRecords is `milogin records import FILE.csv` and `milogin records stats`:
// the Secretary of State card records citizen sign-up verifies against.
func runRecords(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		fmt.Fprint(stderr, "usage: milogin records import FILE.csv | milogin records stats\n")
		return usageError{}
	}
	switch args[0] {
	case "import":
		return runRecordsImport(ctx, args[1:], getenv, stdout, stderr)
	case "stats":
		return runRecordsStats(ctx, args[1:], getenv, stdout, stderr)
	}
	return usageError{msg: fmt.Sprintf("unknown records command %q", args[0])}
}

func runRecordsImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin records import FILE.csv", stderr)
	var c common
	c.register(fs)
	batch := fs.Int("batch", 1000, "rows written per transaction")
	// The file comes first or after the flags: records import FILE [flags].
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return usageError{}
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if file == "" {
		return usageError{msg: "records import needs the CSV file: milogin records import FILE.csv"}
	}
	if err := applyEnv(fs, getenv); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	res, err := importRecords(ctx, e.store, f, *batch, stdout, stderr)
	if err != nil {
		return fmt.Errorf("import stopped: %s", milogin.ErrorMessage(err))
	}
	if res.Rejected > 0 {
		return fmt.Errorf("%d row(s) rejected", res.Rejected)
	}
	return nil
}

// importRecords runs the import, printing each reject as it is found and
// the counts at the end; with a terminal on stderr it shows the lines read.
func importRecords(ctx context.Context, store milogin.Store, r io.Reader, batch int, stdout, stderr io.Writer) (records.Result, error) {
	tty := isTerminal(stderr)
	im := &records.Importer{Store: store, BatchSize: batch,
		OnReject: func(rj records.Reject) {
			if tty {
				fmt.Fprint(stderr, "\r\033[K")
			}
			fmt.Fprintf(stdout, "line %d: rejected: %s\n", rj.Line, rj.Reason)
		},
	}
	if tty {
		im.Progress = func(n int) { fmt.Fprintf(stderr, "\r%d lines read…", n) }
	}
	res, err := im.Import(ctx, r)
	if tty {
		fmt.Fprint(stderr, "\r\033[K")
	}
	fmt.Fprintf(stdout, "loaded %d, updated %d, unchanged %d, rejected %d (%d lines)\n",
		res.Loaded, res.Updated, res.Unchanged, res.Rejected, res.Lines)
	return res, err
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runRecordsStats(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin records stats", stderr)
	var c common
	c.register(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	var counts map[milogin.CardStatus]int
	if err := e.store.Read(ctx, func(tx milogin.Tx) (err error) {
		counts, err = tx.Records().CountByStatus(ctx)
		return err
	}); err != nil {
		return err
	}
	total := 0
	for _, st := range milogin.CardStatuses {
		fmt.Fprintf(stdout, "%-10s %d\n", st, counts[st])
		total += counts[st]
	}
	fmt.Fprintf(stdout, "%-10s %d\n", "total", total)
	return nil
}
