package storetest

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"

	"milogin"
	"milogin/internal/sqlstore"
)

// RunBackend runs the suite twice on a backend built on sqlstore: once with
// outbox bodies stored as they are, and once sealed (after RequireSealed has
// checked that the sealed store really seals). open must return a store on
// fresh, empty storage, closed when t ends.
func RunBackend(t *testing.T, open func(t *testing.T, opts sqlstore.Options) milogin.Store) {
	t.Run("plain", func(t *testing.T) {
		Run(t, func(t *testing.T) milogin.Store { return open(t, sqlstore.Options{}) })
	})
	t.Run("sealed", func(t *testing.T) {
		sealed := func(t *testing.T) milogin.Store { return open(t, sqlstore.Options{AEAD: AEAD(t)}) }
		RequireSealed(t, sealed(t))
		Run(t, sealed)
	})
}

// AEAD returns AES-256-GCM under a fixed key, for sealing in tests.
func AEAD(tb testing.TB) cipher.AEAD {
	block, err := aes.NewCipher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		tb.Fatal(err)
	}
	return aead
}
