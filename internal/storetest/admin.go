package storetest

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"milogin"
)

// Pooler is implemented by stores that expose their database pools
// (sqlstore.Store), so that the suite can check the append-only triggers
// with SQL that bypasses the Go API.
type Pooler interface {
	Pools() (write, read *sql.DB)
}

func testAdmin(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("StaffRoles", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Staff)
		b := account(2, milogin.Staff)
		createAccounts(t, s, a, b)
		write(t, s, func(tx milogin.Tx) error {
			must(0, tx.Staff().SetRoles(ctx(t), a.ID, []milogin.StaffGrant{
				{Role: milogin.RoleHelpDesk, CreatedAt: t0},
				{Role: milogin.RoleAppAdmin, AppID: "osmis", CreatedAt: t0},
				{Role: milogin.RoleAppAdmin, AppID: "osmis", CreatedAt: t0}, // a duplicate is ignored
			}))
			must(0, tx.Staff().SetRoles(ctx(t), b.ID, []milogin.StaffGrant{{Role: milogin.RoleSecurity, CreatedAt: t0}}))
			return nil
		})
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "Roles", must(tx.Staff().Roles(ctx(t), a.ID)), []milogin.StaffGrant{
				{AccountID: a.ID, Role: milogin.RoleAppAdmin, AppID: "osmis", CreatedAt: norm(t0)},
				{AccountID: a.ID, Role: milogin.RoleHelpDesk, CreatedAt: norm(t0)},
			})
			if n := len(must(tx.Staff().List(ctx(t)))); n != 3 {
				t.Errorf("List: %d grants, want 3", n)
			}
			return nil
		})
		// SetRoles replaces.
		write(t, s, func(tx milogin.Tx) error {
			return tx.Staff().SetRoles(ctx(t), a.ID, nil)
		})
		read(t, s, func(tx milogin.Tx) error {
			if got := must(tx.Staff().Roles(ctx(t), a.ID)); len(got) != 0 {
				t.Errorf("Roles after SetRoles(nil) = %v", got)
			}
			return nil
		})
	})

	t.Run("Policies", func(t *testing.T) {
		s := open(t)
		p := milogin.NISTPolicy()
		p.LockoutThreshold = 7
		want := milogin.PortalPolicy{Portal: milogin.Citizen, Policy: p, UpdatedAt: t0, UpdatedBy: "staff-1"}
		write(t, s, func(tx milogin.Tx) error { return tx.Policies().Put(ctx(t), &want) })
		p.SessionIdle = 20 * time.Minute
		want2 := milogin.PortalPolicy{Portal: milogin.Citizen, Policy: p, UpdatedAt: t0.Add(time.Hour), UpdatedBy: "staff-2"}
		write(t, s, func(tx milogin.Tx) error { return tx.Policies().Put(ctx(t), &want2) }) // replaces
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "List", must(tx.Policies().List(ctx(t))), []milogin.PortalPolicy{want2})
			return nil
		})
	})

	t.Run("Search", func(t *testing.T) {
		s := open(t)
		var as []*milogin.Account
		for i, p := range []struct{ user, first, last, email, mobile string }{
			{"smithj0001", "John", "Smith", "John.Smith@example.org", "(517) 555-0101"},
			{"smithj0002", "Jane", "Smith", "jane@example.org", "517-555-0102"},
			{"smithers01", "Wayland", "Smithers", "ws@example.org", ""},
			{"brownb0001", "Bob", "Brown", "bob@smith.example", "2485550199"},
		} {
			a := account(i, milogin.ThirdParty)
			a.UserID, a.FirstName, a.LastName, a.Email, a.Mobile = p.user, p.first, p.last, p.email, p.mobile
			as = append(as, a)
		}
		other := account(9, milogin.Citizen)
		other.UserID, other.LastName = "smithz", "Smith"
		createAccounts(t, s, append(as, other)...)
		ids := func(hs []milogin.SearchHit) []string {
			var out []string
			for _, h := range hs {
				out = append(out, h.Account.UserID)
			}
			return out
		}
		read(t, s, func(tx milogin.Tx) error {
			for _, c := range []struct {
				field  milogin.SearchField
				prefix string
				want   []string
			}{
				{milogin.SearchUserID, "smithj", []string{"smithj0001", "smithj0002"}},
				{milogin.SearchUserID, "smith", []string{"smithers01", "smithj0001", "smithj0002"}},
				{milogin.SearchEmail, "john.", []string{"smithj0001"}},
				{milogin.SearchName, "smith j", []string{"smithj0002", "smithj0001"}}, // "smith jane" < "smith john"
				{milogin.SearchName, "smithers", []string{"smithers01"}},
				{milogin.SearchPhone, "517555", []string{"smithj0001", "smithj0002"}},
				{milogin.SearchUserID, "nobody", nil},
			} {
				got := must(tx.Accounts().Search(ctx(t), milogin.AccountSearch{Portal: milogin.ThirdParty, Field: c.field, Prefix: c.prefix, Limit: 10}))
				wantEqual(t, fmt.Sprintf("Search(%s, %q)", c.field, c.prefix), ids(got), c.want)
			}
			// Paging with the keyset cursor of the last hit.
			page1 := must(tx.Accounts().Search(ctx(t), milogin.AccountSearch{Portal: milogin.ThirdParty, Field: milogin.SearchUserID, Prefix: "smith", Limit: 2}))
			wantEqual(t, "page 1", ids(page1), []string{"smithers01", "smithj0001"})
			last := page1[len(page1)-1]
			page2 := must(tx.Accounts().Search(ctx(t), milogin.AccountSearch{Portal: milogin.ThirdParty, Field: milogin.SearchUserID, Prefix: "smith", Limit: 2, AfterKey: last.Key, AfterID: last.Account.ID}))
			wantEqual(t, "page 2", ids(page2), []string{"smithj0002"})
			// Found accounts are complete.
			wantEqual(t, "hit", page2[0].Account, normAccount(as[1]))
			return nil
		})
	})

	// The name key folds letters outside ASCII too, on both engines (SQLite's
	// lower() does not), and follows a change of name.
	t.Run("SearchNamesOutsideASCII", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.ThirdParty), account(2, milogin.ThirdParty)
		a.UserID, a.FirstName, a.LastName = "alvareze01", "ÉMILE", "ÁLVAREZ"
		b.UserID, b.FirstName, b.LastName = "nunezo0001", "Óscar", "Núñez"
		createAccounts(t, s, a, b)
		search := func(prefix string) []string {
			var out []string
			read(t, s, func(tx milogin.Tx) error {
				for _, h := range must(tx.Accounts().Search(ctx(t), milogin.AccountSearch{Portal: milogin.ThirdParty, Field: milogin.SearchName, Prefix: prefix, Limit: 10})) {
					out = append(out, h.Account.UserID)
					if h.Key != milogin.NameKey(h.Account.LastName, h.Account.FirstName) {
						t.Errorf("hit %s: key %q", h.Account.UserID, h.Key)
					}
				}
				return nil
			})
			return out
		}
		wantEqual(t, "álvarez é", search("álvarez é"), []string{"alvareze01"})
		wantEqual(t, "núñez ó", search("núñez ó"), []string{"nunezo0001"})
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.Accounts().Update(ctx(t), b.ID, func(x *milogin.Account) error {
				x.LastName = "ÑANDÚ"
				return nil
			})
			return err
		})
		wantEqual(t, "núñez after the change", search("núñez"), []string(nil))
		wantEqual(t, "ñandú", search("ñandú ó"), []string{"nunezo0001"})
	})

	t.Run("AuditSnapshot", func(t *testing.T) {
		s := open(t)
		person := account(1, milogin.Citizen)
		agent := account(2, milogin.Staff)
		agent.FirstName, agent.LastName = "Helen", "Desk"
		createAccounts(t, s, person, agent)
		write(t, s, func(tx milogin.Tx) error {
			return tx.Apps().Create(ctx(t), &milogin.Application{ID: "osmis", Name: "OSMIS", Client: milogin.Client{ID: "osmis"}, Portals: []milogin.PortalID{milogin.Workforce}})
		})
		es := []*milogin.AuditEvent{
			{Time: t0, Type: milogin.EventUnlock, Portal: milogin.Citizen, ActorID: agent.ID, SubjectID: person.ID, Reason: "called the help desk"},
			{Time: t0, Type: milogin.EventSignIn, Portal: milogin.Citizen, ActorID: person.ID, SubjectID: person.ID},
			{Time: t0, Type: milogin.EventAccessGranted, ActorID: "app:osmis", SubjectID: person.ID},
			{Time: t0, Type: milogin.EventLockout, ActorID: "system", SubjectID: person.ID, Detail: map[string]string{"reason": "five failures"}},
		}
		appendEvents(t, s, es...)
		want := []struct{ kind, name, reason string }{
			{milogin.ActorStaff, "Helen Desk", "called the help desk"},
			{milogin.ActorPerson, "John Smith", ""},
			{milogin.ActorApplication, "OSMIS", ""},
			{milogin.ActorSystem, "system", "five failures"},
		}
		read(t, s, func(tx milogin.Tx) error {
			got := must(tx.Audit().List(ctx(t), milogin.AuditFilter{SubjectID: person.ID, Ascending: true}))
			for i, e := range got {
				w := want[i]
				if e.ActorKind != w.kind || e.ActorName != w.name || e.Reason != w.reason || e.SubjectUserID != person.UserID {
					t.Errorf("event %d: kind %q name %q reason %q subject %q; want %q %q %q %q", i, e.ActorKind, e.ActorName, e.Reason, e.SubjectUserID, w.kind, w.name, w.reason, person.UserID)
				}
				wantEqual(t, "Append's copy", normEvent(es[i]), e)
			}
			return nil
		})
	})

	t.Run("AuditFiltersAndPaging", func(t *testing.T) {
		s := open(t)
		var es []*milogin.AuditEvent
		for i := range 6 {
			es = append(es, &milogin.AuditEvent{
				Time: t0.Add(time.Duration(i/2) * time.Minute), Type: []string{milogin.EventSignIn, milogin.EventUnlock}[i%2],
				Portal: []milogin.PortalID{milogin.Citizen, milogin.ThirdParty}[i%2], ActorID: fmt.Sprintf("actor-%d", i%3), SubjectID: "s",
			})
		}
		appendEvents(t, s, es...)
		id := func(list []*milogin.AuditEvent) []int64 {
			var out []int64
			for _, e := range list {
				out = append(out, e.ID)
			}
			return out
		}
		read(t, s, func(tx milogin.Tx) error {
			for _, c := range []struct {
				name string
				f    milogin.AuditFilter
				want []int64
			}{
				{"actor", milogin.AuditFilter{ActorID: "actor-1"}, []int64{es[4].ID, es[1].ID}},
				{"portal", milogin.AuditFilter{Portal: milogin.ThirdParty}, []int64{es[5].ID, es[3].ID, es[1].ID}},
				{"until", milogin.AuditFilter{Until: t0.Add(time.Minute)}, []int64{es[1].ID, es[0].ID}},
				{"since+until", milogin.AuditFilter{Since: t0.Add(time.Minute), Until: t0.Add(2 * time.Minute)}, []int64{es[3].ID, es[2].ID}},
				{"before", milogin.AuditFilter{Before: es[3].ID, Limit: 2}, []int64{es[2].ID, es[1].ID}},
				{"after asc", milogin.AuditFilter{After: es[3].ID, Ascending: true}, []int64{es[4].ID, es[5].ID}},
				{"type", milogin.AuditFilter{Type: milogin.EventUnlock, Ascending: true, Limit: 2}, []int64{es[1].ID, es[3].ID}},
			} {
				wantEqual(t, c.name, id(must(tx.Audit().List(ctx(t), c.f))), c.want)
			}
			return nil
		})
	})

	t.Run("AuditRetention", func(t *testing.T) {
		s := open(t)
		// The database judges "a year" by its own clock, so the old events
		// are dated years before any real now and the recent one is now.
		old := time.Date(2019, 1, 2, 3, 4, 5, 0, time.UTC)
		recent := time.Now().UTC()
		es := []*milogin.AuditEvent{
			{Time: old, Type: milogin.EventSignIn, SubjectID: "a"},
			{Time: old.Add(time.Hour), Type: milogin.EventSignIn, SubjectID: "a"},
			{Time: old.Add(2 * time.Hour), Type: milogin.EventSignIn, SubjectID: "a"},
			{Time: recent, Type: milogin.EventSignIn, SubjectID: "a"},
		}
		appendEvents(t, s, es...)
		// A cutoff younger than a year is refused by the database itself.
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Audit().Expire(ctx(t), recent.Add(time.Hour), recent, 10)
			return err
		})
		wantKind(t, err, milogin.EINVALID)
		var n int
		write(t, s, func(tx milogin.Tx) error {
			n = must(tx.Audit().Expire(ctx(t), old.Add(90*time.Minute), recent, 1))
			return nil
		})
		if n != 1 {
			t.Fatalf("Expire with limit 1 deleted %d", n)
		}
		write(t, s, func(tx milogin.Tx) error {
			n = must(tx.Audit().Expire(ctx(t), old.Add(90*time.Minute), recent, 10))
			return nil
		})
		if n != 1 {
			t.Fatalf("second Expire deleted %d, want 1", n)
		}
		read(t, s, func(tx milogin.Tx) error {
			got := must(tx.Audit().List(ctx(t), milogin.AuditFilter{Ascending: true}))
			if len(got) != 2 || got[0].ID != es[2].ID || got[1].ID != es[3].ID {
				t.Errorf("after Expire: %d events, want events %d and %d", len(got), es[2].ID, es[3].ID)
			}
			return nil
		})

		p, ok := s.(Pooler)
		if !ok {
			return
		}
		w, _ := p.Pools()
		for _, q := range []string{
			`UPDATE audit_events SET event_type = 'x'`,
			`DELETE FROM audit_events WHERE id = ` + fmt.Sprint(es[3].ID), // recent: no purge covers it
			`DELETE FROM audit_purges`,
			`UPDATE audit_purges SET cutoff = 0`,
			fmt.Sprintf(`INSERT INTO audit_purges (cutoff, created_at) VALUES (%d, 0)`, recent.UnixMicro()),
		} {
			if _, err := w.ExecContext(ctx(t), q); err == nil {
				t.Errorf("%s: succeeded, want refused by a trigger", q)
			}
		}
	})
}
