package sqlstore

import (
	"context"
	"time"

	"milogin"
)

const msgNoFlow = "This page has expired. Please start again."

type flows struct{ t *tx }

var _ milogin.FlowStore = flows{}

func (t *tx) Flows() milogin.FlowStore { return flows{t} }

const flowCols = `id, kind, portal, subject, state, created_at, updated_at, expires_at`

func scanFlow(s scanner) (*milogin.Flow, error) {
	var (
		f                      milogin.Flow
		portal                 string
		created, up, expiresAt int64
	)
	if err := s.Scan(&f.ID, &f.Kind, &portal, &f.Subject, &f.State, &created, &up, &expiresAt); err != nil {
		return nil, err
	}
	f.Portal = milogin.PortalID(portal)
	if len(f.State) == 0 {
		f.State = nil
	}
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt = fromDB(created), fromDB(up), fromDB(expiresAt)
	return &f, nil
}

func (r flows) Create(ctx context.Context, f *milogin.Flow) error {
	const op = "sqlstore.Flows.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	if f.ID == "" {
		return &milogin.Error{Op: op, Kind: milogin.EINVALID, Msg: "A flow needs an ID."}
	}
	_, err := r.t.q.ExecContext(ctx, `INSERT INTO flows (`+flowCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.ID, f.Kind, string(f.Portal), f.Subject, nonNil(f.State),
		toDB(f.CreatedAt), toDB(f.UpdatedAt), toDB(f.ExpiresAt))
	if err != nil {
		return r.t.conflictOr(op, err, func(string) string { return "This flow already exists." })
	}
	return nil
}

func (r flows) get(ctx context.Context, op, suffix, id string) (*milogin.Flow, error) {
	return queryOne(ctx, r.t.q, op, msgNoFlow, scanFlow, qFlowByID+suffix, id)
}

func (r flows) Get(ctx context.Context, id string) (*milogin.Flow, error) {
	return r.get(ctx, "sqlstore.Flows.Get", "", id)
}

// Update loads the flow (locked on PostgreSQL), applies fn and saves it, so
// two requests of one flow racing on two nodes apply one after the other.
// fn may not change the ID.
func (r flows) Update(ctx context.Context, id string, fn func(*milogin.Flow) error) (*milogin.Flow, error) {
	const op = "sqlstore.Flows.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	f, err := r.get(ctx, op, r.t.d.ForUpdate, id)
	if err != nil {
		return nil, err
	}
	if err := fn(f); err != nil {
		return nil, err
	}
	f.ID = id
	_, err = r.t.q.ExecContext(ctx, `UPDATE flows SET kind = $2, portal = $3, subject = $4, state = $5,
		created_at = $6, updated_at = $7, expires_at = $8 WHERE id = $1`,
		f.ID, f.Kind, string(f.Portal), f.Subject, nonNil(f.State),
		toDB(f.CreatedAt), toDB(f.UpdatedAt), toDB(f.ExpiresAt))
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	stored(&f.CreatedAt, &f.UpdatedAt, &f.ExpiresAt)
	if len(f.State) == 0 {
		f.State = nil
	}
	return f, nil
}

func (r flows) Delete(ctx context.Context, id string) error {
	const op = "sqlstore.Flows.Delete"
	if err := r.t.writable(op); err != nil {
		return err
	}
	if _, err := r.t.q.ExecContext(ctx, `DELETE FROM flows WHERE id = $1`, id); err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

func (r flows) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.Flows.DeleteExpired"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, `DELETE FROM flows WHERE expires_at <= $1`, toDB(before))
}
