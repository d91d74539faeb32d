package cars

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// codeAlphabet has 32 characters: digits and capital letters without the
// ones people confuse when reading a letter aloud or typing it (0/O, 1/I).
const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// codeLen characters of 5 bits each: 80 random bits, read in four groups.
const codeLen = 16

// NewCode returns a fresh authorization code in its normalised form (no
// dashes); FormatCode groups it for reading.
func NewCode() string {
	var b [codeLen]byte
	rand.Read(b[:])
	out := make([]byte, codeLen)
	for i, v := range b {
		// 256 is a multiple of 32: every character is equally likely.
		out[i] = codeAlphabet[int(v)%len(codeAlphabet)]
	}
	return string(out)
}

// FormatCode writes a normalised code in groups of four: 7KQ4-M2XD-9PRT-W3HC.
func FormatCode(c string) string {
	var parts []string
	for len(c) > 4 {
		parts = append(parts, c[:4])
		c = c[4:]
	}
	return strings.Join(append(parts, c), "-")
}

// ErrCodeFormat is returned by ParseCode for input that cannot be a code.
var ErrCodeFormat = errors.New("An account authorization code has 16 letters and digits, for example 7KQ4-M2XD-9PRT-W3HC.")

// ParseCode normalises what a person typed (case, spaces, dashes) and
// checks that it can be a code at all.
func ParseCode(s string) (string, error) {
	n := Normalize(s)
	if len(n) != codeLen {
		return "", ErrCodeFormat
	}
	for _, r := range n {
		if !strings.ContainsRune(codeAlphabet, r) {
			return "", ErrCodeFormat
		}
	}
	return n, nil
}

// hashCode is the keyed hash a code is stored under; the code itself is
// never stored (a letter or email holds it sealed until it is delivered).
func hashCode(key []byte, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cars authorization code\x00"))
	m.Write([]byte(code))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// NewConfirmation returns a confirmation number in the guide's form,
// 0-000-041-436: ten random digits (not a counter, so one person's number
// says nothing about anyone else's submissions).
func NewConfirmation() string {
	n, err := rand.Int(rand.Reader, big.NewInt(10_000_000_000))
	if err != nil {
		panic(err)
	}
	d := fmt.Sprintf("%010d", n.Int64())
	return d[:1] + "-" + d[1:4] + "-" + d[4:7] + "-" + d[7:]
}
