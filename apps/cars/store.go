package cars

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The queries of CARS, one function per question the pages ask.

const accountCols = `number, type, ident, name, street, city, state, zip, email, balance_cents`

type scanner interface{ Scan(...any) error }

func scanAccount(s scanner) (Account, error) {
	var a Account
	var typ string
	if err := s.Scan(&a.Number, &typ, &a.Ident, &a.Name, &a.Street, &a.City, &a.State, &a.ZIP, &a.Email, &a.BalanceCents); err != nil {
		return a, notFound(err)
	}
	t, ok := LookupType(typ)
	if !ok {
		return a, fmt.Errorf("account %s has an unknown type %q", a.Number, typ)
	}
	a.Type = t
	return a, nil
}

// ImportResult says what an import did with one row.
type ImportResult int

const (
	Loaded ImportResult = iota
	Updated
	Unchanged
)

// errIdentTaken: another account of the type has the identifier.
var errIdentTaken = errors.New("identifier belongs to another account")

// SaveAccount inserts or updates a business account by its number.
func (db *DB) SaveAccount(ctx context.Context, a Account, now time.Time) (ImportResult, error) {
	var res ImportResult
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var other string
		err := tx.QueryRowContext(ctx, `SELECT number FROM cars_accounts WHERE type = $1 AND ident_norm = $2 AND number <> $3`,
			a.Type.Slug, Normalize(a.Ident), a.Number).Scan(&other)
		if err == nil {
			return fmt.Errorf("%w: %s %s is account %s's", errIdentTaken, a.Type.Ident, a.Ident, other)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		old, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM cars_accounts WHERE number = $1`, a.Number))
		switch {
		case errors.Is(err, errNotFound):
			res = Loaded
			_, err = tx.ExecContext(ctx, `INSERT INTO cars_accounts (`+accountCols+`, ident_norm, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				a.Number, a.Type.Slug, a.Ident, a.Name, a.Street, a.City, a.State, a.ZIP, a.Email, a.BalanceCents, Normalize(a.Ident), ms(now))
			return err
		case err != nil:
			return err
		case old == a:
			res = Unchanged
			return nil
		}
		res = Updated
		_, err = tx.ExecContext(ctx, `UPDATE cars_accounts SET type = $2, ident = $3, name = $4, street = $5, city = $6, state = $7,
			zip = $8, email = $9, balance_cents = $10, ident_norm = $11, updated_at = $12 WHERE number = $1`,
			a.Number, a.Type.Slug, a.Ident, a.Name, a.Street, a.City, a.State, a.ZIP, a.Email, a.BalanceCents, Normalize(a.Ident), ms(now))
		return err
	})
	return res, err
}

// FindAccount finds the account of type t whose identifiers were typed.
func (db *DB) FindAccount(ctx context.Context, t AccountType, ident, zip string) (Account, error) {
	a, err := scanAccount(db.sql.QueryRowContext(ctx, `SELECT `+accountCols+` FROM cars_accounts WHERE type = $1 AND ident_norm = $2`,
		t.Slug, Normalize(ident)))
	if err != nil {
		return a, err
	}
	if !a.Matches(ident, zip) {
		return Account{}, errNotFound
	}
	return a, nil
}

// Account returns the account with the number.
func (db *DB) Account(ctx context.Context, number string) (Account, error) {
	return scanAccount(db.sql.QueryRowContext(ctx, `SELECT `+accountCols+` FROM cars_accounts WHERE number = $1`, number))
}

// User is a MILogin user who signed in to CARS, as the ID token described them.
type User struct {
	Sub, Username, Name, Email, Phone string
	LastLogin, PrevLogin              time.Time
}

// SaveLogin records a sign-in: the profile from the ID token, and the
// previous sign-in's time becomes "Last logged on".
func (db *DB) SaveLogin(ctx context.Context, u User, now time.Time) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO cars_users (sub, username, name, email, phone, last_login_at, prev_login_at)
		VALUES ($1, $2, $3, $4, $5, $6, 0)
		ON CONFLICT (sub) DO UPDATE SET username = excluded.username, name = excluded.name, email = excluded.email,
			phone = excluded.phone, prev_login_at = cars_users.last_login_at, last_login_at = excluded.last_login_at`,
		u.Sub, u.Username, u.Name, u.Email, u.Phone, ms(now))
	return err
}

// User returns a user by their MILogin subject.
func (db *DB) User(ctx context.Context, sub string) (User, error) {
	var u User
	var last, prev int64
	err := db.sql.QueryRowContext(ctx, `SELECT sub, username, name, email, phone, last_login_at, prev_login_at FROM cars_users WHERE sub = $1`, sub).
		Scan(&u.Sub, &u.Username, &u.Name, &u.Email, &u.Phone, &last, &prev)
	u.LastLogin, u.PrevLogin = fromMS(last), fromMS(prev)
	return u, notFound(err)
}

// Session is a CARS session (its own cookie, independent of MILogin's).
type Session struct {
	ID            string // hash of the cookie's token
	Sub, Kind     string // Kind: the login used, "mechanic" or "school"
	SID           string // MILogin's session (the ID token's sid)
	IDTokenSealed string
	RequestDraft  string // JSON of the Request Code wizard
	AccessDraft   string // JSON of the Add Account Access wizard
	ExpiresAt     time.Time
}

func (db *DB) CreateSession(ctx context.Context, s Session, now time.Time) error {
	// Expired sessions are swept as new ones begin.
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM cars_sessions WHERE expires_at <= $1`, ms(now)); err != nil {
		return err
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO cars_sessions (id, sub, kind, sid, id_token_sealed, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.ID, s.Sub, s.Kind, s.SID, s.IDTokenSealed, ms(now), ms(s.ExpiresAt))
	return err
}

func (db *DB) Session(ctx context.Context, id string, now time.Time) (Session, error) {
	var s Session
	var exp int64
	err := db.sql.QueryRowContext(ctx, `SELECT id, sub, kind, id_token_sealed, request_draft, access_draft, expires_at FROM cars_sessions
		WHERE id = $1 AND expires_at > $2`, id, ms(now)).Scan(&s.ID, &s.Sub, &s.Kind, &s.IDTokenSealed, &s.RequestDraft, &s.AccessDraft, &exp)
	s.ExpiresAt = fromMS(exp)
	return s, notFound(err)
}

// EndSessions ends the sessions of a MILogin user, all of them or those of
// one MILogin session (sid): a back-channel logout.
func (db *DB) EndSessions(ctx context.Context, sub, sid string) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM cars_sessions WHERE (sub = $1 OR $1 = '') AND (sid = $2 OR $2 = '') AND ($1 <> '' OR $2 <> '')`, sub, sid)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (db *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM cars_sessions WHERE id = $1`, id)
	return err
}

// SaveDrafts keeps what was typed in the wizards of a session.
func (db *DB) SaveDrafts(ctx context.Context, id, request, access string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE cars_sessions SET request_draft = $2, access_draft = $3 WHERE id = $1`, id, request, access)
	return err
}

// pendingLogin is a sign-in sent to MILogin and not back yet.
type pendingLogin struct {
	Nonce, VerifierSealed, Kind string
}

func (db *DB) CreateLogin(ctx context.Context, stateHash string, p pendingLogin, expires, now time.Time) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM cars_logins WHERE expires_at <= $1`, ms(now)); err != nil {
		return err
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO cars_logins (state_hash, nonce, verifier_sealed, kind, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		stateHash, p.Nonce, p.VerifierSealed, p.Kind, ms(expires))
	return err
}

// TakeLogin returns and deletes a pending sign-in: a state is used once.
func (db *DB) TakeLogin(ctx context.Context, stateHash string, now time.Time) (pendingLogin, error) {
	var p pendingLogin
	err := db.sql.QueryRowContext(ctx, `DELETE FROM cars_logins WHERE state_hash = $1 AND expires_at > $2 RETURNING nonce, verifier_sealed, kind`,
		stateHash, ms(now)).Scan(&p.Nonce, &p.VerifierSealed, &p.Kind)
	return p, notFound(err)
}

// Audit records an event; detail never holds a code.
func (db *DB) Audit(ctx context.Context, now time.Time, sub, event, detail string) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO cars_audit (id, at, sub, event, detail) VALUES ($1, $2, $3, $4, $5)`,
		newID(), ms(now), sub, event, detail)
	return err
}

// AuditEvent is one row of the audit log.
type AuditEvent struct {
	At                 time.Time
	Sub, Event, Detail string
}

func (db *DB) AuditEvents(ctx context.Context, sub string) ([]AuditEvent, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT at, sub, event, detail FROM cars_audit WHERE sub = $1 ORDER BY at, id`, sub)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		if err := rows.Scan(&at, &e.Sub, &e.Event, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func queryAll[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// AccessAccount is a business account a user has access to.
type AccessAccount struct {
	Account
	NotifyEmail string
	Notify      bool
}

// Accounts lists the accounts the user has access to.
func (db *DB) Accounts(ctx context.Context, sub string) ([]AccessAccount, error) {
	return queryAll(ctx, db.sql, func(s scanner) (AccessAccount, error) {
		var a AccessAccount
		var typ string
		var notify int
		err := s.Scan(&a.Number, &typ, &a.Ident, &a.Name, &a.Street, &a.City, &a.State, &a.ZIP, &a.Email, &a.BalanceCents, &a.NotifyEmail, &notify)
		a.Type, _ = LookupType(typ)
		a.Notify = notify == 1
		return a, err
	}, `SELECT a.number, a.type, a.ident, a.name, a.street, a.city, a.state, a.zip, a.email, a.balance_cents, x.notify_email, x.notify
		FROM cars_access x JOIN cars_accounts a ON a.number = x.account_number WHERE x.sub = $1 ORDER BY x.created_at, a.number`, sub)
}

// Message is an alert posted to a user's springboard.
type Message struct {
	ID, Subject, Body string
	At, ReadAt        time.Time
}

func (db *DB) Messages(ctx context.Context, sub string) ([]Message, error) {
	return queryAll(ctx, db.sql, func(s scanner) (Message, error) {
		var m Message
		var at, read int64
		err := s.Scan(&m.ID, &m.Subject, &m.Body, &at, &read)
		m.At, m.ReadAt = fromMS(at), fromMS(read)
		return m, err
	}, `SELECT id, subject, body, created_at, read_at FROM cars_messages WHERE sub = $1 ORDER BY created_at DESC, id`, sub)
}

func (db *DB) MarkRead(ctx context.Context, sub, id string, now time.Time) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE cars_messages SET read_at = $3 WHERE sub = $1 AND id = $2 AND read_at = 0`, sub, id, ms(now))
	return err
}

func postMessage(ctx context.Context, tx *sql.Tx, sub, subject, body string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cars_messages (id, sub, subject, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
		newID(), sub, subject, body, ms(now))
	return err
}

// Submission is a Request Code submission.
type Submission struct {
	Confirmation, Delivery string
	Account                Account
	At                     time.Time
}

func (db *DB) Submissions(ctx context.Context, sub string) ([]Submission, error) {
	return queryAll(ctx, db.sql, func(s scanner) (Submission, error) {
		var x Submission
		var typ string
		var at int64
		err := s.Scan(&x.Confirmation, &x.Delivery, &at, &x.Account.Number, &typ, &x.Account.Ident, &x.Account.Name, &x.Account.Email)
		x.Account.Type, _ = LookupType(typ)
		x.At = fromMS(at)
		return x, err
	}, `SELECT r.confirmation, r.delivery, r.created_at, a.number, a.type, a.ident, a.name, a.email
		FROM cars_requests r JOIN cars_accounts a ON a.number = r.account_number WHERE r.sub = $1 ORDER BY r.created_at DESC`, sub)
}

// Submission returns one of the user's submissions.
func (db *DB) Submission(ctx context.Context, sub, confirmation string) (Submission, error) {
	var x Submission
	var typ string
	var at int64
	err := db.sql.QueryRowContext(ctx, `SELECT r.confirmation, r.delivery, r.created_at, a.number, a.type, a.ident, a.name, a.email
		FROM cars_requests r JOIN cars_accounts a ON a.number = r.account_number WHERE r.sub = $1 AND r.confirmation = $2`, sub, confirmation).
		Scan(&x.Confirmation, &x.Delivery, &at, &x.Account.Number, &typ, &x.Account.Ident, &x.Account.Name, &x.Account.Email)
	x.Account.Type, _ = LookupType(typ)
	x.At = fromMS(at)
	return x, notFound(err)
}
