package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"milogin"
)

type settings struct{ t *tx }

var _ milogin.SettingStore = settings{}

func (r settings) Get(ctx context.Context, key string) ([]byte, error) {
	const op = "sqlstore.Settings.Get"
	var v []byte
	err := r.t.q.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Setting not found.")
	}
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return nonNil(v), nil
}

// PutIfAbsent inserts unless the key exists and then reads back what is
// stored. Under READ COMMITTED (PostgreSQL) the SELECT sees the row of a
// concurrent winner once its INSERT conflicted, because ON CONFLICT DO NOTHING
// waits for that transaction to commit.
func (r settings) PutIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error) {
	const op = "sqlstore.Settings.PutIfAbsent"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	if _, err := r.t.q.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO NOTHING`, key, nonNil(value)); err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return r.Get(ctx, key)
}
