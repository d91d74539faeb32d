package admin

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"milogin"
)

// Route is one URL of the console and who may use it: Public routes serve
// anyone (sign-in, enrolment); Roles nil means any signed-in staff member;
// otherwise the staff member needs one of Roles.
type Route struct {
	Pattern string // "GET /admin/accounts"
	Public  bool
	Roles   []milogin.StaffRole
}

var (
	helpdesk = []milogin.StaffRole{milogin.RoleHelpDesk}
	appadmin = []milogin.StaffRole{milogin.RoleAppAdmin}
	security = []milogin.StaffRole{milogin.RoleSecurity}
	auditors = []milogin.StaffRole{milogin.RoleHelpDesk, milogin.RoleSecurity}
)

// register is the whole URL surface of the console, in one place: the
// checklist for a security review. Every route but sign-in and enrolment
// needs a console session, most a role; TestEveryRouteRefusesTheWrongRole
// walks this table.
func (s *Server) register() {
	s.public("GET /admin/login", s.handleLoginPage)
	s.public("POST /admin/login", s.handleLogin)
	s.public("GET /admin/login/code", s.handleCodePage)
	s.public("POST /admin/login/code", s.handleCode)
	s.public("POST /admin/login/passkey/begin", s.handlePasskeySignInBegin)
	s.public("POST /admin/login/passkey/finish", s.handlePasskeySignInFinish)
	s.public("GET /admin/enrol", s.handleEnrolPage)
	s.public("POST /admin/enrol", s.handleEnrol)
	s.public("POST /admin/logout", s.handleLogout)

	s.staff("GET /admin/{$}", nil, s.handleHome)
	// Every staff member's own passkeys (passkeys.go).
	s.staff("GET /admin/me/passkeys", nil, s.handlePasskeys)
	s.staff("POST /admin/me/passkeys/begin", nil, s.handlePasskeyAddBegin)
	s.staff("POST /admin/me/passkeys/finish", nil, s.handlePasskeyAddFinish)
	s.staff("POST /admin/me/passkeys/remove", nil, s.handlePasskeyRemove)

	// Help desk (helpdesk.go).
	s.staff("GET /admin/accounts", helpdesk, s.handleSearch)
	s.staff("GET /admin/accounts/{id}", helpdesk, s.handleAccount)
	s.staff("POST /admin/accounts/{id}/{action}", helpdesk, s.handleAction)

	// The audit trail: the help desk and security administrators.
	s.staff("GET /admin/audit", auditors, s.handleAudit)

	// Application administrators: their applications only (checked again
	// per application in the handlers).
	s.staff("GET /admin/access", appadmin, s.handleAccessQueue)
	s.staff("POST /admin/access/{app}/{id}/{decision}", appadmin, s.handleAccessDecision)

	// Security administrators.
	s.staff("GET /admin/security/apps", security, s.handleApps)
	s.staff("GET /admin/security/apps/new", security, s.handleAppNew)
	s.staff("POST /admin/security/apps", security, s.handleAppSave)
	s.staff("GET /admin/security/apps/{app}", security, s.handleAppEdit)
	s.staff("POST /admin/security/apps/{app}", security, s.handleAppSave)
	s.staff("POST /admin/security/apps/{app}/remove", security, s.handleAppRemove)
	s.staff("POST /admin/security/apps/{app}/rotate-secret", security, s.handleRotateSecret)
	s.staff("GET /admin/security/policies", security, s.handlePolicies)
	s.staff("POST /admin/security/policies/{portal}", security, s.handlePolicySave)
	s.staff("POST /admin/security/keys/rotate", security, s.handleRotateKeys)
	s.staff("GET /admin/security/staff", security, s.handleStaffList)
	s.staff("POST /admin/security/staff", security, s.handleStaffAdd)
	s.staff("POST /admin/security/staff/{id}/{change}", security, s.handleStaffChange)
}

// Routes returns the route table, for tests and reviews.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

func (s *Server) public(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Public: true})
	s.mux.HandleFunc(pattern, h)
}

// staff registers a route for signed-in staff holding one of roles (any
// staff member when roles is nil). Without a session a page asks to sign
// in; with the wrong role the answer is 403 and nothing else.
func (s *Server) staff(pattern string, roles []milogin.StaffRole, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Roles: roles})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		st, err := s.svc.Authenticate(r.Context(), s.cookie(r, false))
		if err != nil {
			if !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
				s.fail(w, r, err)
				return
			}
			s.setCookie(w, false, "")
			if r.Method == http.MethodGet {
				redirect(w, r, "/admin/login")
				return
			}
			s.errorPage(w, r, http.StatusForbidden, "Your console session has ended. Please sign in again.")
			return
		}
		if roles != nil && !slices.ContainsFunc(roles, st.Has) {
			s.render(w, r, http.StatusForbidden, "error", &page{Title: "Forbidden", Staff: st, Error: "Your role does not include this page."})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), staffKey, st)))
	})
}

// nav is the console menu for what the staff member may use.
func (s *Server) nav(r *http.Request, st *Staff) []navLink {
	var out []navLink
	add := func(label, href string, ok bool) {
		if ok {
			out = append(out, navLink{Label: label, Href: href, Current: r.URL.Path == href || (href != "/admin/" && strings.HasPrefix(r.URL.Path, href+"/"))})
		}
	}
	add("Console home", "/admin/", true)
	add("Find an account", "/admin/accounts", st.Has(milogin.RoleHelpDesk))
	add("Audit trail", "/admin/audit", st.Has(milogin.RoleHelpDesk) || st.Has(milogin.RoleSecurity))
	add("Access requests", "/admin/access", st.Has(milogin.RoleAppAdmin))
	add("Applications", "/admin/security/apps", st.Has(milogin.RoleSecurity))
	add("Portal policies", "/admin/security/policies", st.Has(milogin.RoleSecurity))
	add("Staff", "/admin/security/staff", st.Has(milogin.RoleSecurity))
	add("Your passkeys", "/admin/me/passkeys", true)
	return out
}
