package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"milogin"
)

const msgNoLoginRequest = "This sign-in request has expired. Please return to the application and try again."

type loginRequests struct{ t *tx }

var _ milogin.LoginRequestStore = loginRequests{}

const loginRequestCols = `id, protocol, portal, app_id, callback_url, force_login, force_mfa, created_at, expires_at,
	account_id, session_id, auth_time, amr, done_at`

func scanLoginRequest(s scanner) (*milogin.LoginRequest, error) {
	var (
		r                                  milogin.LoginRequest
		portal, amr                        string
		created, expires, authTime, doneAt int64
	)
	if err := s.Scan(&r.ID, &r.Protocol, &portal, &r.AppID, &r.CallbackURL, &r.ForceLogin, &r.ForceMFA,
		&created, &expires, &r.AccountID, &r.SessionID, &authTime, &amr, &doneAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(amr), &r.AMR); err != nil {
		return nil, err
	}
	r.Portal = milogin.PortalID(portal)
	r.CreatedAt = fromDB(created)
	r.ExpiresAt = fromDB(expires)
	r.AuthTime = fromDB(authTime)
	r.DoneAt = fromDB(doneAt)
	return &r, nil
}

func loginRequestArgs(r *milogin.LoginRequest) ([]any, error) {
	amr, err := json.Marshal(nonNilStrings(r.AMR))
	if err != nil {
		return nil, err
	}
	return []any{r.ID, r.Protocol, string(r.Portal), r.AppID, r.CallbackURL, r.ForceLogin, r.ForceMFA,
		toDB(r.CreatedAt), toDB(r.ExpiresAt), r.AccountID, r.SessionID, toDB(r.AuthTime), string(amr), toDB(r.DoneAt)}, nil
}

func (q loginRequests) Create(ctx context.Context, r *milogin.LoginRequest) error {
	const op = "sqlstore.LoginRequests.Create"
	if err := q.t.writable(op); err != nil {
		return err
	}
	args, err := loginRequestArgs(r)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	_, err = q.t.q.ExecContext(ctx, `INSERT INTO login_requests (`+loginRequestCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, args...)
	if err != nil {
		return q.t.conflictOr(op, err, func(string) string { return "This sign-in request already exists." })
	}
	return nil
}

func (q loginRequests) get(ctx context.Context, op, suffix, id string) (*milogin.LoginRequest, error) {
	r, err := scanLoginRequest(q.t.q.QueryRowContext(ctx, `SELECT `+loginRequestCols+` FROM login_requests WHERE id = $1`+suffix, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, msgNoLoginRequest)
	}
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return r, nil
}

func (q loginRequests) Get(ctx context.Context, id string) (*milogin.LoginRequest, error) {
	return q.get(ctx, "sqlstore.LoginRequests.Get", "", id)
}

func (q loginRequests) Update(ctx context.Context, id string, fn func(*milogin.LoginRequest) error) (*milogin.LoginRequest, error) {
	const op = "sqlstore.LoginRequests.Update"
	if err := q.t.writable(op); err != nil {
		return nil, err
	}
	r, err := q.get(ctx, op, q.t.d.ForUpdate, id)
	if err != nil {
		return nil, err
	}
	if err := fn(r); err != nil {
		return nil, err
	}
	r.ID = id
	args, err := loginRequestArgs(r)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	_, err = q.t.q.ExecContext(ctx, `UPDATE login_requests SET protocol = $2, portal = $3, app_id = $4,
		callback_url = $5, force_login = $6, force_mfa = $7, created_at = $8, expires_at = $9,
		account_id = $10, session_id = $11, auth_time = $12, amr = $13, done_at = $14 WHERE id = $1`, args...)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return r, nil
}

func (q loginRequests) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.LoginRequests.DeleteExpired"
	if err := q.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, q.t.q, op, `DELETE FROM login_requests WHERE expires_at <= $1`, toDB(before))
}
