package storetest

import (
	"fmt"
	"testing"
	"time"

	"milogin"
)

func normEvent(e *milogin.AuditEvent) *milogin.AuditEvent {
	c := *e
	c.Time = norm(c.Time)
	if len(c.Detail) == 0 {
		c.Detail = nil
	}
	return &c
}

func appendEvents(t *testing.T, s milogin.Store, es ...*milogin.AuditEvent) {
	t.Helper()
	write(t, s, func(tx milogin.Tx) error {
		for _, e := range es {
			if err := tx.Audit().Append(ctx(t), e); err != nil {
				return err
			}
		}
		return nil
	})
}

func testAudit(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("AppendAndList", func(t *testing.T) {
		s := open(t)
		e1 := &milogin.AuditEvent{
			Time: t0, Type: milogin.EventSignInFailed, Portal: milogin.Citizen,
			ActorID: "acct-1", SubjectID: "acct-1", IP: "192.0.2.1", UserAgent: "UA",
			Detail: map[string]string{"reason": "bad password", "attempt": "3", "quote": `"<&>'`},
		}
		e2 := &milogin.AuditEvent{Time: t0.Add(time.Second), Type: milogin.EventLockout, SubjectID: "acct-1"}
		e3 := &milogin.AuditEvent{Time: t0.Add(time.Second), Type: milogin.EventUnlock, SubjectID: "acct-1", Detail: map[string]string{}}
		appendEvents(t, s, e1, e2, e3)
		if e1.ID == 0 || e2.ID <= e1.ID || e3.ID <= e2.ID {
			t.Fatalf("IDs %d, %d, %d: want increasing, non-zero", e1.ID, e2.ID, e3.ID)
		}
		read(t, s, func(tx milogin.Tx) error {
			got := must(tx.Audit().List(ctx(t), milogin.AuditFilter{}))
			// Newest first; events at the same instant in reverse order of appending.
			wantEqual(t, "List", got, []*milogin.AuditEvent{normEvent(e3), normEvent(e2), normEvent(e1)})
			return nil
		})
	})

	t.Run("ListFilters", func(t *testing.T) {
		s := open(t)
		var es []*milogin.AuditEvent
		for i, e := range []struct {
			subject, typ string
			at           time.Duration
		}{
			{"a", milogin.EventSignIn, 0},
			{"b", milogin.EventSignIn, time.Minute},
			{"a", milogin.EventSignInFailed, 2 * time.Minute},
			{"a", milogin.EventSignIn, 3 * time.Minute},
			{"b", milogin.EventSignInFailed, 4 * time.Minute},
		} {
			es = append(es, &milogin.AuditEvent{Time: t0.Add(e.at), Type: e.typ, SubjectID: e.subject, Detail: map[string]string{"n": fmt.Sprint(i)}})
		}
		appendEvents(t, s, es...)
		for _, tt := range []struct {
			name string
			f    milogin.AuditFilter
			want []int
		}{
			{"all", milogin.AuditFilter{}, []int{4, 3, 2, 1, 0}},
			{"subject", milogin.AuditFilter{SubjectID: "a"}, []int{3, 2, 0}},
			{"type", milogin.AuditFilter{Type: milogin.EventSignIn}, []int{3, 1, 0}},
			{"since (inclusive)", milogin.AuditFilter{Since: t0.Add(2 * time.Minute)}, []int{4, 3, 2}},
			{"limit", milogin.AuditFilter{Limit: 2}, []int{4, 3}},
			{"combined", milogin.AuditFilter{SubjectID: "a", Type: milogin.EventSignIn, Since: t0.Add(time.Second)}, []int{3}},
			{"none", milogin.AuditFilter{SubjectID: "c"}, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var want []*milogin.AuditEvent
				for _, i := range tt.want {
					want = append(want, normEvent(es[i]))
				}
				read(t, s, func(tx milogin.Tx) error {
					got := must(tx.Audit().List(ctx(t), tt.f))
					wantEqual(t, "List", got, want)
					return nil
				})
			})
		}
	})

	t.Run("DefaultLimit", func(t *testing.T) {
		s := open(t)
		var es []*milogin.AuditEvent
		for i := range 105 {
			es = append(es, &milogin.AuditEvent{Time: t0.Add(time.Duration(i) * time.Second), Type: milogin.EventSignIn})
		}
		appendEvents(t, s, es...)
		read(t, s, func(tx milogin.Tx) error {
			got := must(tx.Audit().List(ctx(t), milogin.AuditFilter{}))
			wantEqual(t, "len", len(got), 100)
			wantEqual(t, "newest", got[0].ID, es[104].ID)
			wantEqual(t, "len with explicit limit", len(must(tx.Audit().List(ctx(t), milogin.AuditFilter{Limit: 105}))), 105)
			return nil
		})
	})
}
