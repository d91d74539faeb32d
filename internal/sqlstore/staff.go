package sqlstore

import (
	"context"

	"milogin"
)

type staff struct{ t *tx }

var _ milogin.StaffStore = staff{}

func (t *tx) Staff() milogin.StaffStore { return staff{t} }

func scanStaffGrant(s scanner) (milogin.StaffGrant, error) {
	var (
		g    milogin.StaffGrant
		role string
		at   int64
	)
	err := s.Scan(&g.AccountID, &role, &g.AppID, &at)
	g.Role, g.CreatedAt = milogin.StaffRole(role), fromDB(at)
	return g, err
}

func (r staff) Roles(ctx context.Context, accountID string) ([]milogin.StaffGrant, error) {
	return queryAll(ctx, r.t.q, "sqlstore.Staff.Roles", scanStaffGrant,
		`SELECT account_id, role, app_id, created_at FROM staff_roles WHERE account_id = $1 ORDER BY role, app_id`, accountID)
}

func (r staff) List(ctx context.Context) ([]milogin.StaffGrant, error) {
	return queryAll(ctx, r.t.q, "sqlstore.Staff.List", scanStaffGrant,
		`SELECT account_id, role, app_id, created_at FROM staff_roles ORDER BY account_id, role, app_id`)
}

func (r staff) SetRoles(ctx context.Context, accountID string, roles []milogin.StaffGrant) error {
	const op = "sqlstore.Staff.SetRoles"
	if err := r.t.writable(op); err != nil {
		return err
	}
	if _, err := r.t.q.ExecContext(ctx, `DELETE FROM staff_roles WHERE account_id = $1`, accountID); err != nil {
		return milogin.Wrap(op, err)
	}
	for _, g := range roles {
		if _, err := r.t.q.ExecContext(ctx, `INSERT INTO staff_roles (account_id, role, app_id, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, accountID, string(g.Role), g.AppID, toDB(g.CreatedAt)); err != nil {
			return milogin.Wrap(op, err)
		}
	}
	return nil
}
