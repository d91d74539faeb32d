package storetest

import (
	"strings"
	"testing"
	"unicode/utf8"

	"milogin"
)

// testDirtyText: what a client sends (a User-Agent with invalid UTF-8 or
// NUL, a claimed client ID, an overlong header) never makes an audit event
// or a session fail to be written: PostgreSQL refuses NUL and invalid UTF-8
// in text, so the store cleans and bounds those fields on both engines.
func testDirtyText(t *testing.T, open func(t *testing.T) milogin.Store) {
	dirty := []string{"Mozilla\x00/5.0", "\xff\xfe\xfd", "caf\xc3", strings.Repeat("é", 400) + "\xff", "a\r\nInjected: header"}
	clean := func(t *testing.T, what, s string, max int) {
		t.Helper()
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 || strings.ContainsAny(s, "\r\n") {
			t.Errorf("%s stored as %q: not clean", what, s)
		}
		if len(s) > max {
			t.Errorf("%s stored with %d bytes, want at most %d", what, len(s), max)
		}
	}
	t.Run("Audit", func(t *testing.T) {
		s := open(t)
		for _, d := range dirty {
			appendEvents(t, s, &milogin.AuditEvent{Time: t0, Type: milogin.EventAPICall, ActorID: "client:" + d,
				SubjectID: d, IP: d, UserAgent: d, Detail: map[string]string{"client_id": d, d: "v"}})
		}
		read(t, s, func(tx milogin.Tx) error {
			evs := must(tx.Audit().List(ctx(t), milogin.AuditFilter{}))
			wantEqual(t, "events", len(evs), len(dirty))
			for _, e := range evs {
				clean(t, "user agent", e.UserAgent, 256)
				clean(t, "actor", e.ActorID, 512)
				clean(t, "ip", e.IP, 512)
				for k, v := range e.Detail {
					if !utf8.ValidString(k) || !utf8.ValidString(v) {
						t.Errorf("detail %q=%q: invalid UTF-8", k, v)
					}
				}
			}
			return nil
		})
	})
	t.Run("Sessions", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		for i, d := range dirty {
			x := session(string(rune('a'+i))+"5e55", a, t0)
			x.UserAgent, x.IP = d, d
			createSessions(t, s, x)
			write(t, s, func(tx milogin.Tx) error {
				_, err := tx.Sessions().Update(ctx(t), x.ID, func(u *milogin.Session) error { u.UserAgent = d + d; return nil })
				return err
			})
		}
		read(t, s, func(tx milogin.Tx) error {
			for _, x := range must(tx.Sessions().ListByAccount(ctx(t), a.ID)) {
				clean(t, "session user agent", x.UserAgent, 256)
				clean(t, "session ip", x.IP, 512)
			}
			return nil
		})
	})
}
