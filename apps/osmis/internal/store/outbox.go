package store

import (
	"context"
	"database/sql"
	"time"
)

// Outbox operations: what MILogin's provisioning API is asked to do.
const (
	OpGrant  = "grant"
	OpRevoke = "revoke"
)

// Call is one queued provisioning call.
type Call struct {
	ID        int64
	Op        string
	LoginID   string
	Reason    string
	Attempts  int
	NextAt    time.Time
	LastError string
	CreatedAt time.Time
}

func enqueue(ctx context.Context, tx *sql.Tx, now int64, op, loginID, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox (op, login_id, reason, next_at, created_at) VALUES ($1, $2, $3, $4, $4)`,
		op, loginID, reason, now)
	return err
}

// Claim leases up to limit due calls for lease. A call waits while an
// earlier call for the same MILogin ID is undone, so a grant and the revoke
// after it reach MILogin in order; a lease keeps a second worker (another
// node) off a call in progress.
func (d *DB) Claim(ctx context.Context, limit int, lease time.Duration) ([]*Call, error) {
	now := d.now()
	var out []*Call
	err := d.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, op, login_id, reason, attempts, next_at, last_error, created_at FROM outbox o
			WHERE done_at = 0 AND next_at <= $1 AND lease_until <= $1
			AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.login_id = o.login_id AND e.done_at = 0 AND e.id < o.id)
			ORDER BY id LIMIT $2`, now, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			c := &Call{}
			var next, created int64
			if err := rows.Scan(&c.ID, &c.Op, &c.LoginID, &c.Reason, &c.Attempts, &next, &c.LastError, &created); err != nil {
				rows.Close()
				return err
			}
			c.NextAt, c.CreatedAt = fromMS(next), fromMS(created)
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		kept := out[:0]
		for _, c := range out {
			res, err := tx.ExecContext(ctx, `UPDATE outbox SET lease_until = $1 WHERE id = $2 AND lease_until <= $3 AND done_at = 0`,
				now+lease.Milliseconds(), c.ID, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				kept = append(kept, c)
			}
		}
		out = kept
		return nil
	})
	return out, err
}

// Done marks a call delivered.
func (d *DB) Done(ctx context.Context, id int64) error {
	_, err := d.db.ExecContext(ctx, `UPDATE outbox SET done_at = $1, lease_until = 0, last_error = '' WHERE id = $2`, d.now(), id)
	return err
}

// Retry records a failed attempt and when to try again.
func (d *DB) Retry(ctx context.Context, id int64, errText string, next time.Time) error {
	_, err := d.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_at = $2, lease_until = 0 WHERE id = $3`,
		errText, ms(next), id)
	return err
}

// Pending lists the calls not yet delivered, oldest first.
func (d *DB) Pending(ctx context.Context) ([]*Call, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, op, login_id, reason, attempts, next_at, last_error, created_at FROM outbox
		WHERE done_at = 0 ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Call
	for rows.Next() {
		c := &Call{}
		var next, created int64
		if err := rows.Scan(&c.ID, &c.Op, &c.LoginID, &c.Reason, &c.Attempts, &next, &c.LastError, &created); err != nil {
			return nil, err
		}
		c.NextAt, c.CreatedAt = fromMS(next), fromMS(created)
		out = append(out, c)
	}
	return out, rows.Err()
}
