package milogin

// PasswordReset is a Forgot your password? flow in progress, kept in
// a Flow of kind FlowResetPassword. Flow.Subject is the account, or "" when
// the user ID is unknown: the flow then runs exactly like a real one (same
// pages, same options, same work) but can never succeed, so the pages do not
// tell whether a user ID exists.
type PasswordReset struct {
	UserID string `json:"user_id"` // as typed
	// Options are the recovery methods offered, from the account's security
	// options (or made up, the same way each time, for an unknown user ID).
	Options []RecoveryMethod `json:"options"`
	// QuestionIDs are the security questions asked when Options include
	// RecoverQuestions.
	QuestionIDs []string       `json:"question_ids,omitempty"`
	Method      RecoveryMethod `json:"method,omitempty"` // chosen at 2 Select Options
	PINCodeID   string         `json:"pin_code_id,omitempty"`
	// Failures counts wrong security answers; PIN tries are counted on the Code.
	Failures int `json:"failures,omitempty"`
	// Verified is set when 3 Verify passed; only then may 4 New Password run.
	Verified bool `json:"verified,omitempty"`
	// PINRounds counts the PINs that ran out of tries in this flow: one
	// more round is offered (choose an option again), then it ends.
	PINRounds int `json:"pin_rounds,omitempty"`
}

// Has reports whether m is one of the offered options.
func (r *PasswordReset) Has(m RecoveryMethod) bool {
	for _, o := range r.Options {
		if o == m {
			return true
		}
	}
	return false
}
