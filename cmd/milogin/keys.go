package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"milogin/internal/keys"
)

// runKeys is `milogin keys rotate [--json]`: a new RS256 and ES256 key,
// published at once and signing after keys.DefaultPropagation (every
// node's cache has it by then); the keys they replace stay in the JWKS for
// keys.DefaultRetain, longer than any token they signed lives. It works
// while servers run on the same database.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 1 || args[0] != "rotate" {
		fmt.Fprint(stderr, "usage: milogin keys rotate [--data DIR] [--db DSN] [--json]\n")
		if len(args) < 1 {
			return usageError{}
		}
		return usageError{msg: fmt.Sprintf("unknown keys command %q", args[0])}
	}
	fs := newFlagSet("milogin keys rotate", stderr)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print the new keys as JSON")
	if _, err := parseOnlyCommonEnv(fs, args[1:], getenv); err != nil {
		return err
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	m := keys.New(e.store, e.kek)
	fresh, err := m.Rotate(ctx, "cli")
	if err != nil {
		return fmt.Errorf("rotating keys: %w", err)
	}
	type out struct {
		KeyID       string    `json:"kid"`
		Alg         string    `json:"alg"`
		ActivatesAt time.Time `json:"activates_at"`
	}
	var list []out
	for _, k := range fresh {
		list = append(list, out{k.ID, k.Alg, k.ActivatesAt})
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(list)
	}
	for _, k := range list {
		fmt.Fprintf(stdout, "new %s key %s: published now, signs from %s\n", k.Alg, k.KeyID, k.ActivatesAt.Format(time.RFC3339))
	}
	fmt.Fprintf(stdout, "Replaced keys stay published for %s.\n", m.RetainFor())
	return nil
}
