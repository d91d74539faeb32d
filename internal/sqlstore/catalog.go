package sqlstore

import (
	"context"
	"slices"
	"sync/atomic"

	"milogin"
)

// catalogCache keeps the application catalog decoded in memory for
// Store.Read, checked against the database on every use.
//
// Every signed-in page lists the portal's applications and every token
// request looks its client up; reading and decoding the catalog each time
// cost a sixth of a signed-in page, and grows with the catalog. A trigger
// on apps (migration 01102) bumps catalog_version in the same transaction
// as any change to an application, by this process or any other (a node,
// the command line), so one indexed read of one integer says whether the
// copy here is current. Nothing is ever served stale: a change committed
// before a read started is seen by it, as without the cache.
//
// Write transactions read the table itself: what they read is what they
// update, under their locks.
type catalogCache struct {
	cur atomic.Pointer[catalogSnap]
}

// catalogSnap is the whole catalog at one version.
type catalogSnap struct {
	version    int64
	all        []*milogin.Application // by name, then ID
	byID       map[string]*milogin.Application
	byClientID map[string]*milogin.Application
}

const (
	qCatalogVersion = `SELECT version FROM catalog_version WHERE id = $1`
	// qCatalogVersionOne is the same, as a subquery of another statement.
	qCatalogVersionOne = `SELECT version FROM catalog_version WHERE id = 1`
)

// snapshot returns the catalog as the database holds it now, or as it held
// it when this request's scope (milogin.StoreScope) learned its version.
// Either way no change committed before the request's first read of the
// version is missed.
func (c *catalogCache) snapshot(ctx context.Context, q querier, op string) (*catalogSnap, error) {
	sc := milogin.StoreScopeOf(ctx)
	v, ok := c.scoped(sc)
	if !ok {
		if err := q.QueryRowContext(ctx, qCatalogVersion, 1).Scan(&v); err != nil {
			return nil, milogin.Wrap(op, err)
		}
		c.learned(sc, v)
	}
	// A copy at least as new as v is served: newer than the request's
	// version is never stale.
	if s := c.cur.Load(); s != nil && s.version >= v {
		return s, nil
	}
	// The version is read before the rows: a change committed in between
	// leaves rows newer than the version they are filed under, and the
	// next read, seeing a higher version, loads them again. Never older.
	all, err := allApps(ctx, q, op)
	if err != nil {
		return nil, err
	}
	s := &catalogSnap{version: v, all: all, byID: map[string]*milogin.Application{}, byClientID: map[string]*milogin.Application{}}
	for _, a := range all {
		s.byID[a.ID] = a
		if a.Client.ID != "" {
			s.byClientID[a.Client.ID] = a
		}
	}
	for {
		old := c.cur.Load()
		if old != nil && old.version >= v || c.cur.CompareAndSwap(old, s) {
			return s, nil
		}
	}
}

// scoped returns the version the request's scope holds for this catalog.
func (c *catalogCache) scoped(sc *milogin.StoreScope) (int64, bool) {
	v, ok := sc.Load(c)
	if !ok {
		return 0, false
	}
	return v.(int64), true
}

// learned keeps v as the catalog's version for the rest of the request.
// Keyed by the cache: a request that reads two databases keeps each one's.
func (c *catalogCache) learned(sc *milogin.StoreScope, v int64) { sc.Keep(c, v) }

// cloneApp is a copy of a that shares nothing with it: the snapshot's
// applications are handed out as copies, which their callers may change.
func cloneApp(a *milogin.Application) *milogin.Application {
	c := *a
	c.Portals = slices.Clone(a.Portals)
	c.Client.RedirectURIs = slices.Clone(a.Client.RedirectURIs)
	c.Client.PostLogoutURIs = slices.Clone(a.Client.PostLogoutURIs)
	c.Client.GrantTypes = slices.Clone(a.Client.GrantTypes)
	return &c
}
