package keys_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"milogin"
	"milogin/internal/clocktest"
	"milogin/internal/keys"
	"milogin/internal/secrets"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

func open(t *testing.T) milogin.Store {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func kek(t *testing.T, b byte) *secrets.KEK {
	k, err := secrets.New(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func manager(store milogin.Store, k *secrets.KEK, clk *clocktest.Clock) *keys.Manager {
	m := keys.New(store, k)
	m.Now = clk.Now
	return m
}

func kids(t *testing.T, m *keys.Manager) []string {
	t.Helper()
	pubs, err := m.PublicKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pubs {
		out = append(out, p.ID())
	}
	slices.Sort(out)
	return out
}

func signerID(t *testing.T, m *keys.Manager, alg string) string {
	t.Helper()
	s, err := m.Signer(t.Context(), alg)
	if err != nil {
		t.Fatal(err)
	}
	return s.ID()
}

// verify checks a compact JWS against the published keys.
func verify(t *testing.T, m *keys.Manager, token string) []byte {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := m.PublicKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pubs {
		if p.ID() == jws.Signatures[0].Header.KeyID {
			payload, err := jws.Verify(p.Key())
			if err != nil {
				t.Fatal(err)
			}
			return payload
		}
	}
	t.Fatalf("kid %q not published", jws.Signatures[0].Header.KeyID)
	return nil
}

func TestFirstStartGeneratesRS256AndES256Keys(t *testing.T) {
	store := open(t)
	clk := clocktest.New(time.Now().UTC())
	m := manager(store, kek(t, 1), clk)
	if _, err := m.Signer(t.Context(), keys.RS256); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Fatalf("signer before Ensure: %v", err)
	}
	if err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := m.Ensure(t.Context()); err != nil { // a second start adds nothing
		t.Fatal(err)
	}
	if got := len(kids(t, m)); got != 2 {
		t.Fatalf("published %d keys, want 2", got)
	}
	for _, alg := range []string{keys.RS256, keys.ES256} {
		tok, err := m.Sign(t.Context(), alg, "logout+jwt", map[string]string{"sub": "x"})
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]string
		if err := json.Unmarshal(verify(t, m, tok), &claims); err != nil || claims["sub"] != "x" {
			t.Errorf("%s: claims %v %v", alg, claims, err)
		}
	}
}

func TestPrivateKeysAreSealedWithTheKEK(t *testing.T) {
	store := open(t)
	clk := clocktest.New(time.Now().UTC())
	m := manager(store, kek(t, 1), clk)
	if err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	var rows []*milogin.SigningKey
	store.Read(t.Context(), func(tx milogin.Tx) (err error) { rows, err = tx.SigningKeys().List(t.Context()); return err })
	if len(rows) != 2 {
		t.Fatalf("%d keys stored", len(rows))
	}
	for _, k := range rows {
		if _, err := x509.ParsePKCS8PrivateKey(k.Private); err == nil {
			t.Errorf("key %s is stored in the clear", k.ID)
		}
	}
	// Another deployment's KEK cannot use them.
	other := manager(store, kek(t, 2), clk)
	if _, err := other.Signer(t.Context(), keys.RS256); err == nil {
		t.Error("a signer came out under the wrong key-encryption key")
	}
}

// Rotation publishes the new key before it signs, switches after the
// propagation delay, and keeps the old key published for Retain.
func TestRotationKeepsOldKeyInJWKSUntilItsTokensExpire(t *testing.T) {
	store := open(t)
	clk := clocktest.New(time.Now().UTC())
	m := manager(store, kek(t, 1), clk)
	m.Retain = 2 * time.Hour
	if err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	old := signerID(t, m, keys.RS256)
	oldToken, err := m.Sign(t.Context(), keys.RS256, "JWT", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := m.Rotate(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != 2 {
		t.Fatalf("rotated %d keys", len(fresh))
	}
	if got := kids(t, m); len(got) != 4 {
		t.Fatalf("right after rotation JWKS has %d keys, want old and new (4)", len(got))
	}
	if signerID(t, m, keys.RS256) != old {
		t.Error("the new key signs before every node can have published it")
	}
	clk.Add(keys.DefaultPropagation)
	if now := signerID(t, m, keys.RS256); now == old || now != fresh[0].ID && now != fresh[1].ID {
		t.Errorf("after propagation the signer is %s, want the new key", now)
	}
	verify(t, m, oldToken) // still verifiable
	clk.Add(2*time.Hour - time.Second)
	if got := kids(t, m); len(got) != 4 {
		t.Errorf("old key dropped before Retain: %d keys", len(got))
	}
	clk.Add(time.Minute)
	if got := kids(t, m); len(got) != 2 {
		t.Errorf("old key still published after Retain: %d keys", len(got))
	}
	var events []*milogin.AuditEvent
	store.Read(t.Context(), func(tx milogin.Tx) (err error) {
		events, err = tx.Audit().List(t.Context(), milogin.AuditFilter{Type: milogin.EventKeysRotated})
		return err
	})
	if len(events) != 1 || events[0].ActorID != "test" {
		t.Errorf("audit: %+v", events)
	}
}

// Two nodes on one database serve the same JWKS and sign with the same key,
// the second one within its cache TTL of a rotation done elsewhere (the CLI).
func TestEveryNodeServesTheSameJWKS(t *testing.T) {
	store := open(t)
	clk := clocktest.New(time.Now().UTC())
	a, b := manager(store, kek(t, 1), clk), manager(store, kek(t, 1), clk)
	if err := a.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := b.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kids(t, a), kids(t, b)) || signerID(t, a, keys.ES256) != signerID(t, b, keys.ES256) {
		t.Fatal("nodes disagree")
	}
	cli := manager(store, kek(t, 1), clk)
	if _, err := cli.Rotate(t.Context(), "cli"); err != nil {
		t.Fatal(err)
	}
	clk.Add(keys.DefaultCacheTTL)
	if !slices.Equal(kids(t, a), kids(t, cli)) || !slices.Equal(kids(t, b), kids(t, cli)) {
		t.Error("a node still serves the old JWKS after its cache TTL")
	}
	clk.Add(keys.DefaultPropagation)
	if signerID(t, a, keys.RS256) != signerID(t, b, keys.RS256) {
		t.Error("nodes sign with different keys")
	}
}
