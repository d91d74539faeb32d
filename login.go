package milogin

import "time"

// LoginRequest is a protocol's request (an OpenID Connect authorization
// request, a SAML AuthnRequest) parked while the person signs in. The
// protocol package creates it and sends the browser to
// /{portal}/continue?login=ID; the web pages authenticate the person, apply
// the application's access rules, terms and MFA policy, fill in the outcome
// and send the browser to CallbackURL, where the protocol answers the
// application. Protocol packages never render pages; pages never speak the
// protocols.
type LoginRequest struct {
	ID          string
	Protocol    string // "oidc", "saml"
	Portal      PortalID
	AppID       string
	CallbackURL string // path the browser returns to when done
	// ForceLogin asks for a fresh password even with a live session
	// (prompt=login, max_age exceeded, ForceAuthn).
	ForceLogin bool
	// ForceMFA asks for a second factor whatever the application's policy
	// (acr_values asking for MFA).
	ForceMFA  bool
	CreatedAt time.Time
	ExpiresAt time.Time

	// Filled in by the pages when the person is through.
	AccountID string
	SessionID string
	AuthTime  time.Time
	AMR       []string // "pwd", then "mfa" and the factor ("otp", "hwk") when one was used
	DoneAt    time.Time
	// Refusal is set instead when the sign-in ends without access, to the
	// error the protocol reports to the application: "access_denied" when
	// the person cancels the Terms & Conditions.
	Refusal string
}

// Done reports whether the person has completed the sign-in.
func (r *LoginRequest) Done() bool { return !r.DoneAt.IsZero() && r.AccountID != "" }
