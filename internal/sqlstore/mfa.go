package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"milogin"
)

const (
	msgNoTOTP      = "No authenticator app is set up for this account."
	msgNoPasskey   = "Passkey not found."
	msgPasskeyUsed = "This passkey is already registered."
	msgNoChallenge = "This passkey request has expired. Please try again."
)

// totpKeys implements milogin.TOTPStore: one row per account.
type totpKeys struct{ t *tx }

var _ milogin.TOTPStore = totpKeys{}

const totpCols = `account_id, secret, confirmed, last_step, created_at, confirmed_at, updated_at`

func scanTOTP(s scanner) (*milogin.TOTPKey, error) {
	var (
		k                           milogin.TOTPKey
		created, confirmed, updated int64
	)
	if err := s.Scan(&k.AccountID, &k.Secret, &k.Confirmed, &k.LastStep, &created, &confirmed, &updated); err != nil {
		return nil, err
	}
	if len(k.Secret) == 0 {
		k.Secret = nil
	}
	k.CreatedAt, k.ConfirmedAt, k.UpdatedAt = fromDB(created), fromDB(confirmed), fromDB(updated)
	return &k, nil
}

func (r totpKeys) get(ctx context.Context, op, suffix, accountID string) (*milogin.TOTPKey, error) {
	return queryOne(ctx, r.t.q, op, msgNoTOTP, scanTOTP, qTOTPByAccount+suffix, accountID)
}

func (r totpKeys) Get(ctx context.Context, accountID string) (*milogin.TOTPKey, error) {
	return r.get(ctx, "sqlstore.TOTP.Get", "", accountID)
}

// Put creates or replaces the account's key in one statement.
func (r totpKeys) Put(ctx context.Context, k *milogin.TOTPKey) error {
	const op = "sqlstore.TOTP.Put"
	if err := r.t.writable(op); err != nil {
		return err
	}
	_, err := r.t.q.ExecContext(ctx, `INSERT INTO totp_keys (`+totpCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, confirmed = excluded.confirmed,
			last_step = excluded.last_step, created_at = excluded.created_at,
			confirmed_at = excluded.confirmed_at, updated_at = excluded.updated_at`,
		k.AccountID, nonNil(k.Secret), k.Confirmed, k.LastStep, toDB(k.CreatedAt), toDB(k.ConfirmedAt), toDB(k.UpdatedAt))
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

// Update loads the key (locked on PostgreSQL), applies fn and saves it: the
// lock is what makes the replay check (LastStep) exact when two codes race.
func (r totpKeys) Update(ctx context.Context, accountID string, fn func(*milogin.TOTPKey) error) (*milogin.TOTPKey, error) {
	const op = "sqlstore.TOTP.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	k, err := r.get(ctx, op, r.t.d.ForUpdate, accountID)
	if err != nil {
		return nil, err
	}
	if err := fn(k); err != nil {
		return nil, err
	}
	k.AccountID = accountID
	_, err = r.t.q.ExecContext(ctx, `UPDATE totp_keys SET secret = $2, confirmed = $3, last_step = $4,
		created_at = $5, confirmed_at = $6, updated_at = $7 WHERE account_id = $1`,
		k.AccountID, nonNil(k.Secret), k.Confirmed, k.LastStep, toDB(k.CreatedAt), toDB(k.ConfirmedAt), toDB(k.UpdatedAt))
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	stored(&k.CreatedAt, &k.ConfirmedAt, &k.UpdatedAt)
	if len(k.Secret) == 0 {
		k.Secret = nil
	}
	return k, nil
}

func (r totpKeys) Delete(ctx context.Context, accountID string) error {
	const op = "sqlstore.TOTP.Delete"
	if err := r.t.writable(op); err != nil {
		return err
	}
	res, err := r.t.q.ExecContext(ctx, `DELETE FROM totp_keys WHERE account_id = $1`, accountID)
	return rowsAffected(op, res, err, msgNoTOTP)
}

// webAuthn implements milogin.WebAuthnStore.
type webAuthn struct{ t *tx }

var _ milogin.WebAuthnStore = webAuthn{}

const webAuthnCols = `id, account_id, name, data, created_at, last_used_at`

func scanWebAuthn(s scanner) (*milogin.WebAuthnCredential, error) {
	var (
		c             milogin.WebAuthnCredential
		created, used int64
	)
	if err := s.Scan(&c.ID, &c.AccountID, &c.Name, &c.Data, &created, &used); err != nil {
		return nil, err
	}
	if len(c.Data) == 0 {
		c.Data = nil
	}
	c.CreatedAt, c.LastUsedAt = fromDB(created), fromDB(used)
	return &c, nil
}

func (r webAuthn) Create(ctx context.Context, c *milogin.WebAuthnCredential) error {
	const op = "sqlstore.WebAuthn.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	if len(c.ID) == 0 {
		return &milogin.Error{Op: op, Kind: milogin.EINVALID, Msg: "A passkey needs an ID."}
	}
	return r.t.insertNew(ctx, op, msgPasskeyUsed, `INSERT INTO webauthn_credentials (`+webAuthnCols+`)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.AccountID, c.Name, nonNil(c.Data), toDB(c.CreatedAt), toDB(c.LastUsedAt))
}

func (r webAuthn) get(ctx context.Context, op, suffix string, id []byte) (*milogin.WebAuthnCredential, error) {
	return queryOne(ctx, r.t.q, op, msgNoPasskey, scanWebAuthn, `SELECT `+webAuthnCols+` FROM webauthn_credentials WHERE id = $1`+suffix, nonNil(id))
}

func (r webAuthn) Get(ctx context.Context, id []byte) (*milogin.WebAuthnCredential, error) {
	return r.get(ctx, "sqlstore.WebAuthn.Get", "", id)
}

// ListByAccount returns the account's credentials, oldest first.
func (r webAuthn) ListByAccount(ctx context.Context, accountID string) ([]*milogin.WebAuthnCredential, error) {
	const op = "sqlstore.WebAuthn.ListByAccount"
	return queryAll(ctx, r.t.q, op, scanWebAuthn, qPasskeysByAccount, accountID)
}

// Update loads the credential (locked on PostgreSQL), applies fn and saves
// it; the ID and the owner cannot change.
func (r webAuthn) Update(ctx context.Context, id []byte, fn func(*milogin.WebAuthnCredential) error) (*milogin.WebAuthnCredential, error) {
	const op = "sqlstore.WebAuthn.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	c, err := r.get(ctx, op, r.t.d.ForUpdate, id)
	if err != nil {
		return nil, err
	}
	owner := c.AccountID
	if err := fn(c); err != nil {
		return nil, err
	}
	c.ID, c.AccountID = append([]byte(nil), id...), owner
	_, err = r.t.q.ExecContext(ctx, `UPDATE webauthn_credentials SET name = $2, data = $3, created_at = $4,
		last_used_at = $5 WHERE id = $1`, c.ID, c.Name, nonNil(c.Data), toDB(c.CreatedAt), toDB(c.LastUsedAt))
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	stored(&c.CreatedAt, &c.LastUsedAt)
	if len(c.Data) == 0 {
		c.Data = nil
	}
	return c, nil
}

func (r webAuthn) Delete(ctx context.Context, accountID string, id []byte) error {
	const op = "sqlstore.WebAuthn.Delete"
	if err := r.t.writable(op); err != nil {
		return err
	}
	res, err := r.t.q.ExecContext(ctx, `DELETE FROM webauthn_credentials WHERE id = $1 AND account_id = $2`, nonNil(id), accountID)
	return rowsAffected(op, res, err, msgNoPasskey)
}

func (r webAuthn) PutChallenge(ctx context.Context, c *milogin.WebAuthnChallenge) error {
	const op = "sqlstore.WebAuthn.PutChallenge"
	if err := r.t.writable(op); err != nil {
		return err
	}
	return r.t.insertNew(ctx, op, "This passkey request already exists.", `INSERT INTO webauthn_challenges
		(id, account_id, session_id, purpose, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.ID, c.AccountID, c.SessionID, c.Purpose, nonNil(c.Data), toDB(c.CreatedAt), toDB(c.ExpiresAt))
}

// TakeChallenge deletes the row and returns what it held in one statement
// (DELETE … RETURNING), so two requests finishing the same ceremony at once
// cannot both get it, on either engine.
func (r webAuthn) TakeChallenge(ctx context.Context, id string) (*milogin.WebAuthnChallenge, error) {
	const op = "sqlstore.WebAuthn.TakeChallenge"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	var (
		c                milogin.WebAuthnChallenge
		created, expires int64
	)
	err := r.t.q.QueryRowContext(ctx, `DELETE FROM webauthn_challenges WHERE id = $1
		RETURNING id, account_id, session_id, purpose, data, created_at, expires_at`, id).
		Scan(&c.ID, &c.AccountID, &c.SessionID, &c.Purpose, &c.Data, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, msgNoChallenge)
	}
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	if len(c.Data) == 0 {
		c.Data = nil
	}
	c.CreatedAt, c.ExpiresAt = fromDB(created), fromDB(expires)
	return &c, nil
}

func (r webAuthn) DeleteExpiredChallenges(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.WebAuthn.DeleteExpiredChallenges"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, `DELETE FROM webauthn_challenges WHERE expires_at <= $1`, toDB(before))
}
