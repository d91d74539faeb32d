package records_test

import (
	"testing"

	"milogin/internal/records"
)

func TestNormalizeCard(t *testing.T) {
	tests := []struct {
		in, last string
		want     string
		ok       bool
	}{
		{"S123456789012", "Smith", "S123456789012", true},
		{"s 123 456 789 012", "Smith", "S123456789012", true},
		{"S-123-456-789-012", "", "S123456789012", true},
		{"  s123-456 789012 ", "Jones", "S123456789012", true}, // the letter typed wins over the last name
		{"123456789012", "Smith", "S123456789012", true},       // the letter is the last name's initial
		{"123 456 789 012", "o'brien", "O123456789012", true},
		{"123456789012", "Éclair", "E123456789012", true}, // accents folded for the initial
		{"123456789012", "", "", false},                   // no last name to take the letter from
		{"123456789012", "'", "", false},
		{"S12345678901", "Smith", "", false},   // 11 digits
		{"S1234567890123", "Smith", "", false}, // 13 digits
		{"SS23456789012", "Smith", "", false},  // two letters
		{"1234567890123", "Smith", "", false},  // 13 digits, no letter
		{"S12345678901X", "Smith", "", false},
		{"S.123.456.789.012", "Smith", "", false}, // only spaces and dashes are ignored
		{"Ś123456789012", "Smith", "", false},     // not an ASCII letter
		{"S１２３456789012", "Smith", "", false},     // full-width digits
		{"", "Smith", "", false},
	}
	for _, tt := range tests {
		got, ok := records.NormalizeCard(tt.in, tt.last)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeCard(%q, %q) = %q, %v; want %q, %v", tt.in, tt.last, got, ok, tt.want, tt.ok)
		}
	}
	if got := records.FormatCard("S123456789012"); got != "S 123 456 789 012" {
		t.Errorf("FormatCard = %q", got)
	}
}

func TestMatchName(t *testing.T) {
	n := func(first, middle, last string) records.Name {
		return records.Name{First: first, Middle: middle, Last: last}
	}
	maryAnn := n("Mary", "Ann", "Smith-Jones")
	tests := []struct {
		name  string
		card  records.Name
		typed records.Name
		want  bool
	}{
		// Must match.
		{"exact", maryAnn, n("Mary", "Ann", "Smith-Jones"), true},
		{"case", maryAnn, n("MARY", "ann", "smith-JONES"), true},
		{"no middle typed", maryAnn, n("Mary", "", "Smith-Jones"), true},
		{"hyphen dropped", maryAnn, n("Mary", "", "Smith Jones"), true},
		{"hyphen and space dropped", maryAnn, n("Mary", "", "SmithJones"), true},
		{"hyphen added", n("Mary", "", "Smith Jones"), n("Mary", "", "Smith-Jones"), true},
		{"hyphen added to a joined name", n("Mary", "", "SmithJones"), n("Mary", "", "Smith-Jones"), true},
		{"extra spaces", maryAnn, n("  Mary  ", " Ann ", " Smith  -  Jones "), true},
		{"middle name in the first-name box", maryAnn, n("Mary Ann", "", "Smith-Jones"), true},
		{"middle initial in the first-name box", maryAnn, n("Mary A.", "", "SmithJones"), true},
		{"middle name in both boxes", maryAnn, n("Mary Ann", "Ann", "Smith-Jones"), true},
		{"middle initial", maryAnn, n("Mary", "A", "Smith-Jones"), true},
		{"middle initial with period", maryAnn, n("Mary", "A.", "Smith-Jones"), true},
		{"apostrophe dropped", n("Sean", "", "O'Brien"), n("Sean", "", "OBrien"), true},
		{"apostrophe as a space", n("Sean", "", "O'Brien"), n("Sean", "", "O Brien"), true},
		{"typographic apostrophe", n("Sean", "", "O'Brien"), n("Sean", "", "O’Brien"), true},
		{"apostrophe added", n("Sean", "", "OBrien"), n("Sean", "", "O'Brien"), true},
		{"periods", n("J.R.", "", "St. John"), n("JR", "", "St John"), true},
		{"accents on the card", n("José", "", "Núñez"), n("Jose", "", "Nunez"), true},
		{"accents typed", n("Jose", "", "Nunez"), n("José", "", "Núñez"), true},
		{"letters that do not decompose", n("Søren", "", "Groß"), n("Soren", "", "Gross"), true},
		{"two-word first name, first word typed", n("Mary Ann", "", "Lee"), n("Mary", "", "Lee"), true},
		{"two-word first name joined", n("Mary Ann", "", "Lee"), n("MaryAnn", "", "Lee"), true},
		{"hyphenated first name joined", n("Mary-Ann", "", "Lee"), n("Maryann", "", "Lee"), true},
		{"hyphenated first name, first part", n("Mary-Ann", "", "Lee"), n("Mary", "", "Lee"), true},
		{"middle typed, card has none", n("John", "", "Smith"), n("John", "Q", "Smith"), true},
		{"two middle names, one typed", n("Mary", "Ann Louise", "Lee"), n("Mary Louise", "", "Lee"), true},
		{"two middle names typed in the middle box", n("Mary", "Ann Louise", "Lee"), n("Mary", "Ann Louise", "Lee"), true},
		{"initial of the first of two middle names", n("Mary", "Ann Louise", "Lee"), n("Mary", "A", "Lee"), true},

		// Must NOT match.
		{"other last name", maryAnn, n("Mary", "Ann", "Smith-Johns"), false},
		{"one half of a hyphenated last name", maryAnn, n("Mary", "Ann", "Smith"), false},
		{"the other half of a hyphenated last name", maryAnn, n("Mary", "Ann", "Jones"), false},
		{"halves swapped", maryAnn, n("Mary", "Ann", "Jones-Smith"), false},
		{"last name missing", maryAnn, n("Mary", "Ann", ""), false},
		{"first name missing", maryAnn, n("", "Ann", "Smith-Jones"), false},
		{"middle name as the first name", maryAnn, n("Ann", "", "Smith-Jones"), false},
		{"other first name", maryAnn, n("Marie", "Ann", "Smith-Jones"), false},
		{"first name prefix", maryAnn, n("Mar", "", "Smith-Jones"), false},
		{"first initial only", maryAnn, n("M", "", "Smith-Jones"), false},
		{"other middle name in the first-name box", maryAnn, n("Mary Beth", "", "Smith-Jones"), false},
		{"other middle name", maryAnn, n("Mary", "Beth", "Smith-Jones"), false},
		{"other middle initial", maryAnn, n("Mary", "B", "Smith-Jones"), false},
		{"second word of a two-word first name alone", n("Mary Ann", "", "Lee"), n("Ann", "", "Lee"), false},
		{"names swapped", n("Lee", "", "Mary"), n("Mary", "", "Lee"), false},
		{"first and last joined in the last-name box", n("Mary", "", "Lee"), n("", "", "MaryLee"), false},
		{"suffix typed into the last name", n("John", "", "Smith"), n("John", "", "Smith Jr"), false},
		{"accent is not a wildcard", n("José", "", "Núñez"), n("Jose", "", "Nunes"), false},
		{"punctuation only", n("Mary", "", "Lee"), n("Mary", "", "-'."), false},
		{"empty card name never matches", n("", "", ""), n("", "", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := records.MatchName(tt.card, tt.typed); got != tt.want {
				t.Errorf("MatchName(card %+v, typed %+v) = %v, want %v", tt.card, tt.typed, got, tt.want)
			}
		})
	}
}
