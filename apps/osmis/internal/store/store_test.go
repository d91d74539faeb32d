package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"milogin/apps/osmis/internal/store"
)

// engines opens a fresh database on each engine: SQLite always, PostgreSQL
// when MILOGIN_TEST_POSTGRES is set (a schema of its own; in CI it must be).
func engines(t *testing.T) map[string]func(t *testing.T) *store.DB {
	return map[string]func(t *testing.T) *store.DB{
		"sqlite": func(t *testing.T) *store.DB {
			db, err := store.Open(context.Background(), "", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"postgres": func(t *testing.T) *store.DB {
			base := os.Getenv("MILOGIN_TEST_POSTGRES")
			if base == "" {
				if os.Getenv("CI") == "true" {
					t.Fatal("MILOGIN_TEST_POSTGRES is not set: PostgreSQL tests must run in CI")
				}
				t.Skip("MILOGIN_TEST_POSTGRES is not set")
			}
			b := make([]byte, 8)
			rand.Read(b)
			schema := "osmis_" + hex.EncodeToString(b)
			admin, err := sql.Open("pgx", base)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
				admin.Close()
			})
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			db, err := store.Open(context.Background(), u.String(), "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
	}
}

func each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) { fn(t, open(t)) })
	}
}

func seed(t *testing.T, db *store.DB) *store.MWA {
	t.Helper()
	m, err := db.CreateMWA(context.Background(), "Capital Area Michigan Works!", []string{"miworks.example.org", "@CapArea.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMWAsAndDomains(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := seed(t, db)
		if want := []string{"caparea.example.org", "miworks.example.org"}; len(m.Domains) != 2 || m.Domains[0] != want[0] || m.Domains[1] != want[1] {
			t.Errorf("domains %v, want %v (normalized, sorted)", m.Domains, want)
		}
		if !m.HasDomain("lee.parker@MIWorks.example.org") || m.HasDomain("lee@gmail.com") || m.HasDomain("no-at-sign") {
			t.Error("HasDomain")
		}
		if _, err := db.CreateMWA(ctx, "capital area michigan works!", nil); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate MWA: %v", err)
		}
		if err := db.AddDomain(ctx, m.ID, "miworks.example.org"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate domain: %v", err)
		}
		if err := db.AddDomain(ctx, 999, "x.example.org"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("domain of a missing MWA: %v", err)
		}
		if err := db.RemoveDomain(ctx, m.ID, "CapArea.example.org"); err != nil {
			t.Fatal(err)
		}
		got, err := db.MWAByName(ctx, " Capital Area Michigan Works! ")
		if err != nil || len(got.Domains) != 1 {
			t.Errorf("after removal: %+v %v", got, err)
		}
	})
}

func TestStaffUniquenessAndOutbox(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := seed(t, db)
		lee := &store.Staff{FirstName: "Lee", LastName: "Parker", LoginID: "parkerl0001", Email: "lee.parker@miworks.example.org",
			MWAID: m.ID, Status: store.Active, IsAdmin: true}
		if err := db.CreateStaff(ctx, lee); err != nil {
			t.Fatal(err)
		}
		for _, dup := range []*store.Staff{
			{FirstName: "X", LastName: "Y", LoginID: "ParkerL0001", Email: "other@miworks.example.org", MWAID: m.ID, Status: store.Active},
			{FirstName: "X", LastName: "Y", LoginID: "other0001", Email: "Lee.Parker@miworks.example.org", MWAID: m.ID, Status: store.Active},
		} {
			var ce *store.ConflictError
			if err := db.CreateStaff(ctx, dup); !errors.As(err, &ce) {
				t.Errorf("duplicate %s/%s: %v", dup.LoginID, dup.Email, err)
			}
		}
		tran := &store.Staff{FirstName: "Tran", LastName: "Nguyen", LoginID: "nguyent0001", Email: "tran.nguyen@miworks.example.org",
			MWAID: m.ID, Status: store.Inactive}
		if err := db.CreateStaff(ctx, tran); err != nil {
			t.Fatal(err)
		}
		// Only the ACTIVE account queued a grant.
		pending, err := db.Pending(ctx)
		if err != nil || len(pending) != 1 || pending[0].Op != store.OpGrant || pending[0].LoginID != "parkerl0001" {
			t.Fatalf("pending %+v %v", pending, err)
		}

		// ACTIVE → a grant; INACTIVE → a revoke and the sessions end.
		if _, err := db.UpdateStaff(ctx, tran.ID, func(s *store.Staff) error { s.Status = store.Active; return nil }); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := db.CreateSession(ctx, &store.Session{TokenHash: "h1", StaffID: tran.ID, Sub: "sub-t", SID: "sid-t", IDToken: "x",
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateStaff(ctx, tran.ID, func(s *store.Staff) error { s.Status = store.Inactive; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByToken(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session after INACTIVE: %v", err)
		}
		// A case-only change of the MILogin ID is no new person: nothing queued.
		if _, err := db.UpdateStaff(ctx, lee.ID, func(s *store.Staff) error { s.LoginID = "ParkerL0001"; return nil }); err != nil {
			t.Fatal(err)
		}
		// Taking another's email is refused, and nothing is written.
		var ce *store.ConflictError
		if _, err := db.UpdateStaff(ctx, tran.ID, func(s *store.Staff) error { s.Email = "lee.parker@miworks.example.org"; return nil }); !errors.As(err, &ce) || ce.Field != "Email Address" {
			t.Errorf("email conflict: %v", err)
		}
		pending, _ = db.Pending(ctx)
		var ops []string
		for _, c := range pending {
			ops = append(ops, c.Op+":"+c.LoginID)
		}
		want := []string{"grant:parkerl0001", "grant:nguyent0001", "revoke:nguyent0001"}
		if len(ops) != len(want) || ops[0] != want[0] || ops[1] != want[1] || ops[2] != want[2] {
			t.Errorf("outbox %v, want %v", ops, want)
		}

		// Claim: one call per person at a time, in order, leased.
		calls, err := db.Claim(ctx, 10, time.Minute)
		if err != nil || len(calls) != 2 || calls[0].LoginID != "parkerl0001" || calls[1].Op != store.OpGrant {
			t.Fatalf("first claim %+v %v", calls, err)
		}
		if again, _ := db.Claim(ctx, 10, time.Minute); len(again) != 0 {
			t.Errorf("leased calls claimed again: %+v", again)
		}
		if err := db.Retry(ctx, calls[1].ID, "MILogin did not answer", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := db.Done(ctx, calls[0].ID); err != nil {
			t.Fatal(err)
		}
		calls, _ = db.Claim(ctx, 10, time.Minute)
		if len(calls) != 1 || calls[0].Op != store.OpGrant || calls[0].Attempts != 1 || calls[0].LastError != "MILogin did not answer" {
			t.Fatalf("after retry %+v (the revoke must wait for the grant)", calls)
		}
		db.Done(ctx, calls[0].ID)
		calls, _ = db.Claim(ctx, 10, time.Minute)
		if len(calls) != 1 || calls[0].Op != store.OpRevoke {
			t.Fatalf("then the revoke: %+v", calls)
		}
	})
}

func TestListStaffSearchAndPaging(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := seed(t, db)
		for i, n := range []string{"Avery", "Blake", "Casey", "Drew", "Emery"} {
			st := &store.Staff{FirstName: n, LastName: "Smith", LoginID: "smith" + n, Email: n + "@miworks.example.org", MWAID: m.ID,
				Status: map[bool]string{true: store.Active, false: store.Inactive}[i%2 == 0]}
			if err := db.CreateStaff(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		page, total, err := db.ListStaff(ctx, store.StaffFilter{Page: 2, PageSize: 2})
		if err != nil || total != 5 || len(page) != 2 || page[0].FirstName != "Casey" {
			t.Errorf("page 2: %d %v %v", total, page, err)
		}
		found, total, _ := db.ListStaff(ctx, store.StaffFilter{Query: "DREW", PageSize: 10})
		if total != 1 || found[0].LoginID != "smithDrew" || found[0].MWAName != m.Name {
			t.Errorf("search: %d %+v", total, found)
		}
		_, total, _ = db.ListStaff(ctx, store.StaffFilter{Status: store.Inactive, PageSize: 10})
		if total != 2 {
			t.Errorf("INACTIVE: %d", total)
		}
		// LIKE wildcards in the query are literal.
		if _, total, _ := db.ListStaff(ctx, store.StaffFilter{Query: "%", PageSize: 10}); total != 0 {
			t.Errorf("%% matched %d", total)
		}
	})
}

func TestSessionsLoginStatesAndRecords(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := seed(t, db)
		st := &store.Staff{FirstName: "Lee", LastName: "Parker", LoginID: "parkerl0001", Email: "lee@miworks.example.org", MWAID: m.ID, Status: store.Active}
		if err := db.CreateStaff(ctx, st); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for i, sid := range []string{"a", "a", "b"} {
			db.CreateSession(ctx, &store.Session{TokenHash: string(rune('x' + i)), StaffID: st.ID, Sub: "sub", SID: sid, IDToken: "t",
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		}
		if n, err := db.EndMILoginSession(ctx, "sub", "a"); err != nil || n != 2 {
			t.Errorf("end sid a: %d %v", n, err)
		}
		if n, _ := db.EndMILoginSession(ctx, "sub", ""); n != 1 {
			t.Errorf("end by sub: %d", n)
		}
		// The sweep: expired sessions go, live ones stay.
		db.CreateSession(ctx, &store.Session{TokenHash: "old", StaffID: st.ID, Sub: "s", SID: "o", IDToken: "t", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
		db.CreateSession(ctx, &store.Session{TokenHash: "live", StaffID: st.ID, Sub: "s", SID: "l", IDToken: "t", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err := db.SweepExpired(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.EndMILoginSession(ctx, "", "o"); n != 0 {
			t.Error("expired session not swept")
		}
		if _, err := db.SessionByToken(ctx, "live"); err != nil {
			t.Errorf("live session swept: %v", err)
		}

		// A login state is taken once, and not after it expired.
		db.PutLoginState(ctx, &store.LoginState{StateHash: "s1", Verifier: "v", Nonce: "n", CreatedAt: now})
		if l, err := db.TakeLoginState(ctx, "s1", time.Minute); err != nil || l.Verifier != "v" {
			t.Fatalf("take: %+v %v", l, err)
		}
		if _, err := db.TakeLoginState(ctx, "s1", time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second take: %v", err)
		}
		db.PutLoginState(ctx, &store.LoginState{StateHash: "s2", Verifier: "v", Nonce: "n", CreatedAt: now.Add(-time.Hour)})
		if _, err := db.TakeLoginState(ctx, "s2", time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired take: %v", err)
		}

		// The dashboard counts.
		ps := []store.Participant{{Program: store.WagnerPeyser, Status: store.Enrolled}, {Program: store.WagnerPeyser, Status: store.Enrolled},
			{Program: store.WagnerPeyser, Status: store.Exited}, {Program: store.WIOA, Status: store.Enrolled, Training: true},
			{Program: store.WIOA, Status: store.Enrolled}, {Program: store.WIOA, Status: store.Exited}}
		if err := db.AddParticipants(ctx, m.ID, ps); err != nil {
			t.Fatal(err)
		}
		o, err := db.Overview(ctx, m.ID)
		if err != nil || o != (store.Overview{WagnerPeyserActive: 2, WagnerPeyserExited: 1, WIOAActive: 2, WIOATrainingActivities: 1, WIOAExited: 1}) {
			t.Errorf("overview %+v %v", o, err)
		}

		// Tasks: filters and ownership.
		db.AddTask(ctx, st.ID, &store.Task{Title: "a", Important: true})
		b := &store.Task{Title: "b", DueDate: "2026-12-31"}
		db.AddTask(ctx, st.ID, b)
		if err := db.SetTaskDone(ctx, st.ID, b.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := db.SetTaskDone(ctx, st.ID+1, b.ID, false); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another's task: %v", err)
		}
		for _, c := range []struct {
			imp, hide bool
			n         int
		}{{false, false, 2}, {true, false, 1}, {false, true, 1}, {true, true, 1}} {
			if ts, err := db.Tasks(ctx, st.ID, c.imp, c.hide); err != nil || len(ts) != c.n {
				t.Errorf("tasks important=%v hide=%v: %d %v", c.imp, c.hide, len(ts), err)
			}
		}
	})
}

// Two nodes claiming at once never get the same call.
func TestClaimIsExclusive(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := seed(t, db)
		for i := range 20 {
			db.CreateStaff(ctx, &store.Staff{FirstName: "A", LastName: "B", LoginID: "u" + string(rune('a'+i)),
				Email: "u" + string(rune('a'+i)) + "@miworks.example.org", MWAID: m.ID, Status: store.Active})
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 5 {
					calls, err := db.Claim(ctx, 3, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, c := range calls {
						seen[c.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 20 {
			t.Errorf("%d calls claimed, want 20", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("call %d claimed %d times", id, n)
			}
		}
	})
}

func TestOpenRefusesUnknownDSN(t *testing.T) {
	if _, err := store.Open(context.Background(), "mysql://x", filepath.Join(t.TempDir())); err == nil {
		t.Error("mysql DSN accepted")
	}
}
