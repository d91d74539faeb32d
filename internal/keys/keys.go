// Package keys manages the signing keys of the OpenID Provider: an RS256
// (RSA) key and an ES256 (P-256) key, generated on first start, stored in
// the database sealed with a key derived from the key-encryption key, and
// rotated on request.
//
// What the package promises:
//
//   - Every node of a deployment signs with the same keys and serves the same
//     JWKS: keys live in the database and each node re-reads them at most
//     CacheTTL after a change.
//   - A new key is published before it signs: rotation creates it with an
//     activation time Propagation ahead, longer than any node's cache, so
//     no token is ever signed with a key that some node's JWKS lacks.
//   - A retired key stays in the JWKS for Retain after its retirement, at
//     least the lifetime of the longest-lived token it can have signed.
//   - Private keys are never stored in the clear; the key ID is bound to the
//     sealed bytes, so a sealed key cannot be swapped under another ID.
//
// Signer is the seam for keys held elsewhere (KMS, HSM): it hands go-jose a
// crypto.Signer private key, or a jose.OpaqueSigner that signs remotely.
package keys

import (
	"context"
	"crypto"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"milogin"
	"milogin/internal/secrets"
)

// Algorithms the provider signs with. RS256 is what every client accepts by
// default (OpenID Connect Core §3.1.3.7); ES256 is offered alongside.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// Purpose is the KEK derivation purpose of the key that seals private keys.
const Purpose = "signing-keys"

// Defaults for the zero fields of Manager.
const (
	DefaultCacheTTL    = 30 * time.Second
	DefaultPropagation = 2 * DefaultCacheTTL
	DefaultRetain      = 24 * time.Hour
	DefaultRSABits     = 2048
)

// Signer is one key that can sign. Its method set is the one
// github.com/zitadel/oidc/v3/pkg/op.SigningKey asks for.
type Signer interface {
	ID() string
	SignatureAlgorithm() jose.SignatureAlgorithm
	// Key is what go-jose signs with: a crypto.Signer private key held in
	// memory, or a jose.OpaqueSigner for a key held by a KMS or HSM.
	Key() any
}

// PublicKey is one published key. Its method set is the one
// github.com/zitadel/oidc/v3/pkg/op.Key asks for.
type PublicKey struct {
	KeyID string
	Alg   jose.SignatureAlgorithm
	Pub   any // *rsa.PublicKey or *ecdsa.PublicKey
}

func (k PublicKey) ID() string                         { return k.KeyID }
func (k PublicKey) Algorithm() jose.SignatureAlgorithm { return k.Alg }
func (k PublicKey) Use() string                        { return "sig" }
func (k PublicKey) Key() any                           { return k.Pub }

// JWK returns the key as a JSON Web Key.
func (k PublicKey) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Pub, KeyID: k.KeyID, Algorithm: string(k.Alg), Use: "sig"}
}

// localSigner is a private key held in memory.
type localSigner struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (s *localSigner) ID() string                                  { return s.id }
func (s *localSigner) SignatureAlgorithm() jose.SignatureAlgorithm { return s.alg }
func (s *localSigner) Key() any                                    { return s.key }

// Manager loads, generates and rotates the keys. Set Store and AEAD (from
// secrets.KEK.AEAD(Purpose)); zero fields take the defaults above. A Manager
// is safe for concurrent use.
type Manager struct {
	Store milogin.Store
	AEAD  cipher.AEAD
	Now   func() time.Time
	// Algs are the algorithms to keep a key for (default RS256 and ES256).
	Algs []string
	// CacheTTL bounds how long a node serves its copy of the key list.
	CacheTTL time.Duration
	// Propagation is how far ahead of its activation a rotated key is
	// published; keep it above CacheTTL.
	Propagation time.Duration
	// Retain is how long a retired key stays published: at least the
	// lifetime of the longest-lived token signed with it.
	Retain  time.Duration
	RSABits int

	mu       sync.Mutex
	loadedAt time.Time
	rows     []*milogin.SigningKey
	private  map[string]crypto.Signer // by key ID, parsed once
	public   map[string]PublicKey     // by key ID, parsed once (a key never changes)
}

// New returns a Manager over store with private keys sealed by kek.
func New(store milogin.Store, kek *secrets.KEK) *Manager {
	return &Manager{Store: store, AEAD: kek.AEAD(Purpose)}
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Manager) algs() []string {
	if len(m.Algs) > 0 {
		return m.Algs
	}
	return []string{RS256, ES256}
}

func (m *Manager) cacheTTL() time.Duration {
	if m.CacheTTL > 0 {
		return m.CacheTTL
	}
	return DefaultCacheTTL
}

func (m *Manager) propagation() time.Duration {
	if m.Propagation > 0 {
		return m.Propagation
	}
	return DefaultPropagation
}

// RetainFor returns how long retired keys stay published.
func (m *Manager) RetainFor() time.Duration {
	if m.Retain > 0 {
		return m.Retain
	}
	return DefaultRetain
}

// generate makes a new key of alg, sealed, active from activates.
func (m *Manager) generate(alg string, now, activates time.Time) (*milogin.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		bits := m.RSABits
		if bits < 2048 {
			bits = DefaultRSABits
		}
		priv, err = rsa.GenerateKey(rand.Reader, bits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: generating %s key: %w", alg, err)
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("keys: thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	pub, err := json.Marshal(jwk)
	if err != nil {
		return nil, fmt.Errorf("keys: encoding public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("keys: encoding private key: %w", err)
	}
	return &milogin.SigningKey{
		ID: jwk.KeyID, Alg: alg, Private: secrets.Seal(m.AEAD, der, []byte(jwk.KeyID)), Public: pub,
		CreatedAt: now, ActivatesAt: activates,
	}, nil
}

// Ensure makes sure every algorithm has a key in service, generating what
// is missing (first start). Several nodes starting at once may each add
// one: every key is published, and every node signs with the same one (the
// newest active), so that is harmless.
func (m *Manager) Ensure(ctx context.Context) error {
	const op = "keys.Ensure"
	now := m.now()
	var existing []*milogin.SigningKey
	if err := m.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		existing, err = tx.SigningKeys().List(ctx)
		return err
	}); err != nil {
		return milogin.Wrap(op, err)
	}
	var missing []string
	for _, alg := range m.algs() {
		if !slices.ContainsFunc(existing, func(k *milogin.SigningKey) bool { return k.Alg == alg && k.RetiredAt.IsZero() }) {
			missing = append(missing, alg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// Generate outside the transaction: RSA generation takes a while and
	// must not hold SQLite's single writer.
	var fresh []*milogin.SigningKey
	for _, alg := range missing {
		k, err := m.generate(alg, now, now)
		if err != nil {
			return milogin.Wrap(op, err)
		}
		fresh = append(fresh, k)
	}
	err := m.Store.Write(ctx, func(tx milogin.Tx) error {
		current, err := tx.SigningKeys().List(ctx)
		if err != nil {
			return err
		}
		for _, k := range fresh {
			if slices.ContainsFunc(current, func(c *milogin.SigningKey) bool { return c.Alg == k.Alg && c.RetiredAt.IsZero() }) {
				continue // another process was quicker
			}
			if err := tx.SigningKeys().Create(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	m.invalidate()
	return milogin.Wrap(op, err)
}

// Rotate adds a new key for every algorithm, published now and signing
// from now+Propagation, and retires the keys it replaces at that same
// instant; keys retired longer ago than Retain are deleted. It returns the
// new keys.
func (m *Manager) Rotate(ctx context.Context, actor string) ([]*milogin.SigningKey, error) {
	const op = "keys.Rotate"
	now := m.now()
	switchAt := now.Add(m.propagation())
	var fresh []*milogin.SigningKey
	for _, alg := range m.algs() {
		k, err := m.generate(alg, now, switchAt)
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		fresh = append(fresh, k)
	}
	err := m.Store.Write(ctx, func(tx milogin.Tx) error {
		current, err := tx.SigningKeys().List(ctx)
		if err != nil {
			return err
		}
		retired := 0
		for _, c := range current {
			if c.RetiredAt.IsZero() && slices.Contains(m.algs(), c.Alg) {
				if err := tx.SigningKeys().Retire(ctx, c.ID, switchAt); err != nil {
					return err
				}
				retired++
			}
		}
		ids := map[string]string{}
		for _, k := range fresh {
			if err := tx.SigningKeys().Create(ctx, k); err != nil {
				return err
			}
			ids[k.Alg] = k.ID
		}
		if _, err := tx.SigningKeys().DeleteRetired(ctx, now.Add(-m.RetainFor())); err != nil {
			return err
		}
		detail := map[string]string{"retired": fmt.Sprint(retired), "activates_at": switchAt.Format(time.RFC3339)}
		for alg, id := range ids {
			detail[alg] = id
		}
		return tx.Audit().Append(ctx, &milogin.AuditEvent{Time: now, Type: milogin.EventKeysRotated, ActorID: actor, Detail: detail})
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	m.invalidate()
	return fresh, nil
}

func (m *Manager) invalidate() {
	m.mu.Lock()
	m.loadedAt = time.Time{}
	m.mu.Unlock()
}

// load returns the key rows, from the cache while it is fresh.
func (m *Manager) load(ctx context.Context) ([]*milogin.SigningKey, error) {
	now := m.now()
	m.mu.Lock()
	if !m.loadedAt.IsZero() && now.Sub(m.loadedAt) < m.cacheTTL() && !now.Before(m.loadedAt) {
		rows := m.rows
		m.mu.Unlock()
		return rows, nil
	}
	m.mu.Unlock()
	var rows []*milogin.SigningKey
	if err := m.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		rows, err = tx.SigningKeys().List(ctx)
		return err
	}); err != nil {
		return nil, milogin.Wrap("keys.load", err)
	}
	m.mu.Lock()
	m.rows, m.loadedAt = rows, now
	m.mu.Unlock()
	return rows, nil
}

// Signer returns the key that signs with alg now: the active key activated
// last. It returns ENOTFOUND when there is none (Ensure was not run).
func (m *Manager) Signer(ctx context.Context, alg string) (Signer, error) {
	const op = "keys.Signer"
	rows, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	now := m.now()
	var best *milogin.SigningKey
	for _, k := range rows {
		if k.Alg != alg || !k.Active(now) {
			continue
		}
		if best == nil || k.ActivatesAt.After(best.ActivatesAt) || (k.ActivatesAt.Equal(best.ActivatesAt) && k.ID > best.ID) {
			best = k
		}
	}
	if best == nil {
		return nil, milogin.Errorf(op, milogin.ENOTFOUND, "no active %s signing key", alg)
	}
	priv, err := m.privateKey(best)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return &localSigner{id: best.ID, alg: jose.SignatureAlgorithm(best.Alg), key: priv}, nil
}

func (m *Manager) privateKey(k *milogin.SigningKey) (crypto.Signer, error) {
	m.mu.Lock()
	priv, ok := m.private[k.ID]
	m.mu.Unlock()
	if ok {
		return priv, nil
	}
	der, err := secrets.Open(m.AEAD, k.Private, []byte(k.ID))
	if err != nil {
		return nil, fmt.Errorf("opening signing key %s (wrong key-encryption key?): %w", k.ID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parsing signing key %s: %w", k.ID, err)
	}
	s, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s is a %T", k.ID, parsed)
	}
	m.mu.Lock()
	if m.private == nil {
		m.private = map[string]crypto.Signer{}
	}
	m.private[k.ID] = s
	m.mu.Unlock()
	return s, nil
}

// PublicKeys returns the keys to publish in the JWKS now: every key not
// retired longer than Retain ago, pending ones included.
func (m *Manager) PublicKeys(ctx context.Context) ([]PublicKey, error) {
	rows, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	now := m.now()
	var out []PublicKey
	for _, k := range rows {
		if !k.Published(now, m.RetainFor()) {
			continue
		}
		pub, err := m.publicKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, pub)
	}
	return out, nil
}

// publicKey returns k's public half, decoded once: the JWKS endpoint and
// every token check ask for it, and decoding the JSON Web Key cost more
// than the rest of the JWKS answer together.
func (m *Manager) publicKey(k *milogin.SigningKey) (PublicKey, error) {
	m.mu.Lock()
	pub, ok := m.public[k.ID]
	m.mu.Unlock()
	if ok {
		return pub, nil
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(k.Public, &jwk); err != nil {
		return PublicKey{}, milogin.Wrap("keys.PublicKeys", fmt.Errorf("decoding public key %s: %w", k.ID, err))
	}
	pub = PublicKey{KeyID: k.ID, Alg: jose.SignatureAlgorithm(k.Alg), Pub: jwk.Key}
	m.mu.Lock()
	if m.public == nil {
		m.public = map[string]PublicKey{}
	}
	m.public[k.ID] = pub
	m.mu.Unlock()
	return pub, nil
}

// Algorithms returns the algorithms the manager keeps keys for.
func (m *Manager) Algorithms() []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range m.algs() {
		out = append(out, jose.SignatureAlgorithm(a))
	}
	return out
}

// Sign signs claims as a compact JWS with the current key of alg and the
// header typ given (for example "logout+jwt").
func (m *Manager) Sign(ctx context.Context, alg, typ string, claims any) (string, error) {
	s, err := m.Signer(ctx, alg)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: s.SignatureAlgorithm(), Key: &jose.JSONWebKey{Key: s.Key(), KeyID: s.ID()}}, opts)
	if err != nil {
		return "", fmt.Errorf("keys: signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: signing: %w", err)
	}
	return jws.CompactSerialize()
}
