package server

import "milogin/apps/osmis/internal/store"

// The reasons a sign-in is refused, one per prerequisite of the OSMIS
// guide, in the guide's order. They are shown to administrators on the
// staff account ("last denied sign-in: …"), never to the person signing in.
const (
	DenyNoDomain     = "the MWA has no valid email domain"
	DenyEmailDomain  = "the work email is not in one of the MWA's email domains"
	DenyInactive     = "the staff account status is INACTIVE"
	DenyLoginID      = "MILogin ID does not match MILogin"
	DenyEmail        = "email does not match MILogin"
	DenyNoStaffAcct  = "no OSMIS staff account has this MILogin ID or email"
	denyMissingClaim = "the ID token carries no MILogin ID or email"
)

// Identity is what MILogin's verified ID token says about the person.
type Identity struct {
	Sub, LoginID, Email, SID string
	GivenName, FamilyName    string
}

// Check applies the five prerequisites to the staff account s of agency m
// for the person id, in the guide's order, and returns "" when all hold or
// the first one that fails. IDs and emails must match exactly.
func Check(s *store.Staff, m *store.MWA, id Identity) string {
	switch {
	case id.LoginID == "" || id.Email == "":
		return denyMissingClaim
	case s == nil || m == nil:
		return DenyNoStaffAcct
	case len(m.Domains) == 0:
		return DenyNoDomain
	case !m.HasDomain(s.Email):
		return DenyEmailDomain
	case s.Status != store.Active:
		return DenyInactive
	case s.LoginID != id.LoginID:
		return DenyLoginID
	case s.Email != id.Email:
		return DenyEmail
	}
	return ""
}
