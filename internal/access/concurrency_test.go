package access_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/postgres"
	"milogin/internal/postgres/pgtest"
	"milogin/internal/sqlstore"
)

// Racing decisions on one pending request, on PostgreSQL where nodes run
// them in parallel: exactly one wins, and exactly one email goes out.
func TestRacingDecisionsOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC)
	svc := access.New(db)
	svc.Now = func() time.Time { return now }
	acct := &milogin.Account{ID: "acct-1", Portal: milogin.ThirdParty, UserID: "smithj0001", FirstName: "John", LastName: "Smith",
		Email: "john.smith@example.org", Status: milogin.StatusActive}
	err = db.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.Accounts().Create(ctx, acct); err != nil {
			return err
		}
		return tx.Apps().Create(ctx, &milogin.Application{ID: "grants", Name: "Grant Reporting",
			Portals: []milogin.PortalID{milogin.ThirdParty}, Approval: milogin.ApprovalRequired})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Request(ctx, acct, "grants", access.Actor{ID: acct.ID}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range n {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = svc.Approve(ctx, "grants", acct.ID, "", access.Actor{ID: "admin-a"})
			} else {
				_, err = svc.Deny(ctx, "grants", acct.ID, "", access.Actor{ID: "admin-b"})
			}
			switch {
			case err == nil:
				mu.Lock()
				wins++
				mu.Unlock()
			case !milogin.IsKind(err, milogin.ECONFLICT):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d decisions applied, want 1", wins)
	}
	var ms []*milogin.Message
	db.Read(ctx, func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(ctx, milogin.MessageFilter{})
		return err
	})
	if len(ms) != 2 { // the request's acknowledgement and one decision
		t.Errorf("%d emails, want 2", len(ms))
	}
}
