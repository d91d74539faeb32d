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

	// Access to applications.
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

	// The administration console (internal/admin). Every action carries
	// the reason the staff member gave.
	EventStaffCreated       = "staff.created"
	EventStaffEnrolled      = "staff.enrolled"      // password and authenticator set from the link
	EventStaffRolesChanged  = "staff.roles_changed" //
	EventStaffSignIn        = "staff.signin"        // password and second factor passed
	EventStaffMFAFailed     = "staff.mfa_failure"
	EventAccountDeactivated = "account.deactivated"
	EventSessionsEnded      = "sessions.ended" // by the help desk
	EventUserIDResent       = "recovery.user_id_sent"
	EventResetSent          = "recovery.reset_sent" // a reset link sent by the help desk
	EventAuditExpired       = "audit.expired"       // the retention sweep deleted old events
	EventAuditExported      = "audit.exported"
	EventPolicyChanged      = "policy.changed"
	EventAppChanged         = "app.changed"
)

// Actor kinds, as the audit trail shows them.
const (
	ActorPerson      = "person"
	ActorStaff       = "staff"
	ActorApplication = "application"
	ActorSystem      = "system"
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

	// Snapshot taken by the store when the event is written, from the
	// accounts and applications tables: who acted (ActorKind, ActorName)
	// and the subject's user ID, so the trail reads the same later.
	ActorKind     string
	ActorName     string
	SubjectUserID string
	// Reason is the reason given for the action (a staff member's, or
	// Detail["reason"] when the caller gave none here).
	Reason string
}

// AuditFilter selects audit events; zero fields do not filter.
type AuditFilter struct {
	SubjectID string
	ActorID   string
	Type      string
	Portal    PortalID
	Since     time.Time // inclusive
	Until     time.Time // exclusive
	// Before pages newest-first lists: only events older than the event
	// with this ID (by time, then ID). 0: from the newest.
	Before int64
	// After pages oldest-first lists (Ascending): events after the event
	// with this ID. 0: from the oldest.
	After     int64
	Ascending bool
	Limit     int
}
