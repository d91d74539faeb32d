package milogin

import (
	"net/url"
	"slices"
	"time"
)

// ApprovalModel is how a person gets access to an application.
type ApprovalModel string

const (
	// ApprovalOpen: the person enrols themself after agreeing to the terms.
	ApprovalOpen ApprovalModel = "open"
	// ApprovalRequired: the person requests access and an application
	// administrator approves or denies it.
	ApprovalRequired ApprovalModel = "approval"
	// ApprovalProvisioned: only the application grants access, through the
	// provisioning API (OSMIS staff accounts, for example).
	ApprovalProvisioned ApprovalModel = "provisioned"
)

// MFAPolicy is when an application asks for a second factor.
type MFAPolicy string

const (
	MFANone   MFAPolicy = "none"
	MFADaily  MFAPolicy = "daily" // once per calendar day per application, state time zone
	MFAAlways MFAPolicy = "always"
)

// Application is a relying party in the catalog.
type Application struct {
	ID        string // short stable name: "osmis", "cars"
	Name      string // "One-Stop Management Information System (OSMIS)"
	Category  string // heading on the home page: "Administration"
	Portals   []PortalID
	LaunchURL string // where the home-page link goes (the application's own sign-in start)
	Approval  ApprovalModel
	MFA       MFAPolicy
	// Terms & Conditions shown on first launch; a new version asks again.
	TermsText    string
	TermsVersion int
	// Contact is whom the Access Denied page tells the person to contact:
	// "your MWA Administrator".
	Contact   string
	Client    Client
	CreatedAt time.Time
	UpdatedAt time.Time
}

// HomeURL is where the application's home-page link goes for a person of
// the portal whose OpenID Provider is issuer, "" when it has no home-page
// entry. A launch URL wins; otherwise an OpenID Connect client with an
// initiate_login_uri is sent there with iss (required) and login_hint (the
// person's user ID), as third-party initiated login asks (OpenID Connect
// Core 1.0 §4); the application then starts a normal sign-in at issuer.
func (a *Application) HomeURL(issuer, userID string) string {
	if a.LaunchURL != "" {
		return a.LaunchURL
	}
	if a.Client.InitiateLoginURI == "" {
		return ""
	}
	u, err := url.Parse(a.Client.InitiateLoginURI)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("iss", issuer)
	if userID != "" {
		q.Set("login_hint", userID)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// HasHomeEntry reports whether the application can be launched from the
// home page: it has a launch URL or an initiate_login_uri.
func (a *Application) HasHomeEntry() bool {
	return a.LaunchURL != "" || a.Client.InitiateLoginURI != ""
}

// InPortal reports whether the application is offered in portal p.
func (a *Application) InPortal(p PortalID) bool { return slices.Contains(a.Portals, p) }

// Client is an application's OpenID Connect client registration.
type Client struct {
	ID                   string // client_id
	SecretHash           string // argon2id of the secret; empty for a public client
	Public               bool
	RedirectURIs         []string
	PostLogoutURIs       []string
	BackchannelLogoutURI string
	// GrantTypes allowed: authorization_code always; refresh_token and
	// client_credentials when enabled.
	GrantTypes []string
	// IDTokenAlg signs the client's ID tokens: "" (RS256) or "ES256".
	IDTokenAlg string
	// InitiateLoginURI is the client's sign-in start for third-party
	// initiated login (OpenID Connect Core 1.0 §4); "" for none.
	InitiateLoginURI string
}

// GrantStatus is where a person's access to an application stands.
type GrantStatus string

const (
	GrantPending GrantStatus = "pending" // requested, awaiting an administrator
	GrantActive  GrantStatus = "granted"
	GrantDenied  GrantStatus = "denied"
	GrantRevoked GrantStatus = "revoked"
)

// Grant is one person's access to one application.
type Grant struct {
	AppID       string
	AccountID   string
	Status      GrantStatus
	RequestedAt time.Time
	DecidedAt   time.Time
	DecidedBy   string // staff account, application client, "self" for open enrolment
	Reason      string
}

// TermsAcceptance records that a person agreed to a version of an
// application's terms.
type TermsAcceptance struct {
	AppID      string
	AccountID  string
	Version    int
	AcceptedAt time.Time
}

// MFAEvent records a completed second factor for an application; the daily
// policy looks for one on the same calendar day in the state's time zone.
type MFAEvent struct {
	AccountID string
	AppID     string
	Method    string // "email", "sms", "totp", "webauthn"
	At        time.Time
}
