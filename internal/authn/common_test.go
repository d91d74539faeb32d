package authn_test

import (
	"strings"
	"testing"

	"milogin"
	"milogin/internal/authn"
)

func TestCommon(t *testing.T) {
	tests := []struct {
		password string
		common   bool
	}{
		// On the list, in any case.
		{"password", true},
		{"Password", true},
		{"PASSWORD", true},
		{"123456", true},
		{"12345678", true},
		{"qwerty", true},
		{"letmein", true},
		{"michigan", true},
		{"spartan", true},
		{"password1", true},
		// A listed word with digits and symbols appended.
		{"Password123!", true},
		{"Welcome1!", true},
		{"welcome2026", true},
		{"Michigan1!", true},
		{"Spartan#1", true},
		{"Qwerty123", true},
		{"Monkey!!", true},
		// Allowed: not on the list, or the base is too short or not listed.
		{"Mitten!State26", false},
		{"Spartan!Green42", false},
		{"Lake#Huron1987", false},
		{"correct horse battery staple", false},
		{"Abcd2024!", false}, // "abcd" is listed but shorter than 5
		{"love1234!", false}, // "love" likewise
		{"1Password", false}, // only trailing characters are stripped
		{"Pass word", false},
		{"", false},
		{"!!!!", false},
		{"Ünïcödé-Pässwörd", false},
	}
	for _, tt := range tests {
		if got := authn.Common(tt.password); got != tt.common {
			t.Errorf("Common(%q) = %v; want %v", tt.password, got, tt.common)
		}
	}
}

func TestCommonListSize(t *testing.T) {
	// SECURITY-TESTS.md: at least the top 3,000 common passwords.
	if n := authn.CommonCount(); n < 3000 {
		t.Fatalf("blocklist has %d passwords; want at least 3000", n)
	}
}

// TestCommonWithPolicy shows the blocklist plugged into the password rules:
// a password that meets the composition rules is still refused by name.
func TestCommonWithPolicy(t *testing.T) {
	p := milogin.DefaultPolicy()
	vs := p.CheckPassword(milogin.PasswordCandidate{Password: "Password123!", UserID: "smithj0001"}, authn.Common)
	if len(vs) != 1 || vs[0].Rule != milogin.RuleCommon {
		t.Fatalf("violations = %+v; want only %q", vs, milogin.RuleCommon)
	}
	if !strings.Contains(vs[0].Message, "too common") {
		t.Errorf("message %q does not name the reason", vs[0].Message)
	}
	if vs := p.CheckPassword(milogin.PasswordCandidate{Password: "Lake#Huron1987", UserID: "smithj0001"}, authn.Common); len(vs) != 0 {
		t.Errorf("Lake#Huron1987: violations %+v; want none", vs)
	}
}

func BenchmarkCommon(b *testing.B) {
	authn.Common("warm up")
	for b.Loop() {
		authn.Common("Spartan!Green42")
	}
}
