package milogin

import "time"

// Code purposes: a code only works for the flow that created it.
const (
	PurposeSignup        = "signup"
	PurposeResetPassword = "reset-password"
	PurposeChangeEmail   = "change-email"
	PurposeSecurityOpts  = "security-options"
	PurposeMFA           = "mfa"
)

// Code is a one-time PIN or passcode. Only a keyed hash is stored.
type Code struct {
	ID          string // random handle carried by the flow
	Purpose     string
	Subject     string // what the code is bound to: an account ID or a pending sign-up ID
	Hash        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Attempts    int // wrong tries so far; never reset by a resend
	MaxAttempts int
	Sends       int // how many times a code was sent for this flow
	UsedAt      time.Time
}

// Usable reports whether the code may still be tried at now.
func (c *Code) Usable(now time.Time) bool {
	return c.UsedAt.IsZero() && now.Before(c.ExpiresAt) && c.Attempts < c.MaxAttempts
}
