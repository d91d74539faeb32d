package authn_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"testing"

	"milogin/internal/authn"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok, id := authn.NewToken()
		raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q: %d bytes, %v; want 32 bytes of unpadded base64url", tok, len(raw), err)
		}
		sum := sha256.Sum256([]byte(tok))
		if want := hex.EncodeToString(sum[:]); id != want || authn.TokenID(tok) != want {
			t.Fatalf("id %q, TokenID %q; want %q", id, authn.TokenID(tok), want)
		}
		if seen[tok] {
			t.Fatalf("token %q repeated", tok)
		}
		seen[tok] = true
	}
	if authn.TokenID("a") == authn.TokenID("b") {
		t.Error("TokenID collides")
	}
}

func TestNewCode(t *testing.T) {
	re := regexp.MustCompile(`^[0-9]{6}$`)
	const n = 60000
	var firstDigit [10]int
	leadingZero := false
	for range n {
		c := authn.NewCode()
		if !re.MatchString(c) {
			t.Fatalf("code %q is not 6 digits", c)
		}
		firstDigit[c[0]-'0']++
		leadingZero = leadingZero || c[0] == '0'
	}
	if !leadingZero {
		t.Error("no code with a leading zero in 60000: leading zeros are lost")
	}
	// Each leading digit should appear about n/10 times; allow a wide margin
	// (the standard deviation is ~73) so the test never flakes.
	for d, c := range firstDigit {
		if c < n/10-600 || c > n/10+600 {
			t.Errorf("leading digit %d appeared %d times in %d codes; want about %d", d, c, n, n/10)
		}
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{32}$`)
	a, b := authn.NewID(), authn.NewID()
	if !re.MatchString(a) || !re.MatchString(b) {
		t.Fatalf("IDs %q %q: want 32 lower-case hex characters", a, b)
	}
	if a == b {
		t.Fatal("two IDs are equal")
	}
}

func TestCodeHasher(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	h := authn.NewCodeHasher(key)
	stored := h.Hash("flow-1", "004217")

	m := hmac.New(sha256.New, key)
	m.Write([]byte("flow-1\x00004217"))
	if !bytes.Equal(stored, m.Sum(nil)) {
		t.Fatal("Hash is not HMAC-SHA256(key, id || 0x00 || code)")
	}
	key[0] = 8 // the hasher keeps its own copy
	tests := []struct {
		id, code string
		want     bool
	}{
		{"flow-1", "004217", true},
		{"flow-1", "4217", false},
		{"flow-1", "004218", false},
		{"flow-2", "004217", false},
		{"flow-1\x000", "04217", false}, // the separator keeps id and code apart
		{"flow-1", "004217 ", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := h.Equal(stored, tt.id, tt.code); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v; want %v", tt.id, tt.code, got, tt.want)
		}
	}
	other := authn.NewCodeHasher(bytes.Repeat([]byte{9}, 32))
	if other.Equal(stored, "flow-1", "004217") {
		t.Error("a hasher with another key accepted the code")
	}
	if h.Equal(nil, "flow-1", "004217") || h.Equal(stored[:16], "flow-1", "004217") {
		t.Error("a truncated stored hash matched")
	}
}
