package milogin_test

import (
	"testing"
	"time"

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

// TestPasswordDaysLeftCountsADayBegun: right after a change a 360-day
// password has 360 days left, not 359; on its last day, 1.
func TestPasswordDaysLeftCountsADayBegun(t *testing.T) {
	p := milogin.DefaultPolicy()
	changed := time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)
	a := &milogin.Account{PasswordChangedAt: changed}
	day := 24 * time.Hour
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{
		{0, 360},
		{time.Second, 360},
		{day, 359},
		{350 * day, 10},
		{359*day + time.Hour, 1},
		{360*day - time.Second, 1},
		{360 * day, 0},
		{400 * day, 0},
	} {
		if got := a.PasswordDaysLeft(p, changed.Add(tc.after)); got != tc.want {
			t.Errorf("%v after the change: %d days left, want %d", tc.after, got, tc.want)
		}
	}
}
