package storetest

import (
	"bytes"
	"testing"
	"time"

	"milogin"
)

func message(to string, next time.Time) *milogin.Message {
	return &milogin.Message{
		Channel:       milogin.ChannelEmail,
		To:            to,
		Subject:       "Your MILogin PIN",
		Text:          "Your PIN is 482913. It expires in 10 minutes.",
		HTML:          "<p>Your PIN is <b>482913</b>. It expires in 10 minutes.</p>",
		CreatedAt:     t0,
		NextAttemptAt: next,
	}
}

func normMessage(m *milogin.Message) *milogin.Message {
	c := *m
	c.CreatedAt, c.NextAttemptAt, c.SentAt, c.FailedAt = norm(c.CreatedAt), norm(c.NextAttemptAt), norm(c.SentAt), norm(c.FailedAt)
	return &c
}

func enqueue(t *testing.T, s milogin.Store, ms ...*milogin.Message) {
	t.Helper()
	write(t, s, func(tx milogin.Tx) error {
		for _, m := range ms {
			if err := tx.Outbox().Enqueue(ctx(t), m); err != nil {
				return err
			}
		}
		return nil
	})
}

func claim(t *testing.T, s milogin.Store, now time.Time, lease time.Duration, limit int) []int64 {
	t.Helper()
	var ids []int64
	write(t, s, func(tx milogin.Tx) error {
		for _, m := range must(tx.Outbox().Claim(ctx(t), now, lease, limit)) {
			ids = append(ids, m.ID)
		}
		return nil
	})
	return ids
}

func listMessages(t *testing.T, s milogin.Store, f milogin.MessageFilter) []*milogin.Message {
	t.Helper()
	var ms []*milogin.Message
	read(t, s, func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(ctx(t), f)
		return err
	})
	return ms
}

func testOutbox(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("EnqueueAndList", func(t *testing.T) {
		s := open(t)
		m1 := message("a@example.org", time.Time{})
		m2 := message("b@example.org", t0.Add(time.Minute))
		m2.Channel, m2.HTML = milogin.ChannelSMS, ""
		m3 := message("a@example.org", time.Time{})
		m3.Text = "Ünïcödé ✓ and a NUL-free body"
		enqueue(t, s, m1, m2, m3)
		if m1.ID == 0 || m2.ID <= m1.ID || m3.ID <= m2.ID {
			t.Fatalf("IDs %d, %d, %d: want increasing, non-zero", m1.ID, m2.ID, m3.ID)
		}
		wantEqual(t, "all, newest first", listMessages(t, s, milogin.MessageFilter{}),
			[]*milogin.Message{normMessage(m3), normMessage(m2), normMessage(m1)})
		wantEqual(t, "to a", listMessages(t, s, milogin.MessageFilter{To: "a@example.org"}),
			[]*milogin.Message{normMessage(m3), normMessage(m1)})
		wantEqual(t, "limit", listMessages(t, s, milogin.MessageFilter{Limit: 1}),
			[]*milogin.Message{normMessage(m3)})
		if got := listMessages(t, s, milogin.MessageFilter{To: "nobody@example.org"}); len(got) != 0 {
			t.Errorf("messages to nobody: %+v", got)
		}
	})

	// Outbox bodies carry PINs. A store that seals them must not keep the
	// plaintext anywhere in the row; one that does not keeps it verbatim.
	t.Run("BodiesAtRest", func(t *testing.T) {
		s := open(t)
		in, ok := s.(BodyInspector)
		if !ok {
			t.Skip("the store does not expose raw message bodies")
		}
		m := message("a@example.org", time.Time{})
		enqueue(t, s, m)
		text, html, sealed, err := in.RawMessageBodies(ctx(t), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sealed {
			for name, raw := range map[string][]byte{"text": text, "html": html} {
				if bytes.Contains(raw, []byte("482913")) {
					t.Errorf("sealed %s body contains the PIN: %q", name, raw)
				}
			}
			if len(text) >= 12 && len(html) >= 12 && bytes.Equal(text[:12], html[:12]) {
				t.Error("text and html bodies share a prefix: nonce reused?")
			}
		} else {
			wantEqual(t, "raw text", string(text), m.Text)
			wantEqual(t, "raw html", string(html), m.HTML)
		}
		// Either way, the bodies read back as they were written.
		wantEqual(t, "List", listMessages(t, s, milogin.MessageFilter{}), []*milogin.Message{normMessage(m)})
		t.Logf("sealed at rest: %v", sealed)
	})

	t.Run("Claim", func(t *testing.T) {
		s := open(t)
		dueNow := message("1@example.org", time.Time{})
		dueEarlier := message("2@example.org", t0.Add(-time.Minute))
		dueExactly := message("3@example.org", t0)
		future := message("4@example.org", t0.Add(time.Hour))
		sent := message("5@example.org", time.Time{})
		sent.SentAt = t0.Add(-time.Minute)
		failed := message("6@example.org", time.Time{})
		failed.FailedAt = t0.Add(-time.Minute)
		enqueue(t, s, dueNow, dueEarlier, dueExactly, future, sent, failed)

		lease := 5 * time.Minute
		var claimed []*milogin.Message
		write(t, s, func(tx milogin.Tx) (err error) {
			claimed, err = tx.Outbox().Claim(ctx(t), t0, lease, 2)
			return err
		})
		// Due messages in ID order, up to the limit, leased until now+lease.
		for _, m := range []*milogin.Message{dueNow, dueEarlier} {
			m.NextAttemptAt = t0.Add(lease)
		}
		wantEqual(t, "first claim", claimed, []*milogin.Message{normMessage(dueNow), normMessage(dueEarlier)})
		wantEqual(t, "second claim", claim(t, s, t0.Add(time.Minute), lease, 10), []int64{dueExactly.ID})
		if got := claim(t, s, t0.Add(2*time.Minute), lease, 10); len(got) != 0 {
			t.Errorf("claimed %v while every due message is leased", got)
		}
		if got := claim(t, s, t0, lease, 0); len(got) != 0 {
			t.Errorf("a zero limit claimed %v", got)
		}
		// A worker that died does not hold its messages past the lease.
		wantEqual(t, "after the lease", claim(t, s, t0.Add(lease), lease, 10), []int64{dueNow.ID, dueEarlier.ID})
		wantEqual(t, "later", claim(t, s, t0.Add(time.Hour+lease), lease, 10), []int64{dueNow.ID, dueEarlier.ID, dueExactly.ID, future.ID})
	})

	t.Run("MarkSent", func(t *testing.T) {
		s := open(t)
		m := message("a@example.org", time.Time{})
		enqueue(t, s, m)
		claim(t, s, t0, time.Minute, 10)
		write(t, s, func(tx milogin.Tx) error { return tx.Outbox().MarkSent(ctx(t), m.ID, t0.Add(time.Second)) })
		got := listMessages(t, s, milogin.MessageFilter{})[0]
		wantEqual(t, "SentAt", got.SentAt, norm(t0.Add(time.Second)))
		if ids := claim(t, s, t0.Add(24*time.Hour), time.Minute, 10); len(ids) != 0 {
			t.Errorf("a sent message was claimed again: %v", ids)
		}
		err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Outbox().MarkSent(ctx(t), m.ID+1000, t0) })
		wantKind(t, err, milogin.ENOTFOUND)
	})

	t.Run("MarkFailed", func(t *testing.T) {
		s := open(t)
		m := message("a@example.org", time.Time{})
		enqueue(t, s, m)
		claim(t, s, t0, time.Minute, 10)
		retry := t0.Add(10 * time.Minute)
		write(t, s, func(tx milogin.Tx) error {
			return tx.Outbox().MarkFailed(ctx(t), m.ID, "421 try again later", retry, t0.Add(time.Second))
		})
		got := listMessages(t, s, milogin.MessageFilter{})[0]
		m.Attempts, m.LastError, m.NextAttemptAt = 1, "421 try again later", retry
		wantEqual(t, "after a retryable failure", got, normMessage(m))
		if ids := claim(t, s, retry.Add(-time.Second), time.Minute, 10); len(ids) != 0 {
			t.Errorf("claimed %v before the retry time", ids)
		}
		wantEqual(t, "at the retry time", claim(t, s, retry, time.Minute, 10), []int64{m.ID})

		// A zero next gives the message up.
		giveUp := retry.Add(time.Second)
		write(t, s, func(tx milogin.Tx) error {
			return tx.Outbox().MarkFailed(ctx(t), m.ID, "550 no such user", time.Time{}, giveUp)
		})
		got = listMessages(t, s, milogin.MessageFilter{})[0]
		wantEqual(t, "Attempts", got.Attempts, 2)
		wantEqual(t, "LastError", got.LastError, "550 no such user")
		wantEqual(t, "FailedAt", got.FailedAt, norm(giveUp))
		if !got.SentAt.IsZero() {
			t.Errorf("SentAt = %v, want zero", got.SentAt)
		}
		if ids := claim(t, s, giveUp.Add(365*24*time.Hour), time.Minute, 10); len(ids) != 0 {
			t.Errorf("a message given up was claimed again: %v", ids)
		}
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			return tx.Outbox().MarkFailed(ctx(t), m.ID+1000, "x", time.Time{}, t0)
		})
		wantKind(t, err, milogin.ENOTFOUND)
	})
}

// RequireSealed checks that s seals outbox bodies. Backends call it on a
// store opened with an AEAD (one not used for anything else: it enqueues a
// message), so that BodiesAtRest cannot pass on a store that was meant to
// seal but silently stores bodies in the clear.
func RequireSealed(t *testing.T, s milogin.Store) {
	t.Helper()
	in, ok := s.(BodyInspector)
	if !ok {
		t.Fatal("the store does not expose raw message bodies")
	}
	m := message("sealed@example.org", time.Time{})
	m.Text, m.HTML = "PIN 764215", "<b>PIN 764215</b>"
	if err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Outbox().Enqueue(ctx(t), m) }); err != nil {
		t.Fatal(err)
	}
	text, html, sealed, err := in.RawMessageBodies(ctx(t), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !sealed || bytes.Contains(text, []byte("764215")) || bytes.Contains(html, []byte("764215")) {
		t.Fatalf("bodies stored in the clear: sealed=%v text=%q html=%q", sealed, text, html)
	}
}
