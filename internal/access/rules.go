// Package access decides who may enter which application: the approval
// models (open, approval, provisioned), the terms &
// conditions and their versions, and the MFA policies (none, daily, always).
//
// The rules are pure functions of the catalog entry, the person's grant, terms
// acceptance and last second factor, and the clock (Decide, NeedsTerms,
// NeedsMFA), so they are tested as tables without a database or a browser.
// Service applies the decisions to the store: every change is written in one
// transaction with its audit event and the email it causes.
package access

import (
	"slices"
	"time"

	"milogin"
)

// StateTimeZone is where the daily MFA policy's calendar day is counted.
const StateTimeZone = "America/Detroit"

// Step is what must happen before a person enters an application.
type Step int

const (
	// Enter: the person may go in.
	Enter Step = iota
	// Denied: the person has no access; the Access Denied page says whom to
	// contact.
	Denied
	// Enrol: an open application without terms; enrol the person on the
	// spot and decide again.
	Enrol
	// Terms: the person must agree to the current terms first (and, for an
	// open application they are not enrolled in, agreeing enrols them).
	Terms
	// MFA: the person must complete a second factor first.
	MFA
)

func (s Step) String() string {
	switch s {
	case Enter:
		return "enter"
	case Denied:
		return "denied"
	case Enrol:
		return "enrol"
	case Terms:
		return "terms"
	case MFA:
		return "mfa"
	}
	return "unknown"
}

// Input is everything the launch decision looks at.
type Input struct {
	App     *milogin.Application
	Portal  milogin.PortalID
	Grant   *milogin.Grant           // nil when the person has none
	Terms   *milogin.TermsAcceptance // the highest version accepted; nil when none
	LastMFA *milogin.MFAEvent        // the latest second factor for this application; nil when none
	// Request is the parked protocol sign-in; nil for a launch that is not
	// one (there is none yet: every launch comes through a protocol).
	Request *milogin.LoginRequest
	// SessionID and SessionStart identify the person's session: a second
	// factor counts for this sign-in only when it was completed in it.
	SessionID    string
	SessionStart time.Time
	Now          time.Time
	Location     *time.Location // nil: StateTimeZone
}

// Decision is the outcome of Decide.
type Decision struct {
	Step Step
	// Enrols is set with Terms: agreeing also grants access (open model).
	Enrols bool
	// Reason says why, for the audit trail (never shown as is).
	Reason string
	// AMR is the authentication methods to report when Step is Enter.
	AMR []string
}

// Decide applies the rules in order: the application must be offered in the
// portal; access must be granted (an open application enrols the person
// after they agree to its terms); the current terms must be accepted; the
// MFA policy must be met.
func Decide(in Input) Decision {
	app := in.App
	if !app.InPortal(in.Portal) {
		return Decision{Step: Denied, Reason: "not offered in portal " + string(in.Portal)}
	}
	if !Launchable(in.Grant) {
		if app.Approval != milogin.ApprovalOpen {
			return Decision{Step: Denied, Reason: denyReason(app, in.Grant)}
		}
		if !CanEnrol(in.Grant) {
			return Decision{Step: Denied, Reason: denyReason(app, in.Grant)}
		}
		if NeedsTerms(app, in.Terms) {
			return Decision{Step: Terms, Enrols: true, Reason: "open application: agree to enrol"}
		}
		return Decision{Step: Enrol, Reason: "open application without terms"}
	}
	if NeedsTerms(app, in.Terms) {
		return Decision{Step: Terms, Reason: "terms not accepted in their current version"}
	}
	if NeedsMFA(app, in.Request, in.SessionID, in.LastMFA, in.Now, in.Location) {
		return Decision{Step: MFA, Reason: "MFA policy " + string(app.MFA)}
	}
	return Decision{Step: Enter, Reason: "granted", AMR: AMRFor(in.Request, in.SessionID, in.SessionStart, in.LastMFA)}
}

func denyReason(app *milogin.Application, g *milogin.Grant) string {
	if g == nil {
		return "no grant (" + string(app.Approval) + ")"
	}
	return "grant " + string(g.Status) + " (" + string(app.Approval) + ")"
}

// Launchable reports whether a grant lets the person in: only an active one does.
func Launchable(g *milogin.Grant) bool { return g != nil && g.Status == milogin.GrantActive }

// CanEnrol reports whether a person with grant g may enrol themself in an
// open application: not after an administrator revoked or denied access,
// which self-enrolment would otherwise undo.
func CanEnrol(g *milogin.Grant) bool {
	return g == nil || g.Status == milogin.GrantPending || g.Status == milogin.GrantActive
}

// NeedsTerms reports whether the person must agree to the application's
// terms: the application has terms (version 1 or later) and the highest
// version accepted is older than the current one.
func NeedsTerms(app *milogin.Application, ta *milogin.TermsAcceptance) bool {
	if app.TermsVersion <= 0 {
		return false
	}
	return ta == nil || ta.Version < app.TermsVersion
}

// MFADoneFor reports whether a second factor was completed for this very
// sign-in: the MFA pages mark the parked request with the session and the
// methods used.
func MFADoneFor(req *milogin.LoginRequest, sessionID string) bool {
	return req != nil && sessionID != "" && req.SessionID == sessionID && slices.Contains(req.AMR, "mfa")
}

// NeedsMFA applies the application's MFA policy:
//
//	none    only when the request asks for MFA (LoginRequest.ForceMFA)
//	daily   unless a second factor was completed for this application on
//	        the same calendar day in the state's time zone
//	always  every launch
//
// A second factor completed for this very request always satisfies it. An
// unknown policy is treated as always: a typo must not turn MFA off.
func NeedsMFA(app *milogin.Application, req *milogin.LoginRequest, sessionID string, last *milogin.MFAEvent, now time.Time, loc *time.Location) bool {
	if MFADoneFor(req, sessionID) {
		return false
	}
	if req != nil && req.ForceMFA {
		return true
	}
	switch app.MFA {
	case milogin.MFANone, "":
		return false
	case milogin.MFADaily:
		return last == nil || !SameDay(last.At, now, loc)
	}
	return true
}

// SameDay reports whether a and b fall on the same calendar day in loc
// (StateTimeZone when nil).
func SameDay(a, b time.Time, loc *time.Location) bool {
	if loc == nil {
		loc = StateLocation()
	}
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return ay == by && am == bm && ad == bd
}

// AMRFor returns the authentication methods of a sign-in that is let in: the
// factors marked on the request, else the second factor recorded for the
// application when it was completed during this session, else the password
// alone. (A daily policy met by a second factor in an earlier session lets
// the person in without one now, and the application is told so.)
func AMRFor(req *milogin.LoginRequest, sessionID string, sessionStart time.Time, last *milogin.MFAEvent) []string {
	if MFADoneFor(req, sessionID) {
		return slices.Clone(req.AMR)
	}
	if last != nil && !sessionStart.IsZero() && !last.At.Before(sessionStart) {
		return milogin.AMR(last.Method)
	}
	return milogin.AMR("")
}

// Status is how the Request Access page shows a person's standing with an
// application.
type Status string

const (
	StatusNone        Status = "Not requested"
	StatusPending     Status = "Pending approval"
	StatusGranted     Status = "Access granted"
	StatusDenied      Status = "Request denied"
	StatusRevoked     Status = "Access revoked"
	StatusProvisioned Status = "Granted by the application"
)

// StatusOf returns the person's standing with an application.
func StatusOf(app *milogin.Application, g *milogin.Grant) Status {
	if g == nil {
		if app.Approval == milogin.ApprovalProvisioned {
			return StatusProvisioned
		}
		return StatusNone
	}
	switch g.Status {
	case milogin.GrantActive:
		return StatusGranted
	case milogin.GrantPending:
		return StatusPending
	case milogin.GrantDenied:
		return StatusDenied
	case milogin.GrantRevoked:
		return StatusRevoked
	}
	return StatusNone
}

// CanRequest reports whether the Request Access page offers a Request
// button: open applications the person may enrol in, and approval
// applications without a pending or active grant. Provisioned applications
// are granted only by the application itself.
func CanRequest(app *milogin.Application, g *milogin.Grant) bool {
	if Launchable(g) {
		return false
	}
	switch app.Approval {
	case milogin.ApprovalOpen:
		return CanEnrol(g)
	case milogin.ApprovalRequired:
		return g == nil || g.Status != milogin.GrantPending
	}
	return false
}
