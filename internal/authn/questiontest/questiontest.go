// Package questiontest answers MILogin's verification questions, for tests
// that drive the sign-up and recovery pages (handler tests, browser
// journeys) the way a person would: by reading the question.
package questiontest

import (
	"regexp"
	"strings"
)

var (
	listRE     = regexp.MustCompile(`list "([^"]+)"`)
	containsRE = regexp.MustCompile(`contains the letter "(.)"`)
	startsRE   = regexp.MustCompile(`starts with the letter "(.)"`)
	endsRE     = regexp.MustCompile(`ends with the letter "(.)"`)
	positionRE = regexp.MustCompile(`is the (\d)(?:st|nd|rd|th) word`)
)

// Answers returns every word of the question's list that answers it; a
// well-formed question has exactly one.
func Answers(question string) []string {
	m := listRE.FindStringSubmatch(question)
	if m == nil {
		return nil
	}
	words := strings.Split(m[1], ", ")
	var out []string
	pick := func(ok func(i int, w string) bool) {
		for i, w := range words {
			if ok(i, w) {
				out = append(out, w)
			}
		}
	}
	switch {
	case containsRE.MatchString(question):
		l := containsRE.FindStringSubmatch(question)[1]
		pick(func(_ int, w string) bool { return strings.Contains(w, l) })
	case startsRE.MatchString(question):
		l := startsRE.FindStringSubmatch(question)[1]
		pick(func(_ int, w string) bool { return strings.HasPrefix(w, l) })
	case endsRE.MatchString(question):
		l := endsRE.FindStringSubmatch(question)[1]
		pick(func(_ int, w string) bool { return strings.HasSuffix(w, l) })
	case positionRE.MatchString(question):
		n := int(positionRE.FindStringSubmatch(question)[1][0] - '0')
		pick(func(i int, _ string) bool { return i == n-1 })
	case strings.Contains(question, "has the most letters"):
		longest := 0
		for _, w := range words {
			longest = max(longest, len(w))
		}
		pick(func(_ int, w string) bool { return len(w) == longest })
	}
	return out
}

// Solve returns the answer to question, "" when it cannot tell.
func Solve(question string) string {
	if a := Answers(question); len(a) == 1 {
		return a[0]
	}
	return ""
}
