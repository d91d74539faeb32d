// Package secrets holds the key-encryption key (KEK) of a MILogin deployment
// and derives the purpose-bound keys used by the rest of the system.
//
// The KEK comes from MILOGIN_KEK (base64, 32 bytes) so that every node of a
// multi-node deployment shares it, or else from the file "kek" in the data
// folder, generated on first start with mode 0600. Nothing stored in the
// database is useful without it: outbox bodies are sealed with a key derived
// from it, one-time codes are hashed with another, signing keys are sealed
// with a third.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of the KEK and of every derived key.
const KeySize = 32

// KEK is the deployment's key-encryption key.
type KEK struct{ key []byte }

// Load returns the KEK from env (base64) if set, or from dataDir/kek, creating
// that file with a new random key when it does not exist.
func Load(dataDir, env string) (*KEK, error) {
	if env = strings.TrimSpace(env); env != "" {
		k, err := decode(env)
		if err != nil {
			return nil, fmt.Errorf("reading MILOGIN_KEK: %w", err)
		}
		return &KEK{key: k}, nil
	}
	path := filepath.Join(dataDir, "kek")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating data folder: %w", err)
		}
		k := make([]byte, KeySize)
		rand.Read(k)
		// Two processes starting at once on one data folder must not each
		// write a different key, and neither may read a file the other has
		// created but not yet written: the key is written whole to a file
		// of its own, then linked into place, which fails if another got
		// there first (then its key is the one).
		tmp, err := os.CreateTemp(dataDir, ".kek-*")
		if err != nil {
			return nil, fmt.Errorf("creating key file: %w", err)
		}
		defer os.Remove(tmp.Name())
		_, werr := tmp.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
		if werr == nil {
			werr = tmp.Sync()
		}
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o600)
		}
		if werr != nil {
			return nil, fmt.Errorf("writing key file: %w", werr)
		}
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return Load(dataDir, "")
			}
			return nil, fmt.Errorf("creating key file: %w", err)
		}
		return &KEK{key: k}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	k, err := decode(string(b))
	if err != nil {
		return nil, fmt.Errorf("reading key file %s: %w", path, err)
	}
	return &KEK{key: k}, nil
}

// New returns a KEK from raw key bytes (tests, tools).
func New(key []byte) (*KEK, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(key))
	}
	return &KEK{key: append([]byte(nil), key...)}, nil
}

func decode(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("want %d bytes, got %d", KeySize, len(k))
	}
	return k, nil
}

// Derive returns a key for one purpose ("outbox", "codes", "signing-keys").
// Different purposes get independent keys from the one KEK.
func (k *KEK) Derive(purpose string) []byte {
	out, err := hkdf.Key(sha256.New, k.key, nil, "milogin/"+purpose, KeySize)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	return out
}

// AEAD returns AES-256-GCM under the key derived for purpose.
func (k *KEK) AEAD(purpose string) cipher.AEAD {
	block, err := aes.NewCipher(k.Derive(purpose))
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// Seal encrypts plaintext with a random nonce, prepended to the result.
func Seal(aead cipher.AEAD, plaintext, additional []byte) []byte {
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, additional)
}

// Open reverses Seal.
func Open(aead cipher.AEAD, sealed, additional []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed value too short")
	}
	return aead.Open(nil, sealed[:n], sealed[n:], additional)
}
