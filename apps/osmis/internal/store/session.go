package store

import (
	"context"
	"database/sql"
	"time"
)

// Session is a signed-in OSMIS browser session. The cookie holds a random
// token; only its SHA-256 is stored.
type Session struct {
	TokenHash string
	StaffID   int64
	Sub       string // MILogin's subject
	SID       string // MILogin's session ID, for back-channel logout
	IDToken   string // sealed ID token, the id_token_hint of Log Off
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession stores a session.
func (d *DB) CreateSession(ctx context.Context, s *Session) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, staff_id, sub, sid, id_token, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.TokenHash, s.StaffID, s.Sub, s.SID, s.IDToken, ms(s.CreatedAt), ms(s.ExpiresAt))
	return err
}

// SessionByToken reads the live session of a token hash.
func (d *DB) SessionByToken(ctx context.Context, hash string) (*Session, error) {
	s := &Session{}
	var created, expires int64
	err := d.db.QueryRowContext(ctx, `SELECT token_hash, staff_id, sub, sid, id_token, created_at, expires_at FROM sessions
		WHERE token_hash = $1 AND expires_at > $2`, hash, d.now()).Scan(&s.TokenHash, &s.StaffID, &s.Sub, &s.SID, &s.IDToken, &created, &expires)
	if err != nil {
		return nil, notFound(err)
	}
	s.CreatedAt, s.ExpiresAt = fromMS(created), fromMS(expires)
	return s, nil
}

// DeleteSession ends one session.
func (d *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash)
	return err
}

// EndMILoginSession ends the OSMIS sessions that a MILogin session (sid),
// or, without sid, a MILogin subject, opened; it returns how many.
func (d *DB) EndMILoginSession(ctx context.Context, sub, sid string) (int64, error) {
	var res sql.Result
	var err error
	if sid != "" {
		res, err = d.db.ExecContext(ctx, `DELETE FROM sessions WHERE sid = $1`, sid)
	} else {
		res, err = d.db.ExecContext(ctx, `DELETE FROM sessions WHERE sub = $1`, sub)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SweepExpired deletes expired sessions, sign-ins abandoned for an hour and
// provisioning calls delivered more than 30 days ago.
func (d *DB) SweepExpired(ctx context.Context) error {
	now := d.now()
	if _, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now); err != nil {
		return err
	}
	if _, err := d.db.ExecContext(ctx, `DELETE FROM outbox WHERE done_at <> 0 AND done_at <= $1`, now-int64(30*24*time.Hour/time.Millisecond)); err != nil {
		return err
	}
	_, err := d.db.ExecContext(ctx, `DELETE FROM login_states WHERE created_at <= $1`, now-int64(time.Hour/time.Millisecond))
	return err
}

// LoginState is a sign-in in flight: the PKCE verifier and nonce of a state.
type LoginState struct {
	StateHash string
	Verifier  string
	Nonce     string
	CreatedAt time.Time
}

// PutLoginState stores a sign-in in flight.
func (d *DB) PutLoginState(ctx context.Context, l *LoginState) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO login_states (state_hash, verifier, nonce, created_at) VALUES ($1, $2, $3, $4)`,
		l.StateHash, l.Verifier, l.Nonce, ms(l.CreatedAt))
	return err
}

// TakeLoginState reads and deletes a sign-in in flight (at most once:
// a replayed callback finds nothing). One younger than maxAge only.
func (d *DB) TakeLoginState(ctx context.Context, hash string, maxAge time.Duration) (*LoginState, error) {
	l := &LoginState{}
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT state_hash, verifier, nonce, created_at FROM login_states WHERE state_hash = $1`, hash).
			Scan(&l.StateHash, &l.Verifier, &l.Nonce, &created)
		if err != nil {
			return notFound(err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM login_states WHERE state_hash = $1`, hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		l.CreatedAt = fromMS(created)
		if d.Now().Sub(l.CreatedAt) > maxAge {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}
