package milogin_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"milogin"
)

// The user ID rules never panic, and what they accept is 3 to 64 runes of
// valid UTF-8 without space, control characters or slashes; in the
// lastname-initial-4-digits format it is exactly the stem and four digits.
func FuzzCheckUserID(f *testing.F) {
	for _, s := range [][3]string{
		{"smithj0001", "John", "Smith"}, {"SMITHJ0001", "John", "Smith"}, {"smithj000", "John", "Smith"},
		{"oneilraym1234", "Mary", "O'Neil-Ray"}, {"nguyenz0000", "Zoë", "Nguyễn"}, {"", "", ""},
		{"a\x00b", "a", "b"}, {"\xff\xfe\xfd", "x", "y"}, {"ab", "a", "b"}, {"john smith", "John", "Smith"},
		{"a/b/c", "a", "b"}, {strings.Repeat("x", 65), "x", "y"}, {"éé\u200bé", "é", "é"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, id, first, last string) {
		for _, pol := range []milogin.Policy{milogin.DefaultPolicy(), milogin.NISTPolicy()} {
			vs := pol.CheckUserID(id, first, last)
			for _, v := range vs {
				if v.Field != "user_id" || v.Message == "" {
					t.Fatalf("violation %+v", v)
				}
			}
			if len(vs) > 0 {
				continue
			}
			n := utf8.RuneCountInString(id)
			if !utf8.ValidString(id) || n < 3 || n > 64 || strings.ContainsFunc(id, func(r rune) bool {
				return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == '\\'
			}) {
				t.Fatalf("%q accepted as a user ID", id)
			}
			if pol.UserIDFormat == milogin.UserIDLastFirst4 {
				stem := milogin.UserIDStem(first, last)
				if stem == "" || !strings.HasPrefix(strings.ToLower(id), stem) || len(id) != len(stem)+4 {
					t.Fatalf("%q accepted for %q %q (stem %q)", id, first, last, stem)
				}
			}
		}
	})
}

// The stem is lower-case ASCII letters, empty exactly when a name has none.
func FuzzUserIDStem(f *testing.F) {
	for _, s := range [][2]string{{"John", "Smith"}, {"Mary", "O'Neil-Ray"}, {"", "Smith"}, {"Ω", "Ж"}, {"j\x00", "\xffs"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, first, last string) {
		stem := milogin.UserIDStem(first, last)
		if strings.ContainsFunc(stem, func(r rune) bool { return r < 'a' || r > 'z' }) {
			t.Fatalf("stem %q of %q %q", stem, first, last)
		}
	})
}

// The password rules never panic; an accepted password has the policy's
// length and classes, valid UTF-8, no control characters and neither the
// user ID nor a name of three or more letters in it.
func FuzzCheckPassword(f *testing.F) {
	for _, s := range [][3]string{
		{"Mitten!State26", "smithj0001", "Smith"}, {"smithj0001!A", "smithj0001", "x"}, {"", "", ""},
		{"Lake#Huron1987", "", ""}, {"aaaaaaaaaaaa\x00A1", "u", "v"}, {"Pass\xffword1!", "u", "v"},
		{"Smith!Family2026", "doej0001", "smith"}, {strings.Repeat("Aa1!", 100), "u", "v"}, {"ÄÖÜäöü1234!x", "u", "v"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	common := func(pw string) bool { return strings.EqualFold(pw, "Password123!") }
	f.Fuzz(func(t *testing.T, pw, userID, name string) {
		for _, pol := range []milogin.Policy{milogin.DefaultPolicy(), milogin.NISTPolicy()} {
			vs := pol.CheckPassword(milogin.PasswordCandidate{Password: pw, UserID: userID, Names: []string{name}}, common)
			for _, v := range vs {
				if v.Field != "password" || v.Message == "" {
					t.Fatalf("violation %+v", v)
				}
			}
			if len(vs) > 0 {
				continue
			}
			n := utf8.RuneCountInString(pw)
			if n < pol.PasswordMinLength || pol.PasswordMaxLength > 0 && n > pol.PasswordMaxLength {
				t.Fatalf("%q accepted: %d characters", pw, n)
			}
			if !utf8.ValidString(pw) || strings.ContainsFunc(pw, unicode.IsControl) {
				t.Fatalf("%q accepted with invalid or control characters", pw)
			}
			lower := strings.ToLower(pw)
			if userID != "" && strings.Contains(lower, strings.ToLower(userID)) {
				t.Fatalf("%q accepted though it contains the user ID %q", pw, userID)
			}
			if nm := strings.ToLower(strings.TrimSpace(name)); utf8.RuneCountInString(nm) >= 3 && strings.Contains(lower, nm) {
				t.Fatalf("%q accepted though it contains the name %q", pw, name)
			}
			if common(pw) {
				t.Fatalf("%q accepted though common", pw)
			}
		}
	})
}

// TestLongPasswordsAllowed: a password of 64 characters (and up to the
// maximum of 128) is accepted under both profiles, exactly as typed; one
// over the maximum is refused for its length only.
func TestLongPasswordsAllowed(t *testing.T) {
	base := "Lake#Huron1987 Mackinac Bridge Petoskey stone Sleeping Bear Dunes Tahquamenon Falls"
	for _, pol := range []milogin.Policy{milogin.DefaultPolicy(), milogin.NISTPolicy()} {
		for _, n := range []int{64, 128} {
			pw := (base + base)[:n]
			if vs := pol.CheckPassword(milogin.PasswordCandidate{Password: pw, UserID: "smithj0001", Names: []string{"John", "Smith"}}, nil); len(vs) > 0 {
				t.Errorf("%s: %d characters refused: %v", pol.Profile, n, vs)
			}
		}
		vs := pol.CheckPassword(milogin.PasswordCandidate{Password: (base + base)[:129], UserID: "smithj0001"}, nil)
		if len(vs) != 1 || vs[0].Rule != milogin.RuleMaxLength {
			t.Errorf("%s: 129 characters: %v, want only the maximum length", pol.Profile, vs)
		}
	}
}
