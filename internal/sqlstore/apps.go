package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"milogin"
)

const msgNoApp = "Application not found."

type apps struct{ t *tx }

var _ milogin.AppStore = apps{}

const appCols = `id, name, category, portals, launch_url, approval, mfa, terms_text, terms_version, contact, client_id, client, created_at, updated_at`

// clientJSON is the stored form of milogin.Client less its ID, which has its
// own unique column.
type clientJSON struct {
	SecretHash           string   `json:"secret_hash,omitempty"`
	Public               bool     `json:"public,omitempty"`
	RedirectURIs         []string `json:"redirect_uris"`
	PostLogoutURIs       []string `json:"post_logout_uris"`
	BackchannelLogoutURI string   `json:"backchannel_logout_uri,omitempty"`
	GrantTypes           []string `json:"grant_types"`
}

func scanApp(s scanner) (*milogin.Application, error) {
	var (
		a                      milogin.Application
		portals, approval, mfa string
		clientID, client       string
		created, updated       int64
	)
	if err := s.Scan(&a.ID, &a.Name, &a.Category, &portals, &a.LaunchURL, &approval, &mfa,
		&a.TermsText, &a.TermsVersion, &a.Contact, &clientID, &client, &created, &updated); err != nil {
		return nil, err
	}
	var ps []string
	if err := json.Unmarshal([]byte(portals), &ps); err != nil {
		return nil, err
	}
	for _, p := range ps {
		a.Portals = append(a.Portals, milogin.PortalID(p))
	}
	var c clientJSON
	if err := json.Unmarshal([]byte(client), &c); err != nil {
		return nil, err
	}
	a.Approval = milogin.ApprovalModel(approval)
	a.MFA = milogin.MFAPolicy(mfa)
	a.Client = milogin.Client{ID: clientID, SecretHash: c.SecretHash, Public: c.Public,
		RedirectURIs: c.RedirectURIs, PostLogoutURIs: c.PostLogoutURIs,
		BackchannelLogoutURI: c.BackchannelLogoutURI, GrantTypes: c.GrantTypes}
	a.CreatedAt = fromDB(created)
	a.UpdatedAt = fromDB(updated)
	return &a, nil
}

func appArgs(a *milogin.Application) ([]any, error) {
	ps := make([]string, 0, len(a.Portals))
	for _, p := range a.Portals {
		ps = append(ps, string(p))
	}
	portals, err := json.Marshal(ps)
	if err != nil {
		return nil, err
	}
	c := a.Client
	client, err := json.Marshal(clientJSON{SecretHash: c.SecretHash, Public: c.Public,
		RedirectURIs: nonNilStrings(c.RedirectURIs), PostLogoutURIs: nonNilStrings(c.PostLogoutURIs),
		BackchannelLogoutURI: c.BackchannelLogoutURI, GrantTypes: nonNilStrings(c.GrantTypes)})
	if err != nil {
		return nil, err
	}
	return []any{a.ID, a.Name, a.Category, string(portals), a.LaunchURL, string(a.Approval), string(a.MFA),
		a.TermsText, a.TermsVersion, a.Contact, c.ID, string(client), toDB(a.CreatedAt), toDB(a.UpdatedAt)}, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func appConflict(constraint string) string {
	if strings.Contains(constraint, "client_id") {
		return "That client ID is already registered."
	}
	return "An application with that ID already exists."
}

func (r apps) Create(ctx context.Context, a *milogin.Application) error {
	const op = "sqlstore.Apps.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	args, err := appArgs(a)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	_, err = r.t.q.ExecContext(ctx, `INSERT INTO apps (`+appCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, args...)
	if err != nil {
		return r.t.conflictOr(op, err, appConflict)
	}
	return nil
}

func (r apps) getOne(ctx context.Context, op, where string, arg any) (*milogin.Application, error) {
	a, err := scanApp(r.t.q.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, msgNoApp)
	}
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return a, nil
}

func (r apps) Get(ctx context.Context, id string) (*milogin.Application, error) {
	return r.getOne(ctx, "sqlstore.Apps.Get", "id = $1", id)
}

func (r apps) GetByClientID(ctx context.Context, clientID string) (*milogin.Application, error) {
	return r.getOne(ctx, "sqlstore.Apps.GetByClientID", "client_id = $1", clientID)
}

func (r apps) Update(ctx context.Context, id string, fn func(*milogin.Application) error) (*milogin.Application, error) {
	const op = "sqlstore.Apps.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	a, err := r.getOne(ctx, op, "id = $1"+r.t.d.ForUpdate, id)
	if err != nil {
		return nil, err
	}
	if err := fn(a); err != nil {
		return nil, err
	}
	a.ID = id
	args, err := appArgs(a)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	_, err = r.t.q.ExecContext(ctx, `UPDATE apps SET name = $2, category = $3, portals = $4, launch_url = $5,
		approval = $6, mfa = $7, terms_text = $8, terms_version = $9, contact = $10, client_id = $11,
		client = $12, created_at = $13, updated_at = $14 WHERE id = $1`, args...)
	if err != nil {
		return nil, r.t.conflictOr(op, err, appConflict)
	}
	return a, nil
}

func (r apps) List(ctx context.Context, portal milogin.PortalID) ([]*milogin.Application, error) {
	const op = "sqlstore.Apps.List"
	rows, err := r.t.q.QueryContext(ctx, `SELECT `+appCols+` FROM apps ORDER BY name, id`)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	defer rows.Close()
	var list []*milogin.Application
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		// The catalog is small; filtering the JSON portal list here keeps
		// the SQL the same on both engines.
		if portal == "" || a.InPortal(portal) {
			list = append(list, a)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return list, nil
}

func (r apps) Delete(ctx context.Context, id string) error {
	const op = "sqlstore.Apps.Delete"
	if err := r.t.writable(op); err != nil {
		return err
	}
	n, err := deleteCount(ctx, r.t.q, op, `DELETE FROM apps WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op, msgNoApp)
	}
	return nil
}
