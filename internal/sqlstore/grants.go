package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"milogin"
)

const (
	msgNoGrant = "No access request or grant for this application."
	msgNoTerms = "The terms have not been accepted."
	msgNoMFA   = "No second factor recorded."
)

type grants struct{ t *tx }

var _ milogin.GrantStore = grants{}

const grantCols = `app_id, account_id, status, requested_at, decided_at, decided_by, reason`

func scanGrant(s scanner) (*milogin.Grant, error) {
	var (
		g                  milogin.Grant
		status             string
		requested, decided int64
	)
	if err := s.Scan(&g.AppID, &g.AccountID, &status, &requested, &decided, &g.DecidedBy, &g.Reason); err != nil {
		return nil, err
	}
	g.Status = milogin.GrantStatus(status)
	g.RequestedAt, g.DecidedAt = fromDB(requested), fromDB(decided)
	return &g, nil
}

// Get returns the account's grant for the application. In a Read whose
// request's scope holds the account's grants (see ListByAccount) it
// answers from them: they are all of the account's grants, so one that is
// not there does not exist.
func (r grants) Get(ctx context.Context, appID, accountID string) (*milogin.Grant, error) {
	const op = "sqlstore.Grants.Get"
	if kept, ok := r.scoped(ctx, accountID); ok {
		for _, g := range kept {
			if g.AppID == appID {
				c := *g
				return &c, nil
			}
		}
		return nil, notFound(op, msgNoGrant)
	}
	return queryOne(ctx, r.t.q, op, msgNoGrant, scanGrant, qGrant, appID, accountID)
}

// scoped returns the account's grants as this request's scope holds them,
// in a Read only (a Write reads what it is about to change afresh).
func (r grants) scoped(ctx context.Context, accountID string) ([]*milogin.Grant, bool) {
	if r.t.catalog == nil {
		return nil, false
	}
	v, ok := milogin.StoreScopeOf(ctx).Load(scopedGrants{r.t.catalog, accountID})
	if !ok {
		return nil, false
	}
	return v.([]*milogin.Grant), true
}

// Put creates or replaces the grant of (AppID, AccountID) in one statement,
// so two administrators deciding at once leave one consistent row.
func (r grants) Put(ctx context.Context, g *milogin.Grant) error {
	const op = "sqlstore.Grants.Put"
	if err := r.t.writable(op); err != nil {
		return err
	}
	_, err := r.t.q.ExecContext(ctx, `INSERT INTO grants (`+grantCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (app_id, account_id) DO UPDATE SET status = excluded.status,
			requested_at = excluded.requested_at, decided_at = excluded.decided_at,
			decided_by = excluded.decided_by, reason = excluded.reason`,
		g.AppID, g.AccountID, string(g.Status), toDB(g.RequestedAt), toDB(g.DecidedAt), g.DecidedBy, g.Reason)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

func (r grants) list(ctx context.Context, op, where, order string, args ...any) ([]*milogin.Grant, error) {
	return queryAll(ctx, r.t.q, op, scanGrant, `SELECT `+grantCols+` FROM grants WHERE `+where+` ORDER BY `+order, args...)
}

// ListByAccount returns the account's grants, in order of request. In a
// Read whose request's scope holds them (Sessions.GetWithAccount read them
// with the session, and nothing was written since) it returns copies of
// those.
func (r grants) ListByAccount(ctx context.Context, accountID string) ([]*milogin.Grant, error) {
	if kept, ok := r.scoped(ctx, accountID); ok {
		out := make([]*milogin.Grant, len(kept))
		for i, g := range kept {
			c := *g
			out[i] = &c
		}
		return out, nil
	}
	return r.list(ctx, "sqlstore.Grants.ListByAccount", `account_id = $1`, `requested_at, app_id`, accountID)
}

// ListByApp returns the application's grants in order of request (the
// administrator's queue), filtered by status when not "".
func (r grants) ListByApp(ctx context.Context, appID string, status milogin.GrantStatus) ([]*milogin.Grant, error) {
	const op = "sqlstore.Grants.ListByApp"
	if status == "" {
		return r.list(ctx, op, `app_id = $1`, `requested_at, account_id`, appID)
	}
	return r.list(ctx, op, `app_id = $1 AND status = $2`, `requested_at, account_id`, appID, string(status))
}

// AcceptTerms records the acceptance of one version of the terms. Accepting a
// version again keeps the first acceptance (a double submit changes nothing);
// acceptances of earlier versions are kept as history.
func (r grants) AcceptTerms(ctx context.Context, ta *milogin.TermsAcceptance) error {
	const op = "sqlstore.Grants.AcceptTerms"
	if err := r.t.writable(op); err != nil {
		return err
	}
	_, err := r.t.q.ExecContext(ctx, `INSERT INTO terms_acceptances (app_id, account_id, version, accepted_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (app_id, account_id, version) DO NOTHING`, ta.AppID, ta.AccountID, ta.Version, toDB(ta.AcceptedAt))
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

// Terms returns the acceptance of the highest version: what decides whether
// the person must accept the application's current terms again.
func (r grants) Terms(ctx context.Context, appID, accountID string) (*milogin.TermsAcceptance, error) {
	const op = "sqlstore.Grants.Terms"
	ta := milogin.TermsAcceptance{AppID: appID, AccountID: accountID}
	var at int64
	err := r.t.q.QueryRowContext(ctx, qTerms,
		appID, accountID).Scan(&ta.Version, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, msgNoTerms)
	}
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	ta.AcceptedAt = fromDB(at)
	return &ta, nil
}

func (r grants) RecordMFA(ctx context.Context, e *milogin.MFAEvent) error {
	const op = "sqlstore.Grants.RecordMFA"
	if err := r.t.writable(op); err != nil {
		return err
	}
	_, err := r.t.q.ExecContext(ctx, `INSERT INTO mfa_events (account_id, app_id, method, occurred_at)
		VALUES ($1, $2, $3, $4)`, e.AccountID, e.AppID, e.Method, toDB(e.At))
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

// LastMFA returns the account's latest MFA event for the application.
func (r grants) LastMFA(ctx context.Context, accountID, appID string) (*milogin.MFAEvent, error) {
	const op = "sqlstore.Grants.LastMFA"
	e := milogin.MFAEvent{AccountID: accountID, AppID: appID}
	var at int64
	err := r.t.q.QueryRowContext(ctx, qLastMFA,
		accountID, appID).Scan(&e.Method, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, msgNoMFA)
	}
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	e.At = fromDB(at)
	return &e, nil
}
