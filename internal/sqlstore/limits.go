package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"milogin"
)

type limits struct{ t *tx }

var _ milogin.LimitStore = limits{}

// Hit counts in fixed windows aligned to the window length (now truncated to
// the window), one row per key, window length and window. The upsert is a single statement,
// so concurrent hits on any node never lose a count.
func (r limits) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	const op = "sqlstore.Limits.Hit"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	if window <= 0 {
		return 0, &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: errors.New("window must be positive")}
	}
	start := now.Truncate(window)
	var n int
	err := r.t.q.QueryRowContext(ctx, `INSERT INTO rate_limits (limit_key, window_us, window_start, expires_at, hits)
		VALUES ($1, $2, $3, $4, 1)
		ON CONFLICT (limit_key, window_us, window_start) DO UPDATE SET hits = rate_limits.hits + 1
		RETURNING hits`,
		key, window.Microseconds(), start.UnixMicro(), start.Add(window).UnixMicro()).Scan(&n)
	if err != nil {
		return 0, milogin.Wrap(op, err)
	}
	return n, nil
}

// Count reads key's counter for the window that contains now; 0 when no hit
// was counted in it. It does not write, so it also works inside Read.
func (r limits) Count(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	const op = "sqlstore.Limits.Count"
	if window <= 0 {
		return 0, &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: errors.New("window must be positive")}
	}
	var n int
	err := r.t.q.QueryRowContext(ctx, qLimitCount,
		key, window.Microseconds(), now.Truncate(window).UnixMicro()).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, milogin.Wrap(op, err)
	}
	return n, nil
}

// DeleteExpired removes counters whose window ended at or before before.
func (r limits) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.Limits.DeleteExpired"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, qDeleteExpiredLimits, toDB(before))
}

// Reserve is Hit with a ceiling, in one statement: the conditional upsert
// reads and raises the counter under the row's lock, so concurrent callers
// on any node are granted at most limit hits between them. PostgreSQL
// re-checks the WHERE against the row as committed by the transaction it
// waited for; SQLite has one writer at a time.
func (r limits) Reserve(ctx context.Context, key string, window time.Duration, limit int, now time.Time) (int, bool, error) {
	const op = "sqlstore.Limits.Reserve"
	if err := r.t.writable(op); err != nil {
		return 0, false, err
	}
	if window <= 0 {
		return 0, false, &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: errors.New("window must be positive")}
	}
	if limit <= 0 {
		n, err := r.Hit(ctx, key, window, now)
		return n, err == nil, err
	}
	start := now.Truncate(window)
	var n int
	err := r.t.q.QueryRowContext(ctx, `INSERT INTO rate_limits (limit_key, window_us, window_start, expires_at, hits)
		VALUES ($1, $2, $3, $4, 1)
		ON CONFLICT (limit_key, window_us, window_start) DO UPDATE SET hits = rate_limits.hits + 1
		WHERE rate_limits.hits < $5
		RETURNING hits`,
		key, window.Microseconds(), start.UnixMicro(), start.Add(window).UnixMicro(), limit).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		// The row exists and is at the limit: nothing was written.
		n, err := r.Count(ctx, key, window, now)
		return n, false, err
	}
	if err != nil {
		return 0, false, milogin.Wrap(op, err)
	}
	return n, true, nil
}

// Refund lowers the counter of the window that contained at by one.
func (r limits) Refund(ctx context.Context, key string, window time.Duration, at time.Time) error {
	const op = "sqlstore.Limits.Refund"
	if err := r.t.writable(op); err != nil {
		return err
	}
	if window <= 0 {
		return &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: errors.New("window must be positive")}
	}
	_, err := r.t.q.ExecContext(ctx, `UPDATE rate_limits SET hits = hits - 1
		WHERE limit_key = $1 AND window_us = $2 AND window_start = $3 AND hits > 0`,
		key, window.Microseconds(), at.Truncate(window).UnixMicro())
	return milogin.Wrap(op, err)
}
