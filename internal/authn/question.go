package authn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"milogin"
)

// Verification questions keep scripts off the sign-up and recovery
// forms: "Which word from list "carload, exact, assail, portfolio" contains
// the letter "p"?". Each question is a Code (purpose "verify-question")
// bound to its form and portal, valid QuestionLife, answerable once. Its
// text is generated from a seed derived with the code key from the code's
// ID, so the page can show the same question again from the ID in its
// hidden field without storing the text, and nobody without the key can
// tell the answer from the ID. The stored hash is the keyed hash of the
// normalized answer.

// QuestionLife is how long a verification question may be answered.
const QuestionLife = 10 * time.Minute

// Forms that carry a verification question; a question answers only its own.
const (
	FormSignup         = "signup"
	FormForgotUserID   = "forgot-user-id"
	FormForgotPassword = "forgot-password"
)

// Messages about the verification question. RuleNewQuestion marks the
// violations after which the page must show a new question.
const (
	MsgQuestionRequired = "Verification Question is required."
	MsgQuestionWrong    = "The answer to the verification question is incorrect. Please answer the new question."
	MsgQuestionExpired  = "The verification question has expired. Please answer the new question."
	RuleNewQuestion     = "new-question"
	// FieldQuestion is the form field of the answer; the question's ID
	// travels in FieldQuestionID.
	FieldQuestion   = "vq_answer"
	FieldQuestionID = "vq_id"
)

// Question is a verification question to show.
type Question struct {
	ID   string
	Text string
}

// NeedsNewQuestion reports whether the violations ask for a new question.
func NeedsNewQuestion(vs []milogin.Violation) bool {
	for _, v := range vs {
		if v.Field == FieldQuestion && v.Rule == RuleNewQuestion {
			return true
		}
	}
	return false
}

func questionSubject(portal milogin.PortalID, form string) string {
	return "vq|" + string(portal) + "|" + form
}

// NewQuestion creates a verification question for form in portal.
func (s *Service) NewQuestion(ctx context.Context, portal milogin.PortalID, form string) (Question, error) {
	id := NewID()
	text, answer := s.question(id)
	now := s.now()
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		return tx.Codes().Create(ctx, &milogin.Code{
			ID: id, Purpose: milogin.PurposeVerifyQuestion, Subject: questionSubject(portal, form),
			Hash: s.Codes.Hash(id, answer), CreatedAt: now, ExpiresAt: now.Add(QuestionLife), MaxAttempts: 1, Sends: 1,
		})
	})
	if err != nil {
		return Question{}, milogin.Wrap("authn.NewQuestion", err)
	}
	return Question{ID: id, Text: text}, nil
}

// QuestionText returns the text of the question with id (for showing the
// same question again). It says nothing about whether the question is still
// valid.
func (s *Service) QuestionText(id string) string {
	text, _ := s.question(id)
	return text
}

// checkQuestion checks the answer to question id inside tx. An empty answer
// is a violation that keeps the question. A wrong answer uses the question
// up (the page must show a new one); so does a right one when consume is
// set. The caller must commit tx even when it reports a violation.
func (s *Service) checkQuestion(ctx context.Context, tx milogin.Tx, now time.Time, portal milogin.PortalID, form, id, answer string, consume bool) (*milogin.Violation, error) {
	v := func(rule, msg string) *milogin.Violation {
		return &milogin.Violation{Field: FieldQuestion, Rule: rule, Message: msg}
	}
	norm := normalizeQuestionAnswer(answer)
	if id == "" || len(id) > 64 {
		return v(RuleNewQuestion, MsgQuestionExpired), nil
	}
	if norm == "" {
		return v(milogin.RuleRequired, MsgQuestionRequired), nil
	}
	var out *milogin.Violation
	_, err := tx.Codes().Update(ctx, id, func(c *milogin.Code) error {
		switch {
		case c.Purpose != milogin.PurposeVerifyQuestion || c.Subject != questionSubject(portal, form) || !c.Usable(now):
			out = v(RuleNewQuestion, MsgQuestionExpired)
		case !s.Codes.Equal(c.Hash, c.ID, norm):
			c.Attempts++
			c.UsedAt = now
			out = v(RuleNewQuestion, MsgQuestionWrong)
		case consume:
			c.UsedAt = now
		}
		return nil
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return v(RuleNewQuestion, MsgQuestionExpired), nil
	}
	return out, err
}

// normalizeQuestionAnswer folds case and space and drops quotes and
// punctuation around the word: ` "Portfolio." ` is "portfolio".
func normalizeQuestionAnswer(s string) string {
	s = milogin.NormalizeAnswer(s)
	return strings.Trim(s, " \"'“”‘’.,!?;:")
}

// question derives the text and the answer of question id.
func (s *Service) question(id string) (text, answer string) {
	seed := s.Codes.Hash(id, "verification-question")
	var key [32]byte
	copy(key[:], seed)
	r := rand.New(rand.NewChaCha8(key))
	return generateQuestion(r)
}

// ordinals names positions in a list of four.
var ordinals = []string{"1st", "2nd", "3rd", "4th"}

// generateQuestion makes a question with exactly one right answer among four
// distinct words.
func generateQuestion(r *rand.Rand) (text, answer string) {
	for {
		words := pickWords(r, 4)
		list := `"` + strings.Join(words, ", ") + `"`
		switch r.IntN(5) {
		case 0: // contains a letter found in exactly one word
			if w, l, ok := uniqueLetter(r, words, func(w string) string { return w }); ok {
				return fmt.Sprintf("Which word from list %s contains the letter %q?", list, l), w
			}
		case 1: // starts with a letter no other word starts with
			if w, l, ok := uniqueLetter(r, words, func(w string) string { return w[:1] }); ok {
				return fmt.Sprintf("Which word from list %s starts with the letter %q?", list, l), w
			}
		case 2: // ends with a letter no other word ends with
			if w, l, ok := uniqueLetter(r, words, func(w string) string { return w[len(w)-1:] }); ok {
				return fmt.Sprintf("Which word from list %s ends with the letter %q?", list, l), w
			}
		case 3: // position
			i := r.IntN(len(words))
			return fmt.Sprintf("Which word from list %s is the %s word?", list, ordinals[i]), words[i]
		case 4: // the longest, when one word is longer than every other
			longest, n, tie := 0, 0, false
			for i, w := range words {
				switch {
				case len(w) > n:
					longest, n, tie = i, len(w), false
				case len(w) == n:
					tie = true
				}
			}
			if !tie {
				return fmt.Sprintf("Which word from list %s has the most letters?", list), words[longest]
			}
		}
	}
}

// uniqueLetter picks a letter that occurs in part(w) of exactly one word and
// returns that word and the letter.
func uniqueLetter(r *rand.Rand, words []string, part func(string) string) (string, string, bool) {
	type cand struct{ word, letter string }
	var cands []cand
	for c := 'a'; c <= 'z'; c++ {
		owner, n := "", 0
		for _, w := range words {
			if strings.ContainsRune(part(w), c) {
				owner, n = w, n+1
			}
		}
		if n == 1 {
			cands = append(cands, cand{owner, string(c)})
		}
	}
	if len(cands) == 0 {
		return "", "", false
	}
	c := cands[r.IntN(len(cands))]
	return c.word, c.letter, true
}

// pickWords returns n distinct words from the list.
func pickWords(r *rand.Rand, n int) []string {
	idx := r.Perm(len(questionWords))[:n]
	out := make([]string, n)
	for i, j := range idx {
		out[i] = questionWords[j]
	}
	return out
}

// questionWords are plain, common English words of 4–9 letters.
var questionWords = strings.Fields(`
	anchor apple assail autumn badge bakery basket beacon blanket border breeze bridge
	bucket butter cabin camera candle canyon carload carpet castle cattle cedar
	chapel cherry circle cobalt copper cotton county cradle crystal daisy desert
	dinner doctor dolphin donkey drawer eagle engine exact fabric falcon fender
	fiddle forest fossil frozen garden garlic ginger glacier gravel guitar hammer
	harbor harvest helmet hollow honey island jacket jungle kettle ladder lantern
	lemon letter lizard lumber magnet maple marble meadow mitten monkey mustard
	napkin needle nickel oatmeal ocean orange orchard otter oyster paddle palace
	parcel peanut pebble pencil pepper pickle pillow planet pocket portfolio
	prairie pumpkin puzzle quarry quiet rabbit radish ribbon river rocket saddle
	salmon sandal shovel silver spider spruce squash statue summer sunset tablet
	teapot thunder timber tomato tunnel turkey velvet violin wagon walnut window
	winter wizard yellow zipper`)
