package milogin

// Citizen sign-up follows the third-party wizard's flow (a
// PendingSignup in a FlowSignup flow) with its own steps: 1 profile, 2
// username, password and recovery methods, the email PIN, then identity
// verification against the Secretary of State's card records. The account
// is created only when the verification succeeds.

// CitizenSignup is what a citizen sign-up keeps beyond PendingSignup.
type CitizenSignup struct {
	// MiddleName in full: the card is compared with the name typed at
	// verification, not with this, but the form shows it again.
	MiddleName string `json:"middle_name,omitempty"`
	// EmailProven is set when the PIN sent to the email was confirmed:
	// identity verification is the step after it.
	EmailProven bool `json:"email_proven,omitempty"`
}

// Audit events of citizen identity verification: every try is recorded.
const (
	EventCitizenVerified      = "citizen.verify_success"
	EventCitizenVerifyFailed  = "citizen.verify_failure" // detail: reason (no-match, status, card-in-use, throttled)
	EventCitizenCardInUseSent = "citizen.card_in_use_notice"
)
