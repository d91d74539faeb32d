package milogin

import "time"

// SessionStage says what a session may do. A password alone does not always
// make a full session: the person may first have to confirm ending another
// session, or change an expired password.
type SessionStage string

const (
	StageActive          SessionStage = "active"           // signed in
	StageConfirmTakeover SessionStage = "confirm-takeover" // another session is active: ask first
	StageChangePassword  SessionStage = "change-password"  // password expired: change it first
	// StageSecondFactor is a staff sign-in between the password and the
	// second factor: it opens no console page (internal/admin).
	StageSecondFactor SessionStage = "second-factor"
)

// EndReason says why a session ended before its time, so that the browser
// that still holds its token can be told on the sign-in page.
type EndReason string

const (
	EndSignedInElsewhere EndReason = "elsewhere" // the same User ID signed in on another device
	EndPasswordChanged   EndReason = "password"  // the password was changed or reset
	EndTimedOut          EndReason = "timeout"   // idle or absolute time-out (never stored: seen on the session)
)

// Session is a server-side sign-in session. The browser holds a 256-bit random
// token; only its SHA-256 (ID) is stored, so a copy of the database cannot be
// replayed as cookies.
type Session struct {
	ID         string // hex SHA-256 of the token
	AccountID  string
	Portal     PortalID
	Stage      SessionStage
	CreatedAt  time.Time // = the time of authentication
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	IP         string
	UserAgent  string
}

// Live reports whether the session is within both its idle and absolute time-outs.
func (s *Session) Live(p Policy, now time.Time) bool {
	if !now.Before(s.ExpiresAt) {
		return false
	}
	return p.SessionIdle <= 0 || now.Sub(s.LastSeenAt) < p.SessionIdle
}
