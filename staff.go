package milogin

import (
	"context"
	"time"
)

// Staff is the portal of the people who work in the administration console
// (help desk, application and security administrators). Staff accounts are
// ordinary Accounts in this portal, so they are hashed, locked, audited and
// timed out exactly like everyone else's, but the portal has no public
// pages: it is not among DefaultPortals, ParsePortal refuses it, and its
// accounts are reached only through /admin, always with a second factor.
// A staff member's user ID is their work email (normalized).
const Staff PortalID = "staff"

// StaffPortal is the staff portal with its policy: the NIST SP 800-63B-4
// profile (long passwords, no expiry), the usual lockout, and the console's
// session time-outs of 15 minutes idle and 8 hours absolute.
func StaffPortal() Portal {
	p := NISTPolicy()
	p.SessionIdle = 15 * time.Minute
	p.SessionAbsolute = 8 * time.Hour
	p.InactivityMonths = 0 // staff leave through the console, not by a sweep
	return Portal{ID: Staff, Name: "MILogin Administration", Policy: p}
}

// FlowStaffEnrol is a staff member's one-time enrolment link (24 hours):
// Subject is the staff account, which sets its password and authenticator
// app through it.
const FlowStaffEnrol = "staff-enrol"

// StaffRole is what a staff member may do in the console.
type StaffRole string

const (
	// RoleHelpDesk searches and views residents' accounts and unlocks,
	// reactivates, deactivates them, ends their sessions, resends the user
	// ID and sends password resets.
	RoleHelpDesk StaffRole = "helpdesk"
	// RoleAppAdmin decides access requests, revokes grants and reads the
	// terms of the applications named in its grants (StaffGrant.AppID).
	RoleAppAdmin StaffRole = "appadmin"
	// RoleSecurity manages applications and clients, portal policies,
	// signing keys and staff accounts.
	RoleSecurity StaffRole = "security"
)

// ParseStaffRole returns the role for s or EINVALID.
func ParseStaffRole(s string) (StaffRole, error) {
	switch r := StaffRole(s); r {
	case RoleHelpDesk, RoleAppAdmin, RoleSecurity:
		return r, nil
	}
	return "", Errorf("milogin.ParseStaffRole", EINVALID, "unknown role %q (want helpdesk, appadmin or security)", s)
}

// StaffGrant gives a staff account a role; an appadmin grant names the
// application it covers.
type StaffGrant struct {
	AccountID string
	Role      StaffRole
	AppID     string // appadmin only
	CreatedAt time.Time
}

// StaffStore holds staff roles.
type StaffStore interface {
	// Roles lists the account's grants (none for a resident).
	Roles(ctx context.Context, accountID string) ([]StaffGrant, error)
	// SetRoles replaces the account's grants.
	SetRoles(ctx context.Context, accountID string, roles []StaffGrant) error
	// List lists every grant, by account.
	List(ctx context.Context) ([]StaffGrant, error)
}

// AccountSearch is a help-desk search: accounts of one portal whose Field
// starts with Prefix (case-insensitive), in the order of that field, after
// the keyset cursor (AfterKey, AfterID) when set.
type AccountSearch struct {
	Portal   PortalID
	Field    SearchField
	Prefix   string // normalized by the caller (see NormalizeSearch)
	AfterKey string
	AfterID  string
	Limit    int
}

// SearchField is what a help-desk search looks at.
type SearchField string

const (
	SearchUserID SearchField = "user_id"
	SearchEmail  SearchField = "email"
	SearchName   SearchField = "name"  // last name, then first name
	SearchPhone  SearchField = "phone" // the mobile number's digits
)

// SearchHit is one account a search found, with its sort key for paging.
type SearchHit struct {
	Account *Account
	Key     string
}

// PortalPolicy is a security administrator's policy for a resident portal,
// replacing the portal's default from DefaultPortals. Every node reads the
// stored policies when it starts and again every half minute, and the node
// that saves one at once (authn.Service.LoadPolicies).
type PortalPolicy struct {
	Portal    PortalID
	Policy    Policy
	UpdatedAt time.Time
	UpdatedBy string // the staff account
}

// PolicyStore keeps the stored portal policies.
type PolicyStore interface {
	List(ctx context.Context) ([]PortalPolicy, error)
	// Put creates or replaces the portal's policy.
	Put(ctx context.Context, p *PortalPolicy) error
}
