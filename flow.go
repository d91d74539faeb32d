package milogin

import (
	"context"
	"time"
)

// Flow kinds: a flow's token only works for the pages of its kind.
const (
	FlowSignup          = "signup"           // the sign-up wizard, State is PendingSignup
	FlowResetPassword   = "reset-password"   // Forgot your password?, State is PasswordReset
	FlowChangeEmail     = "change-email"     // Update Profile with a new email, State is ProfileChange
	FlowSecurityOptions = "security-options" // Security Options, State is SecurityOptionsChange
)

// Flow is a self-service flow that spans several pages (sign-up, forgot
// password, a profile change waiting for its PIN). It lives server-side: the
// browser holds a 256-bit random token in a cookie and the store keeps only
// its SHA-256 (ID), exactly like a Session. Any node can serve any step.
//
// State is the kind's own document (PendingSignup, PasswordReset, …) as JSON;
// the store does not look inside it. It never holds a plaintext password, PIN
// or security answer: only their hashes.
type Flow struct {
	ID        string // hex SHA-256 of the token
	Kind      string
	Portal    PortalID
	Subject   string // the account the flow concerns; "" for a sign-up or an unknown user ID
	State     []byte // JSON
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// Live reports whether the flow may still be used at now.
func (f *Flow) Live(now time.Time) bool { return now.Before(f.ExpiresAt) }

// FlowStore keeps flows. Get returns ENOTFOUND for an unknown ID (an expired
// flow is returned: the caller checks Live); Update loads the flow locked,
// applies fn and saves it.
type FlowStore interface {
	Create(ctx context.Context, f *Flow) error
	Get(ctx context.Context, id string) (*Flow, error)
	Update(ctx context.Context, id string, fn func(*Flow) error) (*Flow, error)
	// Delete removes the flow; deleting an unknown flow is not an error.
	Delete(ctx context.Context, id string) error
	// DeleteExpired removes flows that expire at or before before.
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
}

// PurposeVerifyQuestion marks the Code behind a verification question:
// its hash is the keyed hash of the normalized correct answer.
const PurposeVerifyQuestion = "verify-question"
