package sqlstore

import (
	"context"
	"time"

	"milogin"
)

const msgNoCode = "Code not found."

type codes struct{ t *tx }

var _ milogin.CodeStore = codes{}

const codeCols = `id, purpose, subject, hash, created_at, expires_at, attempts, max_attempts, sends, used_at`

func scanCode(s scanner) (*milogin.Code, error) {
	var (
		c                        milogin.Code
		created, expiresAt, used int64
	)
	if err := s.Scan(&c.ID, &c.Purpose, &c.Subject, &c.Hash, &created, &expiresAt,
		&c.Attempts, &c.MaxAttempts, &c.Sends, &used); err != nil {
		return nil, err
	}
	if len(c.Hash) == 0 {
		c.Hash = nil
	}
	c.CreatedAt = fromDB(created)
	c.ExpiresAt = fromDB(expiresAt)
	c.UsedAt = fromDB(used)
	return &c, nil
}

// nonNil keeps NOT NULL blob columns happy: a nil []byte would be bound as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (r codes) Create(ctx context.Context, c *milogin.Code) error {
	const op = "sqlstore.Codes.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	_, err := r.t.q.ExecContext(ctx, `INSERT INTO codes (`+codeCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.Purpose, c.Subject, nonNil(c.Hash), toDB(c.CreatedAt), toDB(c.ExpiresAt),
		c.Attempts, c.MaxAttempts, c.Sends, toDB(c.UsedAt))
	if err != nil {
		return r.t.conflictOr(op, err, func(string) string { return "This code already exists." })
	}
	return nil
}

func (r codes) get(ctx context.Context, op, suffix, id string) (*milogin.Code, error) {
	return queryOne(ctx, r.t.q, op, msgNoCode, scanCode, qCodeByID+suffix, id)
}

func (r codes) Get(ctx context.Context, id string) (*milogin.Code, error) {
	return r.get(ctx, "sqlstore.Codes.Get", "", id)
}

// Update loads the code (locked on PostgreSQL), applies fn and saves it: the
// lock is what makes a code single-use when two requests race to use it.
func (r codes) Update(ctx context.Context, id string, fn func(*milogin.Code) error) (*milogin.Code, error) {
	const op = "sqlstore.Codes.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	c, err := r.get(ctx, op, r.t.d.ForUpdate, id)
	if err != nil {
		return nil, err
	}
	if err := fn(c); err != nil {
		return nil, err
	}
	c.ID = id
	_, err = r.t.q.ExecContext(ctx, `UPDATE codes SET purpose = $2, subject = $3, hash = $4,
		created_at = $5, expires_at = $6, attempts = $7, max_attempts = $8, sends = $9, used_at = $10
		WHERE id = $1`,
		c.ID, c.Purpose, c.Subject, nonNil(c.Hash), toDB(c.CreatedAt), toDB(c.ExpiresAt),
		c.Attempts, c.MaxAttempts, c.Sends, toDB(c.UsedAt))
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	stored(&c.CreatedAt, &c.ExpiresAt, &c.UsedAt)
	if len(c.Hash) == 0 {
		c.Hash = nil
	}
	return c, nil
}

func (r codes) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.Codes.DeleteExpired"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, `DELETE FROM codes WHERE expires_at <= $1`, toDB(before))
}
