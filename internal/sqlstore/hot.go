package sqlstore

import "strings"

// The statements of the hot paths (sign-in, a session-cookie page, the
// authorization code flow, token refresh, userinfo, access checks) must each
// find their rows through an index at any table size. The WHERE clauses below
// are the ones the repositories run, kept here so that the plan test of each
// engine (TestHotQueryPlans in internal/sqlite and internal/postgres) checks
// exactly what runs.
//
// A partial unique index (… WHERE code_hash <> ”) is only usable when the
// query itself implies the index's condition: "code_hash = $1" does not, for
// the planner cannot know that $1 is not empty (SQLite never, PostgreSQL not
// in a generic plan), and it scans the table. Those lookups therefore repeat
// the index's condition.
const (
	whereAccountByID     = `id = $1`
	whereAccountByUserID = `portal = $1 AND user_id_norm = $2`
	whereAccountByEmail  = `portal = $1 AND email_norm = $2 AND email_norm <> ''`
	whereAppByID         = `id = $1`
	whereAppByClientID   = `client_id = $1 AND client_id <> ''`
	whereOAuthReqByID    = `id = $1`
	whereOAuthReqByCode  = `code_hash = $1 AND code_hash <> ''`

	qUnknownLogin = `SELECT failed_logins, locked_until, failure_window, window_failures
		FROM unknown_logins WHERE portal = $1 AND id_hash = $2`
	qDeleteOldUnknownLogins = `DELETE FROM unknown_logins WHERE updated_at <= $1 AND locked_until <= $1`
	qSessionEnd             = `SELECT reason FROM session_ends WHERE id = $1`
	qDeleteOldSessionEnds   = `DELETE FROM session_ends WHERE keep_until <= $1`

	qCountByMobile              = `SELECT COUNT(*) FROM accounts WHERE portal = $1 AND mobile_digits = $2 AND mobile_verified`
	qSessionByID                = `SELECT ` + sessionCols + ` FROM sessions WHERE id = $1`
	qSessionsByAccount          = `SELECT ` + sessionCols + ` FROM sessions WHERE account_id = $1 ORDER BY created_at, id`
	qCodeByID                   = `SELECT ` + codeCols + ` FROM codes WHERE id = $1`
	qLoginRequestByID           = `SELECT ` + loginRequestCols + ` FROM login_requests WHERE id = $1`
	qOAuthTokenByID             = `SELECT ` + oauthTokenCols + ` FROM oauth_tokens WHERE id = $1`
	qRevokeFamily               = `UPDATE oauth_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at = 0`
	qSessionClientBySID         = `SELECT session_id, client_id, account_id, sid, created_at FROM session_clients WHERE sid = $1 ORDER BY client_id LIMIT 1`
	qGrant                      = `SELECT ` + grantCols + ` FROM grants WHERE app_id = $1 AND account_id = $2`
	qTerms                      = `SELECT version, accepted_at FROM terms_acceptances WHERE app_id = $1 AND account_id = $2 ORDER BY version DESC LIMIT 1`
	qLastMFA                    = `SELECT method, occurred_at FROM mfa_events WHERE account_id = $1 AND app_id = $2 ORDER BY occurred_at DESC, id DESC LIMIT 1`
	qLimitCount                 = `SELECT hits FROM rate_limits WHERE limit_key = $1 AND window_us = $2 AND window_start = $3`
	qTOTPByAccount              = `SELECT ` + totpCols + ` FROM totp_keys WHERE account_id = $1`
	qPasskeysByAccount          = `SELECT ` + webAuthnCols + ` FROM webauthn_credentials WHERE account_id = $1 ORDER BY created_at, id`
	qFlowByID                   = `SELECT ` + flowCols + ` FROM flows WHERE id = $1`
	qDeleteExpiredOAuthRequests = `DELETE FROM oauth_requests WHERE expires_at <= $1 AND code_expires_at <= $1`
	qDeleteExpiredOAuthTokens   = `DELETE FROM oauth_tokens WHERE expires_at <= $1 AND family_expires_at <= $1`
	qDeleteOldSessionClients    = `DELETE FROM session_clients WHERE created_at <= $1`
	qDeleteExpiredSessions      = `DELETE FROM sessions WHERE expires_at <= $1`
	qDeleteExpiredLoginRequests = `DELETE FROM login_requests WHERE expires_at <= $1`
	qDeleteExpiredLimits        = `DELETE FROM rate_limits WHERE expires_at <= $1`
)

// The column lists qualified by the alias of their table, for joins.
var (
	sessionColsS    = qualify("s", sessionCols)
	accountColsA    = qualify("a", accountCols)
	oauthTokenColsT = qualify("t", oauthTokenCols)

	// The session or the token with its account, in one statement: a
	// signed-in page and userinfo each need both, and on SQLite a
	// statement's fixed cost is as large as reading the rows.
	qSessionWithAccount    = `SELECT ` + sessionColsS + `, ` + accountColsA + ` FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id = $1`
	qOAuthTokenWithAccount = `SELECT ` + oauthTokenColsT + `, ` + accountColsA + ` FROM oauth_tokens t JOIN accounts a ON a.id = t.subject WHERE t.id = $1`

	// qSessionInScope is qSessionWithAccount for a request with a
	// milogin.StoreScope. It brings along the catalog's version (a signed-in
	// page lists the applications next, and on PostgreSQL the version was a
	// round trip of its own, one of the page's three) and the account's
	// grants, one row a grant (one row of empty grant columns for none):
	// the Home page lists the person's applications with their grants, and
	// that list was the second of its two round trips. The rows come
	// unordered and GetWithAccount sorts the few grants as
	// Grants.ListByAccount does: PostgreSQL's sort of them cost it more
	// than a tenth of the statement.
	qSessionInScope = `SELECT ` + sessionColsS + `, ` + accountColsA + `, (` + qCatalogVersionOne + `), ` + grantColsOuterG +
		` FROM sessions s JOIN accounts a ON a.id = s.account_id LEFT JOIN grants g ON g.account_id = s.account_id
		WHERE s.id = $1`
	grantColsOuterG = `COALESCE(g.app_id, ''), COALESCE(g.status, ''), COALESCE(g.requested_at, 0),
		COALESCE(g.decided_at, 0), COALESCE(g.decided_by, ''), COALESCE(g.reason, '')`
)

// qualify prefixes every column of a list with alias.
func qualify(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// HotQuery is one statement of a hot path with arguments of the right types,
// for EXPLAIN.
type HotQuery struct {
	Name string
	SQL  string
	Args []any
}

// HotQueries lists the statements of the hot paths. Each must be answered
// through an index (a search, never a scan of its table) on both engines.
func HotQueries() []HotQuery {
	s, n := "x", int64(1)
	return []HotQuery{
		{"account by id", `SELECT ` + accountCols + ` FROM accounts WHERE ` + whereAccountByID, []any{s}},
		{"account by user ID (sign-in)", `SELECT ` + accountCols + ` FROM accounts WHERE ` + whereAccountByUserID, []any{s, s}},
		{"account by email", `SELECT ` + accountCols + ` FROM accounts WHERE ` + whereAccountByEmail, []any{s, s}},
		{"account count by mobile", qCountByMobile, []any{s, s}},
		{"session by id", qSessionByID, []any{s}},
		{"why a session ended", qSessionEnd, []any{s}},
		{"counters of an unknown user ID (sign-in)", qUnknownLogin, []any{s, s}},
		{"sessions of an account", qSessionsByAccount, []any{s}},
		{"code by id", qCodeByID, []any{s}},
		{"login request by id", qLoginRequestByID, []any{s}},
		{"application by id", `SELECT ` + appCols + ` FROM apps WHERE ` + whereAppByID, []any{s}},
		{"application by client_id", `SELECT ` + appCols + ` FROM apps WHERE ` + whereAppByClientID, []any{s}},
		{"oauth request by id", `SELECT ` + oauthRequestCols + ` FROM oauth_requests WHERE ` + whereOAuthReqByID, []any{s}},
		{"oauth request by code (token exchange)", `SELECT ` + oauthRequestCols + ` FROM oauth_requests WHERE ` + whereOAuthReqByCode, []any{s}},
		{"oauth token by id (refresh, userinfo)", qOAuthTokenByID, []any{s}},
		{"catalog version (every read of an application)", qCatalogVersion, []any{n}},
		{"session with its account (signed-in pages)", qSessionWithAccount, []any{s}},
		{"session with its account, the catalog version and the grants (a signed-in page)", qSessionInScope, []any{s}},
		{"oauth token with its account (userinfo)", qOAuthTokenWithAccount, []any{s}},
		{"oauth token family (refresh reuse)", qRevokeFamily, []any{s, n}},
		{"session links by session", sessionClientsBySessions(1), []any{s}},
		{"session link by sid", qSessionClientBySID, []any{s}},
		{"grant", qGrant, []any{s, s}},
		{"latest terms acceptance", qTerms, []any{s, s}},
		{"latest MFA event", qLastMFA, []any{s, s}},
		{"limit counter", qLimitCount, []any{s, n, n}},
		{"TOTP key", qTOTPByAccount, []any{s}},
		{"passkeys of an account", qPasskeysByAccount, []any{s}},
		{"flow by id", qFlowByID, []any{s}},
		// The sweeps run every minute on every node: their deletes must not
		// scan either.
		{"sweep oauth requests", qDeleteExpiredOAuthRequests, []any{n}},
		{"sweep oauth tokens", qDeleteExpiredOAuthTokens, []any{n}},
		{"sweep session links", qDeleteOldSessionClients, []any{n}},
		{"sweep sessions", qDeleteExpiredSessions, []any{n}},
		{"sweep login requests", qDeleteExpiredLoginRequests, []any{n}},
		{"sweep limits", qDeleteExpiredLimits, []any{n}},
		{"sweep unknown user IDs", qDeleteOldUnknownLogins, []any{n}},
		{"sweep session ends", qDeleteOldSessionEnds, []any{n}},
	}
}
