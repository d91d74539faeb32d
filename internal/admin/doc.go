// Package admin is the help desk and administration console at /admin:
// its own routes (routes.go), its own session cookie and
// its own staff accounts, always signed in with a second factor.
//
// # Staff are a portal, not a flag
//
// Staff accounts are ordinary milogin.Accounts in the portal "staff"
// (milogin.Staff), not residents' accounts with a flag. A portal keeps a
// help-desk agent's console identity apart from any account the same person
// holds as a resident (one email may be both), gives staff their own policy
// (milogin.StaffPortal: NIST SP 800-63B-4 passwords, 15 minutes idle and 8
// hours absolute) and reuses everything accounts already have: argon2id
// hashes, the lockout counters ("a staff account locks like any other"),
// sessions, authenticator apps (internal/mfa) and the audit trail, where
// the store records an actor from the staff portal as kind "staff". The
// staff portal has no public pages: it is not among the resident portals
// and is reached only through /admin. Roles live in staff_roles
// (milogin.StaffStore): helpdesk, appadmin (per application) and security.
//
// # Signing in
//
// Email and password go through authn (lockout, per-IP limit, the same
// hash work for an unknown email). The session that yields is at once
// marked milogin.StageSecondFactor, which opens no page; a code from the
// authenticator app (internal/mfa, replay-proof) then replaces it, in the
// transaction that uses the code up, by a fresh active session under a new
// token, ending any other console session of the account. Staff never get
// a passcode by email or text.
//
// # Every action
//
// Each console action needs the role its route names (routes.go; a test
// walks every route with every role and none), passes
// http.CrossOriginProtection, asks for a reason, and writes its audit event
// (with the reason and the staff member as actor) and the owner's email in
// the same transaction as the change.
package admin
