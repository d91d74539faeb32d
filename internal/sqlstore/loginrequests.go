package sqlstore

import (
	"context"
	"time"

	"milogin"
)

const msgNoLoginRequest = "This sign-in request has expired. Please return to the application and try again."

type loginRequests struct{ t *tx }

var _ milogin.LoginRequestStore = loginRequests{}

const loginRequestCols = `id, protocol, portal, app_id, callback_url, force_login, force_mfa, created_at,
	expires_at, account_id, session_id, auth_time, amr, done_at, refusal`

func scanLoginRequest(s scanner) (*milogin.LoginRequest, error) {
	var (
		lr                               milogin.LoginRequest
		portal, amr                      string
		created, expiresAt, authAt, done int64
	)
	err := s.Scan(&lr.ID, &lr.Protocol, &portal, &lr.AppID, &lr.CallbackURL, &lr.ForceLogin, &lr.ForceMFA,
		&created, &expiresAt, &lr.AccountID, &lr.SessionID, &authAt, &amr, &done, &lr.Refusal)
	if err != nil {
		return nil, err
	}
	lr.Portal = milogin.PortalID(portal)
	lr.CreatedAt, lr.ExpiresAt, lr.AuthTime, lr.DoneAt = fromDB(created), fromDB(expiresAt), fromDB(authAt), fromDB(done)
	if lr.AMR, err = parseList[string](amr); err != nil {
		return nil, err
	}
	return &lr, nil
}

func loginRequestArgs(lr *milogin.LoginRequest) ([]any, error) {
	amr, err := jsonList(lr.AMR)
	if err != nil {
		return nil, err
	}
	return []any{lr.ID, lr.Protocol, string(lr.Portal), lr.AppID, lr.CallbackURL, lr.ForceLogin, lr.ForceMFA,
		toDB(lr.CreatedAt), toDB(lr.ExpiresAt), lr.AccountID, lr.SessionID, toDB(lr.AuthTime), amr, toDB(lr.DoneAt), lr.Refusal}, nil
}

func (r loginRequests) Create(ctx context.Context, lr *milogin.LoginRequest) error {
	const op = "sqlstore.LoginRequests.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	args, err := loginRequestArgs(lr)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	_, err = r.t.q.ExecContext(ctx, `INSERT INTO login_requests (`+loginRequestCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, args...)
	if err != nil {
		return r.t.conflictOr(op, err, func(string) string { return "This sign-in request already exists." })
	}
	return nil
}

func (r loginRequests) get(ctx context.Context, op, suffix, id string) (*milogin.LoginRequest, error) {
	return queryOne(ctx, r.t.q, op, msgNoLoginRequest, scanLoginRequest, qLoginRequestByID+suffix, id)
}

func (r loginRequests) Get(ctx context.Context, id string) (*milogin.LoginRequest, error) {
	return r.get(ctx, "sqlstore.LoginRequests.Get", "", id)
}

// Update loads the request (locked on PostgreSQL), applies fn and saves it;
// the ID cannot change.
func (r loginRequests) Update(ctx context.Context, id string, fn func(*milogin.LoginRequest) error) (*milogin.LoginRequest, error) {
	const op = "sqlstore.LoginRequests.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	lr, err := r.get(ctx, op, r.t.d.ForUpdate, id)
	if err != nil {
		return nil, err
	}
	if err := fn(lr); err != nil {
		return nil, err
	}
	lr.ID = id
	args, err := loginRequestArgs(lr)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	_, err = r.t.q.ExecContext(ctx, `UPDATE login_requests SET protocol = $2, portal = $3, app_id = $4,
		callback_url = $5, force_login = $6, force_mfa = $7, created_at = $8, expires_at = $9,
		account_id = $10, session_id = $11, auth_time = $12, amr = $13, done_at = $14, refusal = $15
		WHERE id = $1`, args...)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	stored(&lr.CreatedAt, &lr.ExpiresAt, &lr.AuthTime, &lr.DoneAt)
	if len(lr.AMR) == 0 {
		lr.AMR = nil
	}
	return lr, nil
}

func (r loginRequests) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.LoginRequests.DeleteExpired"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, qDeleteExpiredLoginRequests, toDB(before))
}
