package sqlstore

import (
	"context"
	"time"

	"milogin"
)

type signingKeys struct{ t *tx }

var _ milogin.SigningKeyStore = signingKeys{}

const signingKeyCols = `id, alg, private_key, public_jwk, created_at, activates_at, retired_at`

func (r signingKeys) Create(ctx context.Context, k *milogin.SigningKey) error {
	const op = "sqlstore.SigningKeys.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	return r.t.insertNew(ctx, op, "A signing key with that ID already exists.", `INSERT INTO signing_keys (`+signingKeyCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.Alg, nonNil(k.Private), nonNil(k.Public), toDB(k.CreatedAt), toDB(k.ActivatesAt), toDB(k.RetiredAt))
}

// List returns every key, oldest first (then by ID, so that every node
// sees the same order).
func (r signingKeys) List(ctx context.Context) ([]*milogin.SigningKey, error) {
	const op = "sqlstore.SigningKeys.List"
	return queryAll(ctx, r.t.q, op, scanSigningKey, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created_at, id`)
}

func scanSigningKey(s scanner) (*milogin.SigningKey, error) {
	var (
		k                          milogin.SigningKey
		created, activates, retire int64
	)
	if err := s.Scan(&k.ID, &k.Alg, &k.Private, &k.Public, &created, &activates, &retire); err != nil {
		return nil, err
	}
	k.CreatedAt, k.ActivatesAt, k.RetiredAt = fromDB(created), fromDB(activates), fromDB(retire)
	return &k, nil
}

// Retire moves a key's retirement to at unless it is already retired
// earlier: retiring twice keeps the first retirement.
func (r signingKeys) Retire(ctx context.Context, id string, at time.Time) error {
	const op = "sqlstore.SigningKeys.Retire"
	if err := r.t.writable(op); err != nil {
		return err
	}
	var n int
	if err := r.t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM signing_keys WHERE id = $1`, id).Scan(&n); err != nil {
		return milogin.Wrap(op, err)
	}
	if n == 0 {
		return notFound(op, "Signing key not found.")
	}
	_, err := r.t.q.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $2
		WHERE id = $1 AND (retired_at = 0 OR retired_at > $2)`, id, toDB(at))
	return milogin.Wrap(op, err)
}

func (r signingKeys) DeleteRetired(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.SigningKeys.DeleteRetired"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, `DELETE FROM signing_keys WHERE retired_at <> 0 AND retired_at <= $1`, toDB(before))
}
