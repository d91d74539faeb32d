package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/loadgen"
)

// seedTxRows is how many accounts one seeding transaction writes: large
// enough that commits are rare, small enough that a server on the same
// SQLite file gets its turn at the writer between transactions.
const seedTxRows = 5000

// runUsersSeed creates --count accounts for load tests. One password hash is
// computed and shared by all of them, which is why every seeded account is
// marked seeded and refused by a server not started with --allow-seeded.
func runUsersSeed(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin users seed", stderr)
	var c common
	c.register(fs)
	portal := fs.String("portal", "thirdparty", "portal: citizen, thirdparty or workforce")
	count := fs.Int("count", 0, "how many accounts to create")
	start := fs.Int("start", 0, "number of the first account (user IDs are PREFIX followed by 7 digits)")
	prefix := fs.String("prefix", loadgen.DefaultSeedPrefix, "start of every seeded user ID")
	pwStdin := fs.Bool("password-stdin", false, "read the shared password from standard input (default: "+loadgen.DefaultSeedPassword+")")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *count <= 0 || *start < 0 {
		return usageError{msg: "--count must be positive and --start not negative"}
	}
	if *prefix == "" || strings.ContainsAny(*prefix, " \t@") {
		return usageError{msg: "--prefix must be a non-empty word"}
	}
	p, err := milogin.ParsePortal(*portal)
	if err != nil {
		return usageError{msg: milogin.ErrorMessage(err)}
	}
	password := loadgen.DefaultSeedPassword
	if *pwStdin {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading password: %w", err)
		}
		if password = strings.TrimRight(line, "\r\n"); password == "" {
			return usageError{msg: "empty password on standard input"}
		}
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	hash, err := e.auth.Hasher.Hash(ctx, password)
	if err != nil {
		return err
	}

	began := time.Now()
	created, skipped := 0, 0
	last := began
	for done := 0; done < *count; {
		n := min(seedTxRows, *count-done)
		now := time.Now().UTC()
		list := make([]*milogin.Account, n)
		for j := range list {
			sp := loadgen.Seed(*prefix, *start+done+j)
			list[j] = &milogin.Account{
				ID: authn.NewID(), Portal: p, UserID: sp.UserID,
				FirstName: sp.FirstName, LastName: sp.LastName,
				Email: sp.Email, EmailVerified: true, Mobile: sp.Mobile, RecoverByEmail: true,
				PasswordHash: hash, PasswordChangedAt: now,
				Status: milogin.StatusActive, CreatedAt: now, UpdatedAt: now,
				Seeded: true,
			}
		}
		var inserted int
		err := e.store.Write(ctx, func(tx milogin.Tx) error {
			var err error
			inserted, err = tx.Accounts().CreateMany(ctx, list)
			return err
		})
		if err != nil {
			return fmt.Errorf("seeding after %d accounts: %w", created, err)
		}
		created += inserted
		skipped += n - inserted
		done += n
		if t := time.Now(); t.Sub(last) >= time.Second || done == *count {
			last = t
			fmt.Fprintf(stderr, "\rseeded %d/%d (%.0f accounts/s)", done, *count, float64(done)/t.Sub(began).Seconds())
		}
	}
	fmt.Fprintln(stderr)
	fmt.Fprintf(stdout, "created %d seeded %s accounts (%s to %s) in %s; %d already existed\n",
		created, p, loadgen.SeedUserID(*prefix, *start), loadgen.SeedUserID(*prefix, *start+*count-1),
		time.Since(began).Round(100*time.Millisecond), skipped)
	return nil
}
