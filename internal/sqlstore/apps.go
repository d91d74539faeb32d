package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"

	"milogin"
)

const (
	msgNoApp        = "Application not found."
	msgAppIDTaken   = "An application with that ID already exists."
	msgClientIDUsed = "That client ID is already registered."
)

type apps struct{ t *tx }

var _ milogin.AppStore = apps{}

const appCols = `id, name, category, portals, launch_url, approval, mfa, terms_text, terms_version,
	contact, client_id, client_secret_hash, client_public, redirect_uris, post_logout_uris,
	backchannel_logout_uri, grant_types, created_at, updated_at, id_token_alg, initiate_login_uri`

// jsonList stores a list as a JSON array ("[]" when empty).
func jsonList[T any](v []T) (string, error) {
	if len(v) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// parseList reads a JSON array; an empty one reads back as nil.
func parseList[T any](s string) ([]T, error) {
	var v []T
	if s == "" {
		return nil, nil
	}
	if strs, ok := splitJSONStrings(s); ok {
		if len(strs) == 0 {
			return nil, nil
		}
		// Lists of plain strings only; a list of another type (portal
		// IDs) goes through encoding/json below.
		if out, ok := any(strs).([]T); ok {
			return out, nil
		}
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

func scanApp(s scanner) (*milogin.Application, error) {
	var (
		a                                          milogin.Application
		approval, mfa                              string
		portals, redirects, postLogout, grantTypes string
		created, updated                           int64
	)
	err := s.Scan(&a.ID, &a.Name, &a.Category, &portals, &a.LaunchURL, &approval, &mfa, &a.TermsText,
		&a.TermsVersion, &a.Contact, &a.Client.ID, &a.Client.SecretHash, &a.Client.Public, &redirects,
		&postLogout, &a.Client.BackchannelLogoutURI, &grantTypes, &created, &updated, &a.Client.IDTokenAlg,
		&a.Client.InitiateLoginURI)
	if err != nil {
		return nil, err
	}
	a.Approval = milogin.ApprovalModel(approval)
	a.MFA = milogin.MFAPolicy(mfa)
	a.CreatedAt, a.UpdatedAt = fromDB(created), fromDB(updated)
	if a.Portals, err = parseList[milogin.PortalID](portals); err != nil {
		return nil, err
	}
	if a.Client.RedirectURIs, err = parseList[string](redirects); err != nil {
		return nil, err
	}
	if a.Client.PostLogoutURIs, err = parseList[string](postLogout); err != nil {
		return nil, err
	}
	if a.Client.GrantTypes, err = parseList[string](grantTypes); err != nil {
		return nil, err
	}
	return &a, nil
}

// appArgs returns the values of appCols in order.
func appArgs(a *milogin.Application) ([]any, error) {
	var lists [4]string
	var err error
	if lists[0], err = jsonList(a.Portals); err != nil {
		return nil, err
	}
	if lists[1], err = jsonList(a.Client.RedirectURIs); err != nil {
		return nil, err
	}
	if lists[2], err = jsonList(a.Client.PostLogoutURIs); err != nil {
		return nil, err
	}
	if lists[3], err = jsonList(a.Client.GrantTypes); err != nil {
		return nil, err
	}
	return []any{a.ID, a.Name, a.Category, lists[0], a.LaunchURL, string(a.Approval), string(a.MFA),
		a.TermsText, a.TermsVersion, a.Contact, a.Client.ID, a.Client.SecretHash, a.Client.Public,
		lists[1], lists[2], a.Client.BackchannelLogoutURI, lists[3], toDB(a.CreatedAt), toDB(a.UpdatedAt),
		a.Client.IDTokenAlg, a.Client.InitiateLoginURI}, nil
}

func appConflict(constraint string) string {
	if strings.Contains(constraint, "client_id") {
		return msgClientIDUsed
	}
	return msgAppIDTaken
}

// Create adds an application. The client ID is unique when not empty (an
// application without an OpenID Connect client has none).
func (r apps) Create(ctx context.Context, a *milogin.Application) error {
	const op = "sqlstore.Apps.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	if a.ID == "" {
		return &milogin.Error{Op: op, Kind: milogin.EINVALID, Msg: "An application needs an ID."}
	}
	args, err := appArgs(a)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	err = r.t.savepoint(ctx, func() error {
		_, err := r.t.q.ExecContext(ctx, `INSERT INTO apps (`+appCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`, args...)
		return err
	})
	if err != nil {
		return r.t.conflictOr(op, err, appConflict)
	}
	return nil
}

func (r apps) getOne(ctx context.Context, op, where string, args ...any) (*milogin.Application, error) {
	return queryOne(ctx, r.t.q, op, msgNoApp, scanApp, `SELECT `+appCols+` FROM apps WHERE `+where, args...)
}

func (r apps) Get(ctx context.Context, id string) (*milogin.Application, error) {
	const op = "sqlstore.Apps.Get"
	if r.t.catalog != nil {
		return r.fromCatalog(ctx, op, func(s *catalogSnap) *milogin.Application { return s.byID[id] })
	}
	return r.getOne(ctx, op, whereAppByID, id)
}

func (r apps) GetByClientID(ctx context.Context, clientID string) (*milogin.Application, error) {
	const op = "sqlstore.Apps.GetByClientID"
	if clientID == "" {
		return nil, notFound(op, msgNoApp)
	}
	if r.t.catalog != nil {
		return r.fromCatalog(ctx, op, func(s *catalogSnap) *milogin.Application { return s.byClientID[clientID] })
	}
	return r.getOne(ctx, op, whereAppByClientID, clientID)
}

// fromCatalog looks an application up in the current catalog (a Read).
func (r apps) fromCatalog(ctx context.Context, op string, find func(*catalogSnap) *milogin.Application) (*milogin.Application, error) {
	s, err := r.t.catalog.snapshot(ctx, r.t.q, op)
	if err != nil {
		return nil, err
	}
	a := find(s)
	if a == nil {
		return nil, notFound(op, msgNoApp)
	}
	return cloneApp(a), nil
}

// Update loads the application (locked on PostgreSQL), applies fn and saves
// it; the ID cannot change.
func (r apps) Update(ctx context.Context, id string, fn func(*milogin.Application) error) (*milogin.Application, error) {
	const op = "sqlstore.Apps.Update"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	a, err := r.getOne(ctx, op, whereAppByID+r.t.d.ForUpdate, id)
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
	err = r.t.savepoint(ctx, func() error {
		_, err := r.t.q.ExecContext(ctx, `UPDATE apps SET name = $2, category = $3, portals = $4,
			launch_url = $5, approval = $6, mfa = $7, terms_text = $8, terms_version = $9, contact = $10,
			client_id = $11, client_secret_hash = $12, client_public = $13, redirect_uris = $14,
			post_logout_uris = $15, backchannel_logout_uri = $16, grant_types = $17,
			created_at = $18, updated_at = $19, id_token_alg = $20, initiate_login_uri = $21
			WHERE id = $1`, args...)
		return err
	})
	if err != nil {
		return nil, r.t.conflictOr(op, err, appConflict)
	}
	stored(&a.CreatedAt, &a.UpdatedAt)
	// Lists read back nil when empty.
	for _, l := range []*[]string{&a.Client.RedirectURIs, &a.Client.PostLogoutURIs, &a.Client.GrantTypes} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(a.Portals) == 0 {
		a.Portals = nil
	}
	return a, nil
}

// List returns the applications offered in portal ("" for all), by name. The
// catalog is small: the portal filter and the sort run in Go, which keeps the
// order the same on both engines whatever the database collation.
func (r apps) List(ctx context.Context, portal milogin.PortalID) ([]*milogin.Application, error) {
	const op = "sqlstore.Apps.List"
	if r.t.catalog != nil {
		s, err := r.t.catalog.snapshot(ctx, r.t.q, op)
		if err != nil {
			return nil, err
		}
		var list []*milogin.Application
		for _, a := range s.all {
			if portal == "" || a.InPortal(portal) {
				list = append(list, cloneApp(a))
			}
		}
		return list, nil
	}
	all, err := allApps(ctx, r.t.q, op)
	if err != nil {
		return nil, err
	}
	var list []*milogin.Application
	for _, a := range all {
		if portal == "" || a.InPortal(portal) {
			list = append(list, a)
		}
	}
	return list, nil
}

// allApps reads the whole catalog, by name and then ID.
func allApps(ctx context.Context, q querier, op string) ([]*milogin.Application, error) {
	all, err := queryAll(ctx, q, op, scanApp, `SELECT `+appCols+` FROM apps`)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b *milogin.Application) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return all, nil
}

// Delete removes an application and, by the schema's ON DELETE CASCADE, its
// grants and terms acceptances: access must not come back if an application
// with the same ID is created again.
func (r apps) Delete(ctx context.Context, id string) error {
	const op = "sqlstore.Apps.Delete"
	if err := r.t.writable(op); err != nil {
		return err
	}
	res, err := r.t.q.ExecContext(ctx, `DELETE FROM apps WHERE id = $1`, id)
	return rowsAffected(op, res, err, msgNoApp)
}
