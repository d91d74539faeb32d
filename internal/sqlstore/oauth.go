package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"milogin"
)

const (
	msgNoOAuthRequest = "This sign-in request has expired. Please return to the application and try again."
	msgNoOAuthToken   = "Token not found."
	msgNoSessionLink  = "Session not found."
)

// ---- authorization requests ----

type oauthRequests struct{ t *tx }

var _ milogin.OAuthRequestStore = oauthRequests{}

const oauthRequestCols = `id, portal, client_id, redirect_uri, state, nonce, scopes, response_mode,
	code_challenge, code_challenge_method, acr_values, max_age, created_at, expires_at, subject,
	session_id, auth_time, amr, acr, code_hash, code_expires_at, code_used_at`

func scanOAuthRequest(s scanner) (*milogin.OAuthRequest, error) {
	var (
		r                                             milogin.OAuthRequest
		portal, scopes, acrValues, amr                string
		created, expiresAt, authAt, codeExp, codeUsed int64
	)
	err := s.Scan(&r.ID, &portal, &r.ClientID, &r.RedirectURI, &r.State, &r.Nonce, &scopes, &r.ResponseMode,
		&r.CodeChallenge, &r.CodeChallengeMethod, &acrValues, &r.MaxAge, &created, &expiresAt, &r.Subject,
		&r.SessionID, &authAt, &amr, &r.ACR, &r.CodeHash, &codeExp, &codeUsed)
	if err != nil {
		return nil, err
	}
	r.Portal = milogin.PortalID(portal)
	r.CreatedAt, r.ExpiresAt, r.AuthTime = fromDB(created), fromDB(expiresAt), fromDB(authAt)
	r.CodeExpiresAt, r.CodeUsedAt = fromDB(codeExp), fromDB(codeUsed)
	if r.Scopes, err = parseList[string](scopes); err != nil {
		return nil, err
	}
	if r.ACRValues, err = parseList[string](acrValues); err != nil {
		return nil, err
	}
	if r.AMR, err = parseList[string](amr); err != nil {
		return nil, err
	}
	return &r, nil
}

func oauthRequestArgs(r *milogin.OAuthRequest) ([]any, error) {
	var lists [3]string
	var err error
	for i, l := range [][]string{r.Scopes, r.ACRValues, r.AMR} {
		if lists[i], err = jsonList(l); err != nil {
			return nil, err
		}
	}
	return []any{r.ID, string(r.Portal), r.ClientID, r.RedirectURI, r.State, r.Nonce, lists[0], r.ResponseMode,
		r.CodeChallenge, r.CodeChallengeMethod, lists[1], r.MaxAge, toDB(r.CreatedAt), toDB(r.ExpiresAt), r.Subject,
		r.SessionID, toDB(r.AuthTime), lists[2], r.ACR, r.CodeHash, toDB(r.CodeExpiresAt), toDB(r.CodeUsedAt)}, nil
}

func normOAuthRequest(r *milogin.OAuthRequest) {
	stored(&r.CreatedAt, &r.ExpiresAt, &r.AuthTime, &r.CodeExpiresAt, &r.CodeUsedAt)
	for _, l := range []*[]string{&r.Scopes, &r.ACRValues, &r.AMR} {
		if len(*l) == 0 {
			*l = nil
		}
	}
}

func (r oauthRequests) Create(ctx context.Context, x *milogin.OAuthRequest) error {
	const op = "sqlstore.OAuthRequests.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	args, err := oauthRequestArgs(x)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	// Its two unique keys, the ID and the code, are both random: either
	// conflict is the same request again.
	return r.t.insertNew(ctx, op, "This authorization request already exists.", `INSERT INTO oauth_requests (`+oauthRequestCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`, args...)
}

func (r oauthRequests) getWhere(ctx context.Context, op, where string, arg any) (*milogin.OAuthRequest, error) {
	return queryOne(ctx, r.t.q, op, msgNoOAuthRequest, scanOAuthRequest, `SELECT `+oauthRequestCols+` FROM oauth_requests WHERE `+where, arg)
}

func (r oauthRequests) Get(ctx context.Context, id string) (*milogin.OAuthRequest, error) {
	return r.getWhere(ctx, "sqlstore.OAuthRequests.Get", whereOAuthReqByID, id)
}

func (r oauthRequests) GetByCode(ctx context.Context, codeHash string) (*milogin.OAuthRequest, error) {
	const op = "sqlstore.OAuthRequests.GetByCode"
	if codeHash == "" {
		return nil, notFound(op, msgNoOAuthRequest)
	}
	return r.getWhere(ctx, op, whereOAuthReqByCode, codeHash)
}

// Update loads the request (locked on PostgreSQL), applies fn and saves it;
// the ID cannot change.
func (r oauthRequests) Update(ctx context.Context, id string, fn func(*milogin.OAuthRequest) error) (*milogin.OAuthRequest, error) {
	const op = "sqlstore.OAuthRequests.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	x, err := r.getWhere(ctx, op, whereOAuthReqByID+r.t.d.ForUpdate, id)
	if err != nil {
		return nil, err
	}
	codeHash := x.CodeHash
	if err := fn(x); err != nil {
		return nil, err
	}
	x.ID = id
	args, err := oauthRequestArgs(x)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	// The code's is the one unique index a change can run into.
	err = r.t.savepointIf(ctx, x.CodeHash != codeHash, func() error {
		_, err := r.t.q.ExecContext(ctx, `UPDATE oauth_requests SET portal = $2, client_id = $3, redirect_uri = $4,
			state = $5, nonce = $6, scopes = $7, response_mode = $8, code_challenge = $9, code_challenge_method = $10,
			acr_values = $11, max_age = $12, created_at = $13, expires_at = $14, subject = $15, session_id = $16,
			auth_time = $17, amr = $18, acr = $19, code_hash = $20, code_expires_at = $21, code_used_at = $22
			WHERE id = $1`, args...)
		return err
	})
	if err != nil {
		return nil, r.t.conflictOr(op, err, func(string) string { return "This authorization code is already in use." })
	}
	normOAuthRequest(x)
	return x, nil
}

func (r oauthRequests) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.OAuthRequests.DeleteExpired"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	b := toDB(before)
	return deleteCount(ctx, r.t.q, op, qDeleteExpiredOAuthRequests, b)
}

// ---- tokens ----

type oauthTokens struct{ t *tx }

var _ milogin.OAuthTokenStore = oauthTokens{}

const oauthTokenCols = `id, kind, family_id, portal, client_id, subject, session_id, scopes, audience, amr, acr,
	auth_time, created_at, expires_at, family_expires_at, used_at, revoked_at`

func scanOAuthToken(s scanner) (*milogin.OAuthToken, error) {
	var (
		t                                        milogin.OAuthToken
		kind, portal, scopes, audience, amr      string
		authAt, created, exp, famExp, used, revk int64
	)
	err := s.Scan(&t.ID, &kind, &t.FamilyID, &portal, &t.ClientID, &t.Subject, &t.SessionID, &scopes, &audience,
		&amr, &t.ACR, &authAt, &created, &exp, &famExp, &used, &revk)
	if err != nil {
		return nil, err
	}
	t.Kind, t.Portal = milogin.TokenKind(kind), milogin.PortalID(portal)
	t.AuthTime, t.CreatedAt, t.ExpiresAt = fromDB(authAt), fromDB(created), fromDB(exp)
	t.FamilyExpiresAt, t.UsedAt, t.RevokedAt = fromDB(famExp), fromDB(used), fromDB(revk)
	if t.Scopes, err = parseList[string](scopes); err != nil {
		return nil, err
	}
	if t.Audience, err = parseList[string](audience); err != nil {
		return nil, err
	}
	if t.AMR, err = parseList[string](amr); err != nil {
		return nil, err
	}
	return &t, nil
}

func oauthTokenArgs(t *milogin.OAuthToken) ([]any, error) {
	var lists [3]string
	var err error
	for i, l := range [][]string{t.Scopes, t.Audience, t.AMR} {
		if lists[i], err = jsonList(l); err != nil {
			return nil, err
		}
	}
	return []any{t.ID, string(t.Kind), t.FamilyID, string(t.Portal), t.ClientID, t.Subject, t.SessionID,
		lists[0], lists[1], lists[2], t.ACR, toDB(t.AuthTime), toDB(t.CreatedAt), toDB(t.ExpiresAt),
		toDB(t.FamilyExpiresAt), toDB(t.UsedAt), toDB(t.RevokedAt)}, nil
}

func (r oauthTokens) Create(ctx context.Context, t *milogin.OAuthToken) error {
	const op = "sqlstore.OAuthTokens.Create"
	if err := r.t.writableAlone(op); err != nil {
		return err
	}
	args, err := oauthTokenArgs(t)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return r.t.insertNew(ctx, op, "This token already exists.", `INSERT INTO oauth_tokens (`+oauthTokenCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`, args...)
}

func (r oauthTokens) get(ctx context.Context, op, suffix, id string) (*milogin.OAuthToken, error) {
	return queryOne(ctx, r.t.q, op, msgNoOAuthToken, scanOAuthToken, qOAuthTokenByID+suffix, id)
}

func (r oauthTokens) Get(ctx context.Context, id string) (*milogin.OAuthToken, error) {
	return r.get(ctx, "sqlstore.OAuthTokens.Get", "", id)
}

// GetWithAccount reads the token and the account it was issued for (its
// subject) in one statement; a token without one (client credentials) is
// not found.
func (r oauthTokens) GetWithAccount(ctx context.Context, id string) (*milogin.OAuthToken, *milogin.Account, error) {
	x, err := hotOne(ctx, r.t, "sqlstore.OAuthTokens.GetWithAccount", msgNoOAuthToken, scanWithAccount(scanOAuthToken), qOAuthTokenWithAccount, id)
	return x.v, x.acct, err
}

// Update loads the token (locked on PostgreSQL), applies fn and saves it;
// the ID cannot change.
func (r oauthTokens) Update(ctx context.Context, id string, fn func(*milogin.OAuthToken) error) (*milogin.OAuthToken, error) {
	const op = "sqlstore.OAuthTokens.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	t, err := r.get(ctx, op, r.t.d.ForUpdate, id)
	if err != nil {
		return nil, err
	}
	if err := fn(t); err != nil {
		return nil, err
	}
	t.ID = id
	args, err := oauthTokenArgs(t)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	_, err = r.t.q.ExecContext(ctx, `UPDATE oauth_tokens SET kind = $2, family_id = $3, portal = $4, client_id = $5,
		subject = $6, session_id = $7, scopes = $8, audience = $9, amr = $10, acr = $11, auth_time = $12,
		created_at = $13, expires_at = $14, family_expires_at = $15, used_at = $16, revoked_at = $17
		WHERE id = $1`, args...)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	stored(&t.AuthTime, &t.CreatedAt, &t.ExpiresAt, &t.FamilyExpiresAt, &t.UsedAt, &t.RevokedAt)
	for _, l := range []*[]string{&t.Scopes, &t.Audience, &t.AMR} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return t, nil
}

func (r oauthTokens) RevokeFamily(ctx context.Context, familyID string, at time.Time) (int, error) {
	const op = "sqlstore.OAuthTokens.RevokeFamily"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, qRevokeFamily, familyID, toDB(at))
}

func (r oauthTokens) RevokeBySubject(ctx context.Context, subject, clientID string, at time.Time) (int, error) {
	const op = "sqlstore.OAuthTokens.RevokeBySubject"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, `UPDATE oauth_tokens SET revoked_at = $3
		WHERE subject = $1 AND ($2 = '' OR client_id = $2) AND revoked_at = 0`, subject, clientID, toDB(at))
}

func (r oauthTokens) RevokeByClient(ctx context.Context, clientID string, at time.Time) (int, error) {
	const op = "sqlstore.OAuthTokens.RevokeByClient"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, `UPDATE oauth_tokens SET revoked_at = $2
		WHERE client_id = $1 AND revoked_at = 0`, clientID, toDB(at))
}

// DeleteExpired removes tokens past their expiry; a refresh token stays
// while its family lives, so that the reuse of a rotated one is still
// recognized (and revokes the family) until the family has ended anyway.
func (r oauthTokens) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.OAuthTokens.DeleteExpired"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, qDeleteExpiredOAuthTokens, toDB(before))
}

// ---- session ↔ client links ----

type sessionClients struct{ t *tx }

var _ milogin.SessionClientStore = sessionClients{}

func (r sessionClients) Put(ctx context.Context, sc *milogin.SessionClient) error {
	const op = "sqlstore.SessionClients.Put"
	if err := r.t.writable(op); err != nil {
		return err
	}
	_, err := r.t.q.ExecContext(ctx, `INSERT INTO session_clients (session_id, client_id, account_id, sid, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id, client_id) DO NOTHING`,
		sc.SessionID, sc.ClientID, sc.AccountID, sc.SID, toDB(sc.CreatedAt))
	return milogin.Wrap(op, err)
}

// inList returns "$first, $first+1, …" for n arguments.
func inList(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
	}
	return b.String()
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func scanSessionClient(s scanner) (*milogin.SessionClient, error) {
	var sc milogin.SessionClient
	var created int64
	if err := s.Scan(&sc.SessionID, &sc.ClientID, &sc.AccountID, &sc.SID, &created); err != nil {
		return nil, err
	}
	sc.CreatedAt = fromDB(created)
	return &sc, nil
}

// sessionClientsBySessions selects the links of n sessions.
func sessionClientsBySessions(n int) string {
	return `SELECT session_id, client_id, account_id, sid, created_at FROM session_clients
		WHERE session_id IN (` + inList(1, n) + `) ORDER BY session_id, client_id`
}

func (r sessionClients) ListBySessions(ctx context.Context, sessionIDs []string) ([]*milogin.SessionClient, error) {
	const op = "sqlstore.SessionClients.ListBySessions"
	if len(sessionIDs) == 0 {
		return nil, nil
	}
	return queryAll(ctx, r.t.q, op, scanSessionClient, sessionClientsBySessions(len(sessionIDs)), stringArgs(sessionIDs)...)
}

func (r sessionClients) GetBySID(ctx context.Context, sid string) (*milogin.SessionClient, error) {
	const op = "sqlstore.SessionClients.GetBySID"
	list, err := queryAll(ctx, r.t.q, op, scanSessionClient, qSessionClientBySID, sid)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, notFound(op, msgNoSessionLink)
	}
	return list[0], nil
}

func (r sessionClients) DeleteBySessions(ctx context.Context, sessionIDs []string) (int, error) {
	const op = "sqlstore.SessionClients.DeleteBySessions"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	if len(sessionIDs) == 0 {
		return 0, nil
	}
	return deleteCount(ctx, r.t.q, op, `DELETE FROM session_clients WHERE session_id IN (`+inList(1, len(sessionIDs))+`)`,
		stringArgs(sessionIDs)...)
}

func (r sessionClients) Rekey(ctx context.Context, oldSessionID, newSessionID string) error {
	const op = "sqlstore.SessionClients.Rekey"
	if err := r.t.writable(op); err != nil {
		return err
	}
	_, err := r.t.q.ExecContext(ctx, `UPDATE session_clients SET session_id = $2 WHERE session_id = $1`, oldSessionID, newSessionID)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

func (r sessionClients) DeleteCreatedBefore(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.SessionClients.DeleteCreatedBefore"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, qDeleteOldSessionClients, toDB(before))
}
