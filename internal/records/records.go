// Package records holds the Secretary of State's driver's license and state
// ID card records and the rules citizen sign-up verifies a resident with:
// card-number normalisation (NormalizeCard), THE name matcher
// (MatchName) and the streaming CSV import behind `milogin records import`.
//
// The package promises that a verification is never looser than "the card
// number matches, AND the normalised last name matches, AND the first name
// matches (its first token, or the whole)": every tolerance MatchName adds
// (case, accents, punctuation, spacing, a middle name in the first-name box,
// either form of a hyphenated last name) is inside that rule.
package records

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"milogin"
)

// Messages about card numbers, shown beside the card-number field.
const (
	MsgCardRequired = "Driver's License or State ID Number is required."
	MsgCardFormat   = "Enter your Michigan driver's license or state ID number: one letter and 12 digits, such as S 123 456 789 012. Spaces and dashes are optional."
)

// NormalizeCard returns the card number typed as s in its stored form, one
// upper-case letter and 12 digits ("S123456789012"). Spaces and dashes are
// ignored and either case is accepted. Twelve digits alone are accepted too:
// the letter of a Michigan card is the first letter of the holder's last
// name, so it is taken from lastName (accents folded). ok is false when s is
// not a card number.
func NormalizeCard(s, lastName string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\u00a0' || r == '\u2010' || r == '\u2011' || r == '\u2013':
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToUpper(r))
		default:
			return "", false
		}
	}
	c := b.String()
	if len(c) == 12 && allDigits(c) {
		initial := ""
		if k := letters(lastName); k != "" {
			initial = strings.ToUpper(k[:1])
		}
		if initial == "" || initial[0] < 'A' || initial[0] > 'Z' {
			return "", false
		}
		c = initial + c
	}
	if len(c) != 13 || c[0] < 'A' || c[0] > 'Z' || !allDigits(c[1:]) {
		return "", false
	}
	return c, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// FormatCard shows a normalised card number the way it is printed on the
// card, in groups: "S 123 456 789 012".
func FormatCard(c string) string {
	if len(c) != 13 {
		return c
	}
	return c[:1] + " " + c[1:4] + " " + c[4:7] + " " + c[7:10] + " " + c[10:]
}

// Name is a person's name as the card has it or as it was typed.
type Name struct {
	First, Middle, Last string
}

// NameOf returns the name on rec.
func NameOf(rec *milogin.CardRecord) Name {
	return Name{First: rec.FirstName, Middle: rec.MiddleName, Last: rec.LastName}
}

// MatchName reports whether typed (the name as typed on the verification
// form) names the holder of a card whose record has card. It is the only
// name comparison sign-up makes.
//
// Both sides are folded first: accents removed (é → e, and ß, ø, æ, œ, ł,
// đ, þ spelled out), case ignored, and hyphens, apostrophes, periods and
// every other non-letter dropped, so "O'Brien", "OBrien", "o brien" and
// "O’BRIEN" are one name and "Smith-Jones", "Smith Jones" and "SmithJones"
// are another. Then all of these must hold:
//
//   - Last name: the folded last names are equal. A hyphenated last name
//     therefore matches typed with or without its hyphen, never one half of
//     it alone.
//   - First name: the first word typed in the first-name box equals the
//     first word of the card's first name, or the whole first-name box
//     equals the card's whole first name ("Mary Ann" / "MaryAnn" / "Mary-Ann").
//   - What else is typed in the first-name box after that word must be the
//     rest of the card's first and middle names, in order: a middle name
//     typed into the first-name box ("Mary Ann" for first "Mary", middle
//     "Ann") is accepted, a different one ("Mary Beth") is not. A middle
//     initial stands for a middle name ("Mary A").
//   - The Middle Name box, when both it and the card's middle name are
//     filled, must be that middle name or its initial; it may be left empty.
//
// Nothing here can make a match that fails the floor: the card number (the
// caller's lookup key), the last name and the first name's first word or
// whole always have to agree.
func MatchName(card, typed Name) bool {
	last := letters(card.Last)
	if last == "" || letters(typed.Last) != last {
		return false
	}
	cardFirst := words(card.First)
	typedFirst := words(typed.First)
	if len(cardFirst) == 0 || len(typedFirst) == 0 {
		return false
	}
	whole := strings.Join(typedFirst, "") == strings.Join(cardFirst, "")
	if !whole {
		if typedFirst[0] != cardFirst[0] {
			return false
		}
		// The rest of the first-name box: the card's other first names and
		// its middle names, in order, each whole or as an initial.
		rest := append(cardFirst[1:len(cardFirst):len(cardFirst)], words(card.Middle)...)
		if !followsInOrder(typedFirst[1:], rest) {
			return false
		}
	}
	tm, cm := letters(typed.Middle), letters(card.Middle)
	if tm != "" && cm != "" && tm != cm && !initialOf(tm, cm) {
		// A middle name in its own box may be the whole run of the card's
		// middle names or the initial of the first of them.
		if mw := words(card.Middle); !(len(mw) > 0 && initialOf(tm, mw[0])) {
			return false
		}
	}
	return true
}

// followsInOrder reports whether each of typed is, in order, one of want
// (whole or as its initial), skipping none of typed. Words of want may be
// left out: "Mary" alone is fine for "Mary Ann Louise".
func followsInOrder(typed, want []string) bool {
	j := 0
	for _, w := range typed {
		for j < len(want) && w != want[j] && !initialOf(w, want[j]) {
			j++
		}
		if j == len(want) {
			return false
		}
		j++
	}
	return true
}

func initialOf(initial, name string) bool {
	return len(initial) == 1 && name != "" && name[0] == initial[0]
}

// fold removes accents (NFD, then drops combining marks) and lower-cases.
var fold = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// spelled are letters that do not decompose into a base letter and a mark.
var spelled = strings.NewReplacer("ß", "ss", "ø", "o", "æ", "ae", "œ", "oe", "ł", "l", "đ", "d", "þ", "th", "ı", "i")

func folded(s string) string {
	out, _, err := transform.String(fold, s)
	if err != nil {
		out = s
	}
	return spelled.Replace(strings.ToLower(out))
}

// letters is s folded with every non-letter removed: the key two spellings
// of a name are compared by.
func letters(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) {
			return r
		}
		return -1
	}, folded(s))
}

// words splits s into folded words at spaces and hyphens; apostrophes and
// periods join (O'Brien is one word, "J.R." is "jr").
func words(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(folded(s), func(r rune) bool {
		return unicode.IsSpace(r) || r == '-' || r == '‐' || r == '‑' || r == '–' || r == '—'
	}) {
		if w := letters(f); w != "" {
			out = append(out, w)
		}
	}
	return out
}
