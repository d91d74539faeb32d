package milogin

import "time"

// Audit event types. Every security event is written in the same transaction
// as the change it records.
const (
	EventSignIn           = "signin.success"
	EventSignInFailed     = "signin.failure"
	EventSignInLocked     = "signin.locked"   // attempt on a locked account
	EventSignInDisabled   = "signin.disabled" // attempt on a disabled account
	EventLockout          = "account.locked"  // this failure locked the account
	EventUnlock           = "account.unlocked"
	EventDisabledInactive = "account.disabled_inactive"
	EventReactivated      = "account.reactivated"
	EventAccountCreated   = "account.created"
	EventPasswordChanged  = "password.changed"
	EventSessionTakeover  = "session.takeover" // the other session was logged out
	EventSignOut          = "signout"
	EventSessionRotated   = "session.rotated" // new token after a second factor (step-up)
	EventProfileChanged   = "profile.changed"

	// Access to applications (R-4.2 … ).
	EventAccessRequested = "access.requested" // the person asked for access
	EventAccessGranted   = "access.granted"   // approved, enrolled or provisioned
	EventAccessDenied    = "access.denied"    // a request was turned down
	EventAccessRevoked   = "access.revoked"
	EventLaunchDenied    = "access.launch_denied" // a sign-in to an application ended on Access Denied
	EventTermsAccepted   = "terms.accepted"
	EventTermsDeclined   = "terms.declined"
	EventAPICall         = "api.call" // one call of the provisioning API or SCIM, with its outcome

	// Second factors.
	EventMFASent        = "mfa.code_sent"
	EventMFASuccess     = "mfa.success"
	EventMFAFailed      = "mfa.failure"
	EventTOTPEnrolled   = "mfa.totp_enrolled"
	EventTOTPRemoved    = "mfa.totp_removed"
	EventPasskeyAdded   = "mfa.passkey_added"
	EventPasskeyRemoved = "mfa.passkey_removed"
)

// AuditEvent is one line of the append-only audit trail.
type AuditEvent struct {
	ID        int64
	Time      time.Time
	Type      string
	Portal    PortalID
	ActorID   string // who did it: the account itself, staff, an application
	SubjectID string // whose account it concerns
	IP        string
	UserAgent string
	Detail    map[string]string // never secrets
}

// AuditFilter selects audit events; zero fields do not filter.
type AuditFilter struct {
	SubjectID string
	Type      string
	Since     time.Time
	Limit     int
}
