package authn

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// commonList is Openwall's list of the passwords attackers try first
// (Debian john-data password.lst), lower-cased, at least 4 characters.
// Regenerate it with gen-common.sh.
//
//go:embed common-passwords.txt
var commonList string

// minStrippedBase is how long a password must still be after its trailing
// digits and symbols are removed for the stripped form to be looked up:
// "Welcome1!" → "welcome" is caught, while "Abcd2024!" is not rejected just
// because "abcd" is on the list.
const minStrippedBase = 5

var commonSet = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, strings.Count(commonList, "\n")+1)
	for line := range strings.Lines(commonList) {
		if w := strings.TrimRight(line, "\r\n"); w != "" {
			m[w] = struct{}{}
		}
	}
	return m
})

// CommonCount reports how many passwords the blocklist holds.
func CommonCount() int { return len(commonSet()) }

// Common reports whether password is on the common-password blocklist
// (ASVS 6.2.4), ignoring case, or is a listed word of at least 5 characters
// with digits or symbols appended, the usual way people satisfy composition
// rules ("Password123!", "Welcome1!"). It fits Policy.CheckPassword's common
// argument.
func Common(password string) bool {
	set := commonSet()
	lower := strings.ToLower(password)
	if _, ok := set[lower]; ok {
		return true
	}
	base := strings.TrimRightFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	if base == lower || utf8.RuneCountInString(base) < minStrippedBase {
		return false
	}
	_, ok := set[base]
	return ok
}
