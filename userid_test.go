package milogin_test

import (
	"testing"

	"milogin"
)

// TestUserIDStemFoldsAccents: the suggestion keeps accented letters as their
// base letter instead of dropping them (Nguyễn is nguyen, not nguyn).
func TestUserIDStemFoldsAccents(t *testing.T) {
	for _, tc := range []struct{ first, last, want string }{
		{"John", "Smith", "smithj"},
		{"Mary", "O'Neil-Ray", "oneilraym"},
		{"Zoe", "Nguyễn", "nguyenz"},
		{"José", "Peña-Álvarez", "penaalvarezj"},
		{"Émile", "Zoë", "zoee"},
		{"Łukasz", "Wałęsa", "walesal"},
		{"Søren", "Kierkegaard", "kierkegaards"},
		{"Anna", "Groß", "grossa"},
		{"Ægir", "Þórsson", "thorssona"},
		{"ZOE", "NGUYỄN", "nguyenz"},
		{"Zoe", "Nguye\u0302\u0303n", "nguyenz"}, // already decomposed
		{"李", "王", ""},                           // no Latin letters: no stem
		{"", "Smith", ""},
	} {
		if got := milogin.UserIDStem(tc.first, tc.last); got != tc.want {
			t.Errorf("UserIDStem(%q, %q) = %q, want %q", tc.first, tc.last, got, tc.want)
		}
	}
}
