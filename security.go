package milogin

import (
	"context"
	"strings"
)

// SecurityQuestionCount is how many questions a person answers when they
// choose Security Questions as a recovery option (the guide's four).
const SecurityQuestionCount = 4

// SecurityQuestion is one question offered for the Security Questions
// recovery option. IDs are stored with the answers and never change; the
// text may be reworded.
type SecurityQuestion struct {
	ID   string
	Text string
}

// SecurityQuestions is the list a person picks four distinct questions from.
// The questions ask for facts that do not change and are not usually public.
var SecurityQuestions = []SecurityQuestion{
	{"first-pet", "What was the name of your first pet?"},
	{"birth-city", "In what city or town were you born?"},
	{"elementary-school", "What was the name of your elementary school?"},
	{"first-car", "What was the make and model of your first car?"},
	{"childhood-street", "What is the name of the street you grew up on?"},
	{"childhood-nickname", "What was your childhood nickname?"},
	{"oldest-sibling-middle", "What is the middle name of your oldest sibling?"},
	{"parents-met-city", "In what city or town did your parents meet?"},
	{"first-employer", "What was the name of your first employer?"},
	{"favorite-teacher", "What was the last name of your favorite teacher?"},
	{"childhood-friend", "What was the first name of your childhood best friend?"},
	{"first-concert", "What was the first concert you attended?"},
}

// SecurityQuestionText returns the text of the question with id, "" if
// there is none.
func SecurityQuestionText(id string) string {
	for _, q := range SecurityQuestions {
		if q.ID == id {
			return q.Text
		}
	}
	return ""
}

// NormalizeAnswer is what a security answer is hashed and compared as:
// lower case, runs of white space collapsed to one space, trimmed. "  Grand
// Rapids " and "grand   rapids" are the same answer.
func NormalizeAnswer(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// SecurityAnswer is one chosen question and the argon2id hash (PHC string)
// of the normalized answer. The answer itself is never stored.
type SecurityAnswer struct {
	QuestionID string `json:"q"`
	Hash       string `json:"h"`
}

// SecurityAnswerStore keeps each account's security questions and answer
// hashes. An account with answers offers Security Questions as a recovery
// option.
type SecurityAnswerStore interface {
	// List returns the account's answers in the order chosen; none is an
	// empty (nil) list, not an error.
	List(ctx context.Context, accountID string) ([]SecurityAnswer, error)
	// Put replaces the account's answers; an empty list removes them.
	Put(ctx context.Context, accountID string, answers []SecurityAnswer) error
}

// RecoveryMethod is a way to prove who you are when you forgot your password.
type RecoveryMethod string

const (
	RecoverEmail     RecoveryMethod = "email"     // a PIN sent to the email address
	RecoverText      RecoveryMethod = "text"      // a PIN texted to the mobile number
	RecoverQuestions RecoveryMethod = "questions" // the four security questions
)

// Label is how the method is named on the pages.
func (m RecoveryMethod) Label() string {
	switch m {
	case RecoverEmail:
		return "Email"
	case RecoverText:
		return "Text Message"
	case RecoverQuestions:
		return "Security Questions"
	}
	return string(m)
}

// Audit events of self-service (see audit.go for the others).
const (
	EventSignupPINSent = "signup.pin_sent"
	// EventSignupEmailTaken: a sign-up confirmed for an address that
	// already has an account; its holder was emailed the User ID instead.
	EventSignupEmailTaken        = "signup.email_taken"
	EventUserIDReminder          = "recovery.user_id_sent"
	EventResetStarted            = "recovery.reset_started"
	EventResetVerified           = "recovery.reset_verified"
	EventResetFailed             = "recovery.reset_failed"
	EventPasswordReset           = "password.reset"
	EventEmailChanged            = "email.changed"
	EventSecurityOptionsChanged  = "security_options.changed"
	EventSecurityOptionsRejected = "security_options.rejected"
)
