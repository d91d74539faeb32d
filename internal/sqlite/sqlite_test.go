package sqlite_test

import (
	"crypto/aes"
	"crypto/cipher"
	"path/filepath"
	"testing"

	"milogin"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
	"milogin/internal/storetest"
)

// mustOpen opens a fresh database in a temporary directory (a subdirectory,
// so that Open's MkdirAll is exercised too).
func mustOpen(tb testing.TB, opts sqlstore.Options) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "data", "milogin.db"), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

func testAEAD(tb testing.TB) cipher.AEAD {
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

// The suite runs twice: outbox bodies stored as they are, and sealed.
func TestStore(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) milogin.Store { return mustOpen(t, sqlstore.Options{}) })
	})
	t.Run("sealed", func(t *testing.T) {
		open := func(t *testing.T) milogin.Store { return mustOpen(t, sqlstore.Options{AEAD: testAEAD(t)}) }
		storetest.RequireSealed(t, open(t))
		storetest.Run(t, open)
	})
}
