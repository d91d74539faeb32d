package milogin

// ProfileChange is an Update Profile with a new email address, waiting for
// the PIN sent to that address. It is kept in a Flow of kind
// FlowChangeEmail whose Subject is the account; nothing changes until the
// PIN is confirmed.
type ProfileChange struct {
	FirstName     string `json:"first_name"`
	MiddleInitial string `json:"middle_initial,omitempty"`
	LastName      string `json:"last_name"`
	Suffix        string `json:"suffix,omitempty"`
	Email         string `json:"email"`
	WorkPhone     string `json:"work_phone"`
	Mobile        string `json:"mobile,omitempty"`
	PINCodeID     string `json:"pin_code_id"`
}

// SecurityOptionsChange is a change of recovery options waiting for its PIN,
// kept in a Flow of kind FlowSecurityOptions whose Subject is the
// account. Answers hold only hashes.
type SecurityOptionsChange struct {
	RecoverByEmail     bool             `json:"recover_email"`
	RecoverByMobile    bool             `json:"recover_mobile"`
	RecoverByQuestions bool             `json:"recover_questions"`
	Mobile             string           `json:"mobile,omitempty"`
	Answers            []SecurityAnswer `json:"answers,omitempty"`
	// KeepAnswers keeps the stored answers (Security Questions stays on and
	// none was retyped).
	KeepAnswers bool    `json:"keep_answers,omitempty"`
	PINCodeID   string  `json:"pin_code_id"`
	PINChannel  Channel `json:"pin_channel"`
	PINTo       string  `json:"pin_to"` // where the PIN went, for RESEND PIN
}
