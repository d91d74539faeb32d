package cars

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// keys are the secrets CARS derives from its master key: one seals what must
// be read back later (a code in a queued letter or email, an ID token for
// logout), one is the key of the codes' hash.
type keys struct {
	seal cipher.AEAD
	code []byte
}

// loadKeys reads the master key from hexKey (CARS_KEY: 64 hex digits, the
// same on every node sharing a database) or from cars.key in dataDir,
// creating that file on first start.
func loadKeys(hexKey, dataDir string) (*keys, error) {
	var master []byte
	if hexKey != "" {
		b, err := hex.DecodeString(strings.TrimSpace(hexKey))
		if err != nil || len(b) != 32 {
			return nil, errors.New("CARS_KEY must be 64 hex digits (32 bytes)")
		}
		master = b
	} else {
		path := filepath.Join(dataDir, "cars.key")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			master, err = hex.DecodeString(strings.TrimSpace(string(b)))
			if err != nil || len(master) != 32 {
				return nil, fmt.Errorf("%s is not a CARS key (64 hex digits)", path)
			}
		case errors.Is(err, os.ErrNotExist):
			master = make([]byte, 32)
			rand.Read(master)
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, err
			}
			// O_EXCL: two processes starting at once keep the first key.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, os.ErrExist) {
				return loadKeys("", dataDir)
			}
			if err != nil {
				return nil, err
			}
			_, err = f.WriteString(hex.EncodeToString(master) + "\n")
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("cars seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keys{seal: aead, code: derive("cars code hash")}, nil
}

// sealString encrypts s; label binds the ciphertext to its use, so a
// sealed letter code cannot be passed off as a sealed ID token.
func (k *keys) sealString(label, s string) string {
	nonce := make([]byte, k.seal.NonceSize())
	rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(k.seal.Seal(nonce, nonce, []byte(s), []byte(label)))
}

func (k *keys) openString(label, sealed string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(b) < k.seal.NonceSize() {
		return "", errors.New("sealed value is damaged")
	}
	n := k.seal.NonceSize()
	out, err := k.seal.Open(nil, b[:n], b[n:], []byte(label))
	if err != nil {
		return "", errors.New("sealed value is damaged or sealed with another key")
	}
	return string(out), nil
}
