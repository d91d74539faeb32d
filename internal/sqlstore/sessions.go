package sqlstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"milogin"
)

const msgNoSession = "Session not found."

type sessions struct{ t *tx }

var _ milogin.SessionStore = sessions{}

const sessionCols = `id, account_id, portal, stage, created_at, last_seen_at, expires_at, ip, user_agent`

func scanSession(s scanner) (*milogin.Session, error) {
	var (
		x                        milogin.Session
		portal, stage            string
		created, seen, expiresAt int64
	)
	if err := s.Scan(&x.ID, &x.AccountID, &portal, &stage, &created, &seen, &expiresAt, &x.IP, &x.UserAgent); err != nil {
		return nil, err
	}
	x.Portal = milogin.PortalID(portal)
	x.Stage = milogin.SessionStage(stage)
	x.CreatedAt = fromDB(created)
	x.LastSeenAt = fromDB(seen)
	x.ExpiresAt = fromDB(expiresAt)
	return &x, nil
}

func (r sessions) Create(ctx context.Context, s *milogin.Session) error {
	const op = "sqlstore.Sessions.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	_, err := r.t.q.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.ID, s.AccountID, string(s.Portal), string(s.Stage),
		toDB(s.CreatedAt), toDB(s.LastSeenAt), toDB(s.ExpiresAt), storedText(s.IP), storedUA(s.UserAgent))
	if err != nil {
		return r.t.conflictOr(op, err, func(string) string { return "This session already exists." })
	}
	return nil
}

func (r sessions) get(ctx context.Context, op, suffix, id string) (*milogin.Session, error) {
	return queryOne(ctx, r.t.q, op, msgNoSession, scanSession, qSessionByID+suffix, id)
}

func (r sessions) Get(ctx context.Context, id string) (*milogin.Session, error) {
	return r.get(ctx, "sqlstore.Sessions.Get", "", id)
}

// GetWithAccount reads the session and its account in one statement. In a
// Read with a milogin.StoreScope the statement also brings the catalog's
// version and the account's grants, which the request's catalog reads and
// Grants.ListByAccount then use.
func (r sessions) GetWithAccount(ctx context.Context, id string) (*milogin.Session, *milogin.Account, error) {
	const op = "sqlstore.Sessions.GetWithAccount"
	sc := milogin.StoreScopeOf(ctx)
	if sc == nil || r.t.catalog == nil {
		x, err := hotOne(ctx, r.t, op, msgNoSession, scanWithAccount(scanSession), qSessionWithAccount, id)
		return x.v, x.acct, err
	}
	var (
		first  withAccount[*milogin.Session]
		v      int64
		grants []*milogin.Grant
		n      int
	)
	scan := scanWithAccount(scanSession)
	err := r.t.eachRow(ctx, qSessionInScope, []any{id}, func(row Scanner) error {
		var (
			g                  milogin.Grant
			status             string
			requested, decided int64
		)
		// Every row repeats the session and the account; the first's are kept.
		x, err := scan(scanFunc(func(dest ...any) error {
			return row.Scan(append(dest, &v, &g.AppID, &status, &requested, &decided, &g.DecidedBy, &g.Reason)...)
		}))
		if err != nil {
			return err
		}
		if n++; n == 1 {
			first = x
		}
		if g.AppID != "" {
			g.AccountID = first.acct.ID
			g.Status = milogin.GrantStatus(status)
			g.RequestedAt, g.DecidedAt = fromDB(requested), fromDB(decided)
			grants = append(grants, &g)
		}
		return nil
	})
	if err != nil {
		return nil, nil, milogin.Wrap(op, err)
	}
	if n == 0 {
		return nil, nil, notFound(op, msgNoSession)
	}
	// In Grants.ListByAccount's order (qSessionInScope does not sort).
	slices.SortFunc(grants, func(a, b *milogin.Grant) int {
		if c := a.RequestedAt.Compare(b.RequestedAt); c != 0 {
			return c
		}
		return strings.Compare(a.AppID, b.AppID)
	})
	r.t.catalog.learned(sc, v)
	sc.Keep(scopedGrants{r.t.catalog, first.acct.ID}, grants)
	return first.v, first.acct, nil
}

// scopedGrants is the key of an account's grants in a request's scope, as
// GetWithAccount read them: by store (its catalog) and account.
type scopedGrants struct {
	store   *catalogCache
	account string
}

// ListByAccount returns the account's sessions, oldest first.
func (r sessions) ListByAccount(ctx context.Context, accountID string) ([]*milogin.Session, error) {
	const op = "sqlstore.Sessions.ListByAccount"
	return queryAll(ctx, r.t.q, op, scanSession, qSessionsByAccount, accountID)
}

// Update loads the session (locked on PostgreSQL), applies fn and saves it.
// The ID and the account cannot change.
func (r sessions) Update(ctx context.Context, id string, fn func(*milogin.Session) error) (*milogin.Session, error) {
	const op = "sqlstore.Sessions.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	s, err := r.get(ctx, op, r.t.d.ForUpdate, id)
	if err != nil {
		return nil, err
	}
	accountID := s.AccountID
	if err := fn(s); err != nil {
		return nil, err
	}
	s.ID, s.AccountID = id, accountID
	_, err = r.t.q.ExecContext(ctx, `UPDATE sessions SET portal = $2, stage = $3, created_at = $4,
		last_seen_at = $5, expires_at = $6, ip = $7, user_agent = $8 WHERE id = $1`,
		s.ID, string(s.Portal), string(s.Stage), toDB(s.CreatedAt), toDB(s.LastSeenAt), toDB(s.ExpiresAt),
		storedText(s.IP), storedUA(s.UserAgent))
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	stored(&s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
	return s, nil
}

// Delete ends a session. Deleting a session that does not exist is not an
// error: signing out twice must not fail.
func (r sessions) Delete(ctx context.Context, id string) error {
	const op = "sqlstore.Sessions.Delete"
	if err := r.t.writable(op); err != nil {
		return err
	}
	if _, err := r.t.q.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

func (r sessions) DeleteByAccount(ctx context.Context, accountID, keepID string) ([]string, error) {
	const op = "sqlstore.Sessions.DeleteByAccount"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	return queryAll(ctx, r.t.q, op, scanString, `DELETE FROM sessions WHERE account_id = $1 AND id <> $2 RETURNING id`,
		accountID, keepID)
}

func (r sessions) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.Sessions.DeleteExpired"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	if _, err := r.t.q.ExecContext(ctx, qDeleteOldSessionEnds, toDB(before)); err != nil {
		return 0, milogin.Wrap(op, err)
	}
	return deleteCount(ctx, r.t.q, op, qDeleteExpiredSessions, toDB(before))
}

func (r sessions) MarkEnded(ctx context.Context, ids []string, reason milogin.EndReason, at, until time.Time) error {
	const op = "sqlstore.Sessions.MarkEnded"
	if err := r.t.writable(op); err != nil {
		return err
	}
	for _, id := range ids {
		_, err := r.t.q.ExecContext(ctx, `INSERT INTO session_ends (id, reason, ended_at, keep_until) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, ended_at = excluded.ended_at, keep_until = excluded.keep_until`,
			id, string(reason), toDB(at), toDB(until))
		if err != nil {
			return milogin.Wrap(op, err)
		}
	}
	return nil
}

func (r sessions) EndReason(ctx context.Context, id string) (milogin.EndReason, error) {
	const op = "sqlstore.Sessions.EndReason"
	reason, err := queryOne(ctx, r.t.q, op, msgNoSession, scanString, qSessionEnd, id)
	return milogin.EndReason(reason), err
}

func deleteCount(ctx context.Context, q querier, op, query string, args ...any) (int, error) {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, milogin.Wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, milogin.Wrap(op, err)
	}
	return int(n), nil
}
