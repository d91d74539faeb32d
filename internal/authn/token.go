package authn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
)

// NewToken returns a fresh session token, 256 random bits as unpadded
// base64url (43 characters), and its ID, the hex SHA-256 of the token. The
// token goes to the browser; only the ID is stored, so a copy of the
// database does not let anyone take over a session (ASVS 7.2.3).
func NewToken() (token, id string) {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, TokenID(token)
}

// TokenID returns the stored ID of token: hex SHA-256 of its text.
func TokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewCode returns a uniformly random 6-digit PIN or passcode, leading zeros
// kept ("004217").
func NewCode() string {
	// Rejection sampling: 2^32 is not a multiple of 10^6, so values at or
	// above the largest multiple are redrawn instead of folded with a bias.
	const n = 1_000_000
	const limit = (1 << 32) / n * n
	var b [4]byte
	for {
		rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return fmtCode(v % n)
		}
	}
}

func fmtCode(v uint32) string {
	var s [6]byte
	for i := 5; i >= 0; i-- {
		s[i] = byte('0' + v%10)
		v /= 10
	}
	return string(s[:])
}

// NewID returns 128 random bits as 32 hex characters, for stable subject IDs
// and code handles.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CodeHasher keys the hashes of one-time codes. A 6-digit code has only a
// million values, so a plain hash would be reversed at once from a database
// copy; with a secret key held outside the database it cannot be. The
// code's ID is mixed in so one code's hash is useless for another.
type CodeHasher struct {
	key []byte
}

// NewCodeHasher returns a CodeHasher with key (at least 32 random bytes; the
// key is copied).
func NewCodeHasher(key []byte) *CodeHasher {
	return &CodeHasher{key: append([]byte(nil), key...)}
}

// Hash returns HMAC-SHA256(key, id || 0x00 || code).
func (h *CodeHasher) Hash(id, code string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// Equal reports in constant time whether code is the one stored for id.
func (h *CodeHasher) Equal(stored []byte, id, code string) bool {
	return hmac.Equal(stored, h.Hash(id, code))
}
