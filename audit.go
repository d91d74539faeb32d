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
	EventProfileChanged   = "profile.changed"
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
