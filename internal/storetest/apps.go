package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"milogin"
)

func app(id, name string, portals ...milogin.PortalID) *milogin.Application {
	return &milogin.Application{
		ID:           id,
		Name:         name,
		Category:     "Administration",
		Portals:      portals,
		LaunchURL:    "https://" + id + ".example.org/login",
		Approval:     milogin.ApprovalRequired,
		MFA:          milogin.MFADaily,
		TermsText:    "You agree to use this system for official business only.",
		TermsVersion: 2,
		Contact:      "your MWA Administrator",
		Client: milogin.Client{
			ID:                   id + "-client",
			SecretHash:           "$argon2id$secret",
			RedirectURIs:         []string{"https://" + id + ".example.org/callback", "https://" + id + ".example.org/cb2"},
			PostLogoutURIs:       []string{"https://" + id + ".example.org/"},
			BackchannelLogoutURI: "https://" + id + ".example.org/bcl",
			GrantTypes:           []string{"authorization_code", "refresh_token"},
			InitiateLoginURI:     "https://" + id + ".example.org/oidc/initiate",
		},
		CreatedAt: t0,
		UpdatedAt: t0.Add(time.Second),
	}
}

func normApp(a *milogin.Application) *milogin.Application {
	c := *a
	c.CreatedAt, c.UpdatedAt = norm(c.CreatedAt), norm(c.UpdatedAt)
	nilIfEmpty := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return append([]string(nil), s...)
	}
	c.Client.RedirectURIs = nilIfEmpty(c.Client.RedirectURIs)
	c.Client.PostLogoutURIs = nilIfEmpty(c.Client.PostLogoutURIs)
	c.Client.GrantTypes = nilIfEmpty(c.Client.GrantTypes)
	if len(c.Portals) == 0 {
		c.Portals = nil
	}
	return &c
}

func createApps(t *testing.T, s milogin.Store, as ...*milogin.Application) {
	t.Helper()
	write(t, s, func(tx milogin.Tx) error {
		for _, a := range as {
			if err := tx.Apps().Create(ctx(t), a); err != nil {
				return err
			}
		}
		return nil
	})
}

func getApp(t *testing.T, s milogin.Store, id string) *milogin.Application {
	t.Helper()
	var a *milogin.Application
	read(t, s, func(tx milogin.Tx) (err error) {
		a, err = tx.Apps().Get(ctx(t), id)
		return err
	})
	return a
}

func testApps(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("ReadsAreCurrent", func(t *testing.T) {
		s := open(t)
		CatalogChangesSeen(t, s, s)
	})
	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		a := app("osmis", "One-Stop Management Information System (OSMIS)", milogin.ThirdParty, milogin.Workforce)
		bare := &milogin.Application{ID: "bare", Name: "No client, no lists"}
		public := app("cars", "CARS e-Services", milogin.Citizen)
		public.Client.SecretHash, public.Client.Public = "", true
		createApps(t, s, a, bare, public)
		wantEqual(t, "Get", getApp(t, s, a.ID), normApp(a))
		wantEqual(t, "Get bare", getApp(t, s, bare.ID), normApp(bare))
		wantEqual(t, "Get public", getApp(t, s, public.ID), normApp(public))
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "GetByClientID", must(tx.Apps().GetByClientID(ctx(t), "osmis-client")), normApp(a))
			return nil
		})
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		a := app("osmis", "OSMIS", milogin.Workforce)
		noClient1 := &milogin.Application{ID: "n1", Name: "n1"}
		noClient2 := &milogin.Application{ID: "n2", Name: "n2"}
		// Applications without a client do not collide on the empty client ID.
		createApps(t, s, a, noClient1, noClient2)
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Apps().Get(ctx(t), "missing")
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Apps().GetByClientID(ctx(t), "missing")
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Apps().GetByClientID(ctx(t), "")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
		dupID := app("osmis", "Another", milogin.Citizen)
		dupID.Client.ID = "another-client"
		dupClient := app("other", "Other", milogin.Citizen)
		dupClient.Client.ID = a.Client.ID
		for name, x := range map[string]*milogin.Application{"same ID": dupID, "same client ID": dupClient} {
			err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Apps().Create(ctx(t), x) })
			wantKind(t, err, milogin.ECONFLICT)
			t.Logf("%s: %s", name, milogin.ErrorMessage(err))
		}
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Apps().Update(ctx(t), "missing", func(*milogin.Application) error { return nil })
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
		err = s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Apps().Delete(ctx(t), "missing") })
		wantKind(t, err, milogin.ENOTFOUND)
		wantEqual(t, "untouched", getApp(t, s, a.ID), normApp(a))
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		a, b := app("osmis", "OSMIS", milogin.Workforce), app("cars", "CARS", milogin.Citizen)
		createApps(t, s, a, b)
		var returned *milogin.Application
		write(t, s, func(tx milogin.Tx) (err error) {
			returned, err = tx.Apps().Update(ctx(t), a.ID, func(x *milogin.Application) error {
				wantEqual(t, "fn receives", x, normApp(a))
				x.TermsVersion = 3
				x.Portals = append(x.Portals, milogin.ThirdParty)
				x.Client.RedirectURIs = nil
				x.Client.InitiateLoginURI = ""
				x.UpdatedAt = t0.Add(time.Hour + time.Nanosecond)
				return nil
			})
			return err
		})
		a.TermsVersion, a.Portals, a.Client.RedirectURIs, a.UpdatedAt = 3, []milogin.PortalID{milogin.Workforce, milogin.ThirdParty}, nil, t0.Add(time.Hour)
		a.Client.InitiateLoginURI = ""
		wantEqual(t, "returned", returned, normApp(a))
		wantEqual(t, "stored", getApp(t, s, a.ID), normApp(a))

		// fn's error comes back unchanged; a taken client ID is a conflict;
		// neither saves anything.
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.Apps().Update(ctx(t), a.ID, func(x *milogin.Application) error { x.Name = "x"; return errBoom })
			if err != errBoom {
				t.Errorf("Update returned %v, want fn's error unchanged", err)
			}
			_, err = tx.Apps().Update(ctx(t), a.ID, func(x *milogin.Application) error { x.Client.ID = b.Client.ID; return nil })
			wantKind(t, err, milogin.ECONFLICT)
			return nil
		})
		wantEqual(t, "after failed updates", getApp(t, s, a.ID), normApp(a))
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		apps := []*milogin.Application{
			app("zeta", "Zeta Reporting", milogin.Workforce),
			app("cars", "CARS e-Services", milogin.Citizen, milogin.ThirdParty),
			app("osmis", "OSMIS", milogin.ThirdParty, milogin.Workforce),
			app("alpha", "Alpha", milogin.Citizen),
		}
		createApps(t, s, apps...)
		ids := func(portal milogin.PortalID) []string {
			var out []string
			read(t, s, func(tx milogin.Tx) error {
				for _, a := range must(tx.Apps().List(ctx(t), portal)) {
					out = append(out, a.ID)
				}
				return nil
			})
			return out
		}
		wantEqual(t, "all, by name", ids(""), []string{"alpha", "cars", "osmis", "zeta"})
		wantEqual(t, "third party", ids(milogin.ThirdParty), []string{"cars", "osmis"})
		wantEqual(t, "workforce", ids(milogin.Workforce), []string{"osmis", "zeta"})
	})

	// Deleting an application takes its grants and terms acceptances with
	// it: an application created again under the same ID starts clean.
	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		a := app("osmis", "OSMIS", milogin.Workforce)
		acct := account(1, milogin.Workforce)
		createAccounts(t, s, acct)
		createApps(t, s, a)
		write(t, s, func(tx milogin.Tx) error {
			if err := tx.Grants().Put(ctx(t), &milogin.Grant{AppID: a.ID, AccountID: acct.ID, Status: milogin.GrantActive, RequestedAt: t0}); err != nil {
				return err
			}
			return tx.Grants().AcceptTerms(ctx(t), &milogin.TermsAcceptance{AppID: a.ID, AccountID: acct.ID, Version: 2, AcceptedAt: t0})
		})
		write(t, s, func(tx milogin.Tx) error { return tx.Apps().Delete(ctx(t), a.ID) })
		createApps(t, s, app("osmis", "OSMIS again", milogin.Workforce))
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Grants().Get(ctx(t), a.ID, acct.ID)
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Grants().Terms(ctx(t), a.ID, acct.ID)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})
}

func testGrants(t *testing.T, open func(t *testing.T) milogin.Store) {
	// setup creates two applications and three accounts.
	setup := func(t *testing.T) (milogin.Store, []*milogin.Application, []*milogin.Account) {
		s := open(t)
		apps := []*milogin.Application{app("osmis", "OSMIS", milogin.ThirdParty), app("cars", "CARS", milogin.ThirdParty)}
		accts := []*milogin.Account{account(1, milogin.ThirdParty), account(2, milogin.ThirdParty), account(3, milogin.ThirdParty)}
		createApps(t, s, apps...)
		createAccounts(t, s, accts...)
		return s, apps, accts
	}
	normGrant := func(g *milogin.Grant) *milogin.Grant {
		c := *g
		c.RequestedAt, c.DecidedAt = norm(c.RequestedAt), norm(c.DecidedAt)
		return &c
	}
	put := func(t *testing.T, s milogin.Store, gs ...*milogin.Grant) {
		t.Helper()
		write(t, s, func(tx milogin.Tx) error {
			for _, g := range gs {
				if err := tx.Grants().Put(ctx(t), g); err != nil {
					return err
				}
			}
			return nil
		})
	}

	t.Run("PutAndGet", func(t *testing.T) {
		s, apps, accts := setup(t)
		g := &milogin.Grant{AppID: apps[0].ID, AccountID: accts[0].ID, Status: milogin.GrantPending, RequestedAt: t0}
		put(t, s, g)
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "pending", must(tx.Grants().Get(ctx(t), g.AppID, g.AccountID)), normGrant(g))
			_, err := tx.Grants().Get(ctx(t), apps[1].ID, accts[0].ID)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
		// Put replaces the grant of the same (application, account).
		decided := *g
		decided.Status, decided.DecidedAt, decided.DecidedBy, decided.Reason = milogin.GrantDenied, t0.Add(time.Hour), "staff-1", "Not an MWA employee"
		put(t, s, &decided)
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "decided", must(tx.Grants().Get(ctx(t), g.AppID, g.AccountID)), normGrant(&decided))
			wantEqual(t, "one grant", len(must(tx.Grants().ListByAccount(ctx(t), accts[0].ID))), 1)
			return nil
		})
	})

	// In a request's scope (milogin.StoreScope) the session read brings the
	// account's grants along, and ListByAccount answers from them: the same
	// grants in the same order, copies the caller may change, until the
	// request writes.
	t.Run("InARequestsScope", func(t *testing.T) {
		s, apps, accts := setup(t)
		gs := []*milogin.Grant{
			{AppID: apps[0].ID, AccountID: accts[0].ID, Status: milogin.GrantActive, RequestedAt: t0.Add(3 * time.Minute), DecidedBy: "self"},
			{AppID: apps[1].ID, AccountID: accts[0].ID, Status: milogin.GrantDenied, RequestedAt: t0, DecidedAt: t0.Add(time.Hour), DecidedBy: "staff-1", Reason: "Not an \"MWA\" employee"},
			{AppID: apps[0].ID, AccountID: accts[1].ID, Status: milogin.GrantPending, RequestedAt: t0},
		}
		put(t, s, gs...)
		write(t, s, func(tx milogin.Tx) error {
			for i, a := range accts[:3] {
				if err := tx.Sessions().Create(ctx(t), session(fmt.Sprintf("scope-%d", i), a, t0)); err != nil {
					return err
				}
			}
			return nil
		})
		list := func(c context.Context, sessionID, accountID string) []*milogin.Grant {
			t.Helper()
			var out []*milogin.Grant
			read(t, s, func(tx milogin.Tx) error {
				if sessionID != "" {
					sess, acct, err := tx.Sessions().GetWithAccount(c, sessionID)
					if err != nil {
						return err
					}
					wantEqual(t, "session's account", sess.AccountID, acct.ID)
				}
				out = must(tx.Grants().ListByAccount(c, accountID))
				return nil
			})
			return out
		}
		want := []*milogin.Grant{normGrant(gs[1]), normGrant(gs[0])}
		req := milogin.WithStoreScope(ctx(t))
		wantEqual(t, "with the session, in order of request", list(req, "scope-0", accts[0].ID), want)
		got := list(req, "", accts[0].ID)
		wantEqual(t, "again in the scope", got, want)
		got[0].Status = milogin.GrantRevoked
		wantEqual(t, "after the caller changed its copy", list(req, "", accts[0].ID), want)
		wantEqual(t, "another account in the same scope", list(req, "", accts[1].ID), []*milogin.Grant{normGrant(gs[2])})
		wantEqual(t, "an account without grants", len(list(milogin.WithStoreScope(ctx(t)), "scope-2", accts[2].ID)), 0)

		// Grants.Get answers from the same scope: the grant, a copy of it,
		// and "not found" for an application the account has none for.
		get := func(c context.Context, appID, accountID string) (*milogin.Grant, error) {
			t.Helper()
			var g *milogin.Grant
			var err error
			read(t, s, func(tx milogin.Tx) error {
				g, err = tx.Grants().Get(c, appID, accountID)
				return nil
			})
			return g, err
		}
		getOK := func(c context.Context, appID, accountID string) *milogin.Grant {
			t.Helper()
			g, err := get(c, appID, accountID)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		g := getOK(req, apps[1].ID, accts[0].ID)
		wantEqual(t, "one grant in the scope", g, normGrant(gs[1]))
		g.Reason = "changed by the caller"
		wantEqual(t, "after the caller changed its copy of one", getOK(req, apps[1].ID, accts[0].ID), normGrant(gs[1]))
		scope2 := milogin.WithStoreScope(ctx(t))
		list(scope2, "scope-2", accts[2].ID)
		_, err := get(scope2, apps[0].ID, accts[2].ID)
		wantKind(t, err, milogin.ENOTFOUND)
		_, err = get(req, apps[1].ID, accts[1].ID) // accts[1]'s grants are not in req's scope: from the database
		wantKind(t, err, milogin.ENOTFOUND)

		// The request's own write is seen by its next read.
		changed := *gs[0]
		changed.Status, changed.DecidedAt, changed.DecidedBy = milogin.GrantRevoked, t0.Add(2*time.Hour), "staff-2"
		if err := s.Write(req, func(tx milogin.Tx) error { return tx.Grants().Put(req, &changed) }); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "after the request's write", list(req, "", accts[0].ID), []*milogin.Grant{normGrant(gs[1]), normGrant(&changed)})
		list(req, "scope-0", accts[0].ID)
		wantEqual(t, "one grant, read again with the session after the write", getOK(req, apps[0].ID, accts[0].ID), normGrant(&changed))
		// A session that does not exist is not found, in a scope as outside.
		read(t, s, func(tx milogin.Tx) error {
			_, _, err := tx.Sessions().GetWithAccount(milogin.WithStoreScope(ctx(t)), "nobody")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("Lists", func(t *testing.T) {
		s, apps, accts := setup(t)
		gs := []*milogin.Grant{
			{AppID: apps[0].ID, AccountID: accts[0].ID, Status: milogin.GrantActive, RequestedAt: t0.Add(3 * time.Minute)},
			{AppID: apps[0].ID, AccountID: accts[1].ID, Status: milogin.GrantPending, RequestedAt: t0.Add(time.Minute)},
			{AppID: apps[0].ID, AccountID: accts[2].ID, Status: milogin.GrantPending, RequestedAt: t0.Add(2 * time.Minute)},
			{AppID: apps[1].ID, AccountID: accts[0].ID, Status: milogin.GrantRevoked, RequestedAt: t0},
		}
		put(t, s, gs...)
		want := func(is ...int) []*milogin.Grant {
			var out []*milogin.Grant
			for _, i := range is {
				out = append(out, normGrant(gs[i]))
			}
			return out
		}
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "by account, in order of request", must(tx.Grants().ListByAccount(ctx(t), accts[0].ID)), want(3, 0))
			wantEqual(t, "by app", must(tx.Grants().ListByApp(ctx(t), apps[0].ID, "")), want(1, 2, 0))
			wantEqual(t, "by app, pending (the approval queue)", must(tx.Grants().ListByApp(ctx(t), apps[0].ID, milogin.GrantPending)), want(1, 2))
			wantEqual(t, "none", len(must(tx.Grants().ListByApp(ctx(t), apps[1].ID, milogin.GrantActive))), 0)
			return nil
		})
	})

	t.Run("Terms", func(t *testing.T) {
		s, apps, accts := setup(t)
		accept := func(version int, at time.Time) {
			write(t, s, func(tx milogin.Tx) error {
				return tx.Grants().AcceptTerms(ctx(t), &milogin.TermsAcceptance{AppID: apps[0].ID, AccountID: accts[0].ID, Version: version, AcceptedAt: at})
			})
		}
		terms := func() *milogin.TermsAcceptance {
			var ta *milogin.TermsAcceptance
			read(t, s, func(tx milogin.Tx) (err error) {
				ta, err = tx.Grants().Terms(ctx(t), apps[0].ID, accts[0].ID)
				return err
			})
			return ta
		}
		err := s.Read(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Grants().Terms(ctx(t), apps[0].ID, accts[0].ID)
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
		accept(1, t0)
		accept(2, t0.Add(time.Hour))
		want := &milogin.TermsAcceptance{AppID: apps[0].ID, AccountID: accts[0].ID, Version: 2, AcceptedAt: norm(t0.Add(time.Hour))}
		wantEqual(t, "latest version", terms(), want)
		// Accepting again (a double submit, an old version) changes nothing.
		accept(2, t0.Add(2*time.Hour))
		accept(1, t0.Add(3*time.Hour))
		wantEqual(t, "after accepting again", terms(), want)
		// Other applications and accounts are separate.
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Grants().Terms(ctx(t), apps[1].ID, accts[0].ID)
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Grants().Terms(ctx(t), apps[0].ID, accts[1].ID)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("MFA", func(t *testing.T) {
		s, apps, accts := setup(t)
		record := func(app string, method string, at time.Time) {
			write(t, s, func(tx milogin.Tx) error {
				return tx.Grants().RecordMFA(ctx(t), &milogin.MFAEvent{AccountID: accts[0].ID, AppID: app, Method: method, At: at})
			})
		}
		err := s.Read(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Grants().LastMFA(ctx(t), accts[0].ID, apps[0].ID)
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
		record(apps[0].ID, "email", t0.Add(time.Hour))
		record(apps[0].ID, "totp", t0) // recorded later, happened earlier
		record(apps[1].ID, "sms", t0.Add(2*time.Hour))
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "latest for osmis", must(tx.Grants().LastMFA(ctx(t), accts[0].ID, apps[0].ID)),
				&milogin.MFAEvent{AccountID: accts[0].ID, AppID: apps[0].ID, Method: "email", At: norm(t0.Add(time.Hour))})
			wantEqual(t, "latest for cars", must(tx.Grants().LastMFA(ctx(t), accts[0].ID, apps[1].ID)).Method, "sms")
			_, err := tx.Grants().LastMFA(ctx(t), accts[1].ID, apps[0].ID)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})
}

func testLoginRequests(t *testing.T, open func(t *testing.T) milogin.Store) {
	mk := func(id string, expires time.Time) *milogin.LoginRequest {
		return &milogin.LoginRequest{
			ID: id, Protocol: "oidc", Portal: milogin.ThirdParty, AppID: "osmis",
			CallbackURL: "/oidc/callback?id=" + id, ForceLogin: true, ForceMFA: false,
			CreatedAt: t0, ExpiresAt: expires,
		}
	}
	normLR := func(r *milogin.LoginRequest) *milogin.LoginRequest {
		c := *r
		c.CreatedAt, c.ExpiresAt, c.AuthTime, c.DoneAt = norm(c.CreatedAt), norm(c.ExpiresAt), norm(c.AuthTime), norm(c.DoneAt)
		if len(c.AMR) == 0 {
			c.AMR = nil
		}
		return &c
	}
	create := func(t *testing.T, s milogin.Store, rs ...*milogin.LoginRequest) {
		t.Helper()
		write(t, s, func(tx milogin.Tx) error {
			for _, r := range rs {
				if err := tx.LoginRequests().Create(ctx(t), r); err != nil {
					return err
				}
			}
			return nil
		})
	}
	get := func(t *testing.T, s milogin.Store, id string) (r *milogin.LoginRequest, err error) {
		t.Helper()
		err = s.Read(ctx(t), func(tx milogin.Tx) error {
			r, err = tx.LoginRequests().Get(ctx(t), id)
			return err
		})
		return r, err
	}

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		r := mk("lr1", t0.Add(10*time.Minute))
		create(t, s, r)
		got, err := get(t, s, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "Get", got, normLR(r))
		if got.Done() || !got.AuthTime.IsZero() {
			t.Errorf("a new request reads back done: %+v", got)
		}
	})

	t.Run("Refusal", func(t *testing.T) {
		s := open(t)
		r := mk("lr1", t0.Add(10*time.Minute))
		create(t, s, r)
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.LoginRequests().Update(ctx(t), r.ID, func(x *milogin.LoginRequest) error {
				x.Refusal, x.DoneAt = "access_denied", t0
				return nil
			})
			return err
		})
		got, err := get(t, s, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "Refusal", got.Refusal, "access_denied")
		if got.Done() {
			t.Error("a refused request reads back done")
		}
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		create(t, s, mk("lr1", t0))
		_, err := get(t, s, "missing")
		wantKind(t, err, milogin.ENOTFOUND)
		err = s.Write(ctx(t), func(tx milogin.Tx) error { return tx.LoginRequests().Create(ctx(t), mk("lr1", t0)) })
		wantKind(t, err, milogin.ECONFLICT)
		err = s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.LoginRequests().Update(ctx(t), "missing", func(*milogin.LoginRequest) error { return nil })
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		r := mk("lr1", t0.Add(10*time.Minute))
		create(t, s, r)
		var returned *milogin.LoginRequest
		write(t, s, func(tx milogin.Tx) (err error) {
			returned, err = tx.LoginRequests().Update(ctx(t), r.ID, func(x *milogin.LoginRequest) error {
				wantEqual(t, "fn receives", x, normLR(r))
				x.AccountID, x.SessionID = "acct-1", "sess-1"
				x.AuthTime, x.DoneAt = t0.Add(time.Minute), t0.Add(2*time.Minute)
				x.AMR = []string{"pwd", "mfa", "otp"}
				return nil
			})
			return err
		})
		r.AccountID, r.SessionID, r.AuthTime, r.DoneAt, r.AMR = "acct-1", "sess-1", t0.Add(time.Minute), t0.Add(2*time.Minute), []string{"pwd", "mfa", "otp"}
		wantEqual(t, "returned", returned, normLR(r))
		got, err := get(t, s, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "stored", got, normLR(r))
		if !got.Done() {
			t.Error("not done after completion")
		}
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.LoginRequests().Update(ctx(t), r.ID, func(x *milogin.LoginRequest) error { x.AccountID = "someone-else"; return errBoom })
			if err != errBoom {
				t.Errorf("Update returned %v, want fn's error unchanged", err)
			}
			return nil
		})
		got, _ = get(t, s, r.ID)
		wantEqual(t, "after failed update", got, normLR(r))
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		create(t, s, mk("past", t0.Add(-time.Second)), mk("now", t0), mk("future", t0.Add(time.Second)))
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.LoginRequests().DeleteExpired(ctx(t), t0)
			return err
		})
		wantEqual(t, "deleted", n, 2)
		if _, err := get(t, s, "future"); err != nil {
			t.Errorf("future: %v", err)
		}
	})
}

// CatalogChangesSeen checks that a Read on reader sees every change writer
// made to the catalog before it, at once: reader may keep the catalog in
// memory, but never serves it stale. writer and reader may be the same
// store or two on one database (two nodes). The applications a Read
// returns are the caller's to change.
func CatalogChangesSeen(t *testing.T, writer, reader milogin.Store) {
	t.Helper()
	get := func(id string) (*milogin.Application, error) {
		var a *milogin.Application
		err := reader.Read(ctx(t), func(tx milogin.Tx) (err error) {
			a, err = tx.Apps().Get(ctx(t), id)
			return err
		})
		return a, err
	}
	names := func(c ...context.Context) []string {
		in := ctx(t)
		if len(c) > 0 {
			in = c[0]
		}
		var out []string
		read(t, reader, func(tx milogin.Tx) error {
			for _, a := range must(tx.Apps().List(in, milogin.ThirdParty)) {
				out = append(out, a.Name)
			}
			return nil
		})
		return out
	}
	byClient := func(clientID string) (*milogin.Application, error) {
		var a *milogin.Application
		err := reader.Read(ctx(t), func(tx milogin.Tx) (err error) {
			a, err = tx.Apps().GetByClientID(ctx(t), clientID)
			return err
		})
		return a, err
	}

	a := app("forms", "Forms", milogin.ThirdParty)
	createApps(t, writer, a)
	if got := names(); len(got) != 1 || got[0] != "Forms" {
		t.Fatalf("List after Create = %v", got)
	}
	// Changed by the caller: the next read is not.
	got := must(get("forms"))
	got.Name = "changed by a caller"
	got.Client.RedirectURIs[0] = "https://evil.example/"
	if again := must(get("forms")); again.Name != "Forms" || again.Client.RedirectURIs[0] != a.Client.RedirectURIs[0] {
		t.Errorf("a caller's change to a returned application reached the next read: %q %v", again.Name, again.Client.RedirectURIs)
	}

	write(t, writer, func(tx milogin.Tx) error {
		_, err := tx.Apps().Update(ctx(t), "forms", func(x *milogin.Application) error {
			x.Name = "Forms Online"
			x.Client.RedirectURIs = []string{"https://forms.example.org/new"}
			return nil
		})
		return err
	})
	if got := must(get("forms")); got.Name != "Forms Online" || len(got.Client.RedirectURIs) != 1 {
		t.Errorf("Get after Update = %q %v", got.Name, got.Client.RedirectURIs)
	}
	if got := must(byClient("forms-client")); got.Client.RedirectURIs[0] != "https://forms.example.org/new" {
		t.Errorf("GetByClientID after Update: redirect URIs %v", got.Client.RedirectURIs)
	}
	createApps(t, writer, app("billing", "Billing", milogin.ThirdParty))
	if got := names(); len(got) != 2 || got[0] != "Billing" || got[1] != "Forms Online" {
		t.Errorf("List after a second Create = %v", got)
	}
	write(t, writer, func(tx milogin.Tx) error { return tx.Apps().Delete(ctx(t), "forms") })
	if _, err := get("forms"); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Errorf("Get after Delete: %v, want ENOTFOUND", err)
	}
	if _, err := byClient("forms-client"); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Errorf("GetByClientID after Delete: %v, want ENOTFOUND", err)
	}
	if got := names(); len(got) != 1 || got[0] != "Billing" {
		t.Errorf("List after Delete = %v", got)
	}

	// In a request's scope (milogin.StoreScope) the session read brings the
	// catalog's version along. A change before the request is seen; so is
	// the request's own change, on the store it wrote through.
	acct := account(90, milogin.ThirdParty)
	write(t, writer, func(tx milogin.Tx) error {
		if err := tx.Accounts().Create(ctx(t), acct); err != nil {
			return err
		}
		return tx.Sessions().Create(ctx(t), session("scoped", acct, t0))
	})
	rename := func(c context.Context, s milogin.Store, name string) {
		t.Helper()
		if err := s.Write(c, func(tx milogin.Tx) error {
			_, err := tx.Apps().Update(c, "billing", func(x *milogin.Application) error { x.Name = name; return nil })
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	scopedName := func(c context.Context, s milogin.Store) string {
		t.Helper()
		var name string
		if err := s.Read(c, func(tx milogin.Tx) error {
			if _, _, err := tx.Sessions().GetWithAccount(c, "scoped"); err != nil {
				return err
			}
			for _, a := range must(tx.Apps().List(c, milogin.ThirdParty)) {
				name = a.Name
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return name
	}
	req := milogin.WithStoreScope(ctx(t))
	if got := scopedName(req, reader); got != "Billing" {
		t.Errorf("in a scope: %q, want Billing", got)
	}
	rename(ctx(t), writer, "Billing Online")
	if got := scopedName(milogin.WithStoreScope(ctx(t)), reader); got != "Billing Online" {
		t.Errorf("in the scope of a request after a change: %q, want Billing Online", got)
	}
	rename(req, reader, "Billing and Payments")
	if got := names(req); len(got) != 1 || got[0] != "Billing and Payments" {
		t.Errorf("after the request's own change: %q, want Billing and Payments", got)
	}
}
