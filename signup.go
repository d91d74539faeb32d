package milogin

// PendingSignup is a sign-up in progress, kept in a
// Flow of kind FlowSignup until its PIN is confirmed. Only then is an
// Account created: an abandoned sign-up leaves no account, and it expires
// with its flow. It holds what the person typed so that BACK shows it again,
// but never a plaintext password or security answer: CREATE ACCOUNT stores
// their argon2id hashes.
type PendingSignup struct {
	// 1 Profile Information.
	FirstName     string `json:"first_name"`
	MiddleInitial string `json:"middle_initial,omitempty"`
	LastName      string `json:"last_name"`
	Suffix        string `json:"suffix,omitempty"`
	Email         string `json:"email"`
	WorkPhone     string `json:"work_phone"`
	Mobile        string `json:"mobile,omitempty"`
	AgreedTerms   bool   `json:"agreed_terms"`

	// 2 Security Setup, as last typed (kept for BACK).
	UserID             string   `json:"user_id,omitempty"`
	RecoverByEmail     bool     `json:"recover_email,omitempty"`
	RecoverByMobile    bool     `json:"recover_mobile,omitempty"`
	RecoverByQuestions bool     `json:"recover_questions,omitempty"`
	QuestionIDs        []string `json:"question_ids,omitempty"`
	// SetupMobile is the mobile number typed in Security Setup when the
	// profile had none and Mobile (Text/SMS) was chosen.
	SetupMobile string `json:"setup_mobile,omitempty"`

	// Set by CREATE ACCOUNT, once every rule passed.
	Submitted    bool             `json:"submitted,omitempty"`
	PasswordHash string           `json:"password_hash,omitempty"`
	Answers      []SecurityAnswer `json:"answers,omitempty"`
	// PINCodeID is the Code that holds the PIN's hash, its tries and sends.
	PINCodeID  string  `json:"pin_code_id,omitempty"`
	PINChannel Channel `json:"pin_channel,omitempty"`
	// PINRounds counts the PINs that ran out of tries: one more round is
	// offered (CREATE ACCOUNT again, with the password), then it ends.
	PINRounds int `json:"pin_rounds,omitempty"`

	// Citizen is set for a citizen sign-up (citizen.go), which verifies
	// the person's driver's license or state ID after the PIN.
	Citizen *CitizenSignup `json:"citizen,omitempty"`

	// Created is set when the PIN was confirmed and the account written;
	// the flow then only shows 3 Confirmation (everything secret is gone).
	Created bool `json:"created,omitempty"`
}

// AccountMobile is the mobile number the account will have.
func (p *PendingSignup) AccountMobile() string {
	if p.Mobile != "" {
		return p.Mobile
	}
	return p.SetupMobile
}
