// Package milogin is the domain of MILogin, the state's identity platform:
// one account, every state service.
//
// # Actors
//
// A person (resident, business partner, local-agency worker, state employee)
// has one Account in one Portal: citizen (MiLogin), thirdparty (MILogin for
// Third Party) or workforce. An application (relying party) such as OSMIS or
// CARS e-Services never sees a password: it trusts MILogin over OpenID Connect
// or SAML 2.0 and keeps its own records linked to the account's stable ID.
// The relying parties of this repository live in apps/ (OSMIS: apps/osmis,
// built by cmd/osmis) as separate programs with their own databases that
// reach MILogin over HTTP only; `milogin demo` runs them beside MILogin.
// Staff (help desk, application and security administrators) work in the
// administration console.
//
// # Portals and policy
//
// Each portal has its own sign-in pages under its own path (/thirdparty/login)
// and its own Policy: password rules, user ID format, lockout, inactivity,
// password expiry and session time-outs. The default profile "milogin" holds
// the state's current rules; NISTPolicy follows NIST SP 800-63B rev 4. The
// rules are pure functions here (Policy.CheckPassword, Account.RecordFailure)
// so they are tested without a database or a browser.
//
// # Trust boundaries
//
//   - The browser holds only a random session token; the server stores its
//     SHA-256 (Session.ID). Codes (PINs, passcodes) are stored as keyed hashes,
//     passwords as argon2id hashes with their parameters.
//   - The database holds nothing usable on its own: email bodies in the outbox
//     and signing keys are sealed with keys derived from the deployment's
//     key-encryption key (internal/secrets), kept outside the database.
//   - Every node is stateless: sessions, counters, codes and the outbox live in
//     the database, so any number of nodes can share one PostgreSQL.
//
// # Flows
//
// Sign-in: the portal's page posts the user ID and password; internal/authn
// checks the per-IP limit, the lock, the password (the same hash work for an
// unknown user), then in one transaction counts the failure or records the
// success, writes the audit event and, when the account locks, queues the
// email. A correct password yields a session in a stage: active, or first
// confirm ending another active session, or first change an expired password.
//
// Self-service (sign-up, Forgot your User ID?, Forgot your password?, a new
// email or new recovery options) spans several pages: its state is a Flow
// kept in the database behind a cookie token (hashed like a session's), so
// any node serves any step and nothing secret sits in it in the clear. A
// sign-up becomes an Account only when its PIN is confirmed, in one
// transaction with the "Account Creation Confirmed" email. PINs are Codes:
// 6 digits, 10 minutes, 5 wrong tries per flow whatever RESEND PIN does.
// A citizen sign-up's PIN proves the email; the account is created only
// when the resident's driver's license or state ID card is verified
// against the Secretary of State's CardRecords (internal/records: card
// numbers, the one name matcher, the CSV import), five failed tries per
// sign-up and per IP address an hour.
// The recovery pages answer an unknown user ID or email exactly like a real
// one (a made-up flow that can never succeed, the same hash work).
//
// Email and text messages are written to the outbox in the same transaction
// as the change that causes them and delivered by internal/notify's worker
// with retries, so a crash neither loses a message nor sends one for a change
// that did not happen.
//
// Federation: an application's authorization request reaches the portal's
// OpenID Provider (internal/oidc), which checks it against the catalog
// (exact redirect URI, PKCE S256), parks it as a LoginRequest and sends the
// browser to /{portal}/continue. The pages sign the person in, apply the
// application's access rules, terms and MFA policy, record who signed in
// and how (amr), and send the browser back to the provider's callback,
// which issues a single-use code to that browser only. Codes and tokens
// are stored as hashes; ending a session queues a back-channel logout for
// every application it signed in to, in the same transaction.
//
// Administration: staff are accounts in the portal "staff" (not a flag on
// residents' accounts, so one person's resident and staff identities stay
// apart), with roles in StaffStore, signed in at /admin (internal/admin)
// with a password and always an authenticator code. Every console action
// asks for a reason and writes it, with the staff member as actor, in the
// transaction of the change; the store snapshots each audit event's actor
// (person, staff, application, system, by name) and subject (user ID). The
// audit trail is append-only in the database; only the retention sweep may
// delete, through a recorded purge that the database refuses for events
// less than a year old. Residents see their own trail on Your Activity.
//
// # Contracts
//
// Store (store.go) is the storage contract, implemented on SQLite and
// PostgreSQL and verified by one conformance suite (internal/storetest).
// Errors are *Error values with an Op and a Kind; HTTPStatus maps a Kind to a
// status in one table, and ErrorMessage never shows a database error to a
// person.
package milogin
