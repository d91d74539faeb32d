package sqlstore

import (
	"context"
	"encoding/json"

	"milogin"
)

type policies struct{ t *tx }

var _ milogin.PolicyStore = policies{}

func (t *tx) Policies() milogin.PolicyStore { return policies{t} }

func (r policies) List(ctx context.Context) ([]milogin.PortalPolicy, error) {
	return queryAll(ctx, r.t.q, "sqlstore.Policies.List", func(s scanner) (milogin.PortalPolicy, error) {
		var (
			p            milogin.PortalPolicy
			portal, body string
			at           int64
		)
		if err := s.Scan(&portal, &body, &at, &p.UpdatedBy); err != nil {
			return p, err
		}
		p.Portal, p.UpdatedAt = milogin.PortalID(portal), fromDB(at)
		return p, json.Unmarshal([]byte(body), &p.Policy)
	}, `SELECT portal, policy, updated_at, updated_by FROM portal_policies ORDER BY portal`)
}

func (r policies) Put(ctx context.Context, p *milogin.PortalPolicy) error {
	const op = "sqlstore.Policies.Put"
	if err := r.t.writable(op); err != nil {
		return err
	}
	body, err := json.Marshal(p.Policy)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	_, err = r.t.q.ExecContext(ctx, `INSERT INTO portal_policies (portal, policy, updated_at, updated_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (portal) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		string(p.Portal), string(body), toDB(p.UpdatedAt), p.UpdatedBy)
	stored(&p.UpdatedAt)
	return milogin.Wrap(op, err)
}
