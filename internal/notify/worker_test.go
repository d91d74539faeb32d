package notify_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"milogin"
	"milogin/internal/clocktest"
	"milogin/internal/notify"
	"milogin/internal/notify/smtp"
	"milogin/internal/notify/smtptest"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

const sender = "DONOTREPLY-MILogin@michigan.gov"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func testAEAD(tb testing.TB) cipher.AEAD {
	block, err := aes.NewCipher([]byte("notify-test-key-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		tb.Fatal(err)
	}
	return aead
}

// openStore opens an SQLite store at path (a fresh one when path is ""),
// with sealed outbox bodies as in production.
func openStore(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "milogin.db")
	}
	db, err := sqlite.Open(tb.Context(), path, sqlstore.Options{AEAD: testAEAD(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// enqueue composes a template and queues it as a caller would, inside a
// transaction, due at now.
func enqueue(tb testing.TB, store milogin.Store, now time.Time, ch milogin.Channel, to, name string, data any) int64 {
	tb.Helper()
	m, err := notify.Compose(ch, to, name, data)
	if err != nil {
		tb.Fatal(err)
	}
	m.CreatedAt, m.NextAttemptAt = now, now
	if err := store.Write(tb.Context(), func(tx milogin.Tx) error { return tx.Outbox().Enqueue(tb.Context(), m) }); err != nil {
		tb.Fatal(err)
	}
	return m.ID
}

func enqueueRaw(tb testing.TB, store milogin.Store, m *milogin.Message) int64 {
	tb.Helper()
	if err := store.Write(tb.Context(), func(tx milogin.Tx) error { return tx.Outbox().Enqueue(tb.Context(), m) }); err != nil {
		tb.Fatal(err)
	}
	return m.ID
}

// message reads back one outbox message by ID.
func message(tb testing.TB, store milogin.Store, id int64) *milogin.Message {
	tb.Helper()
	var list []*milogin.Message
	err := store.Read(tb.Context(), func(tx milogin.Tx) error {
		var err error
		list, err = tx.Outbox().List(tb.Context(), milogin.MessageFilter{Limit: 1000})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range list {
		if m.ID == id {
			return m
		}
	}
	tb.Fatalf("message %d not in the outbox", id)
	return nil
}

func emailSender(tb testing.TB, srv *smtptest.Server, opts ...smtp.Option) *smtp.Sender {
	tb.Helper()
	s, err := smtp.New(srv.URL(), sender, append(opts, smtp.WithTimeout(10*time.Second))...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var lockedData = map[string]any{"Name": "Ann Smith", "UserID": "smitha0001", "Minutes": 30, "Portal": "MILogin for Third Party", "Help": help}

func TestWorkerDeliversEmail(t *testing.T) {
	ctx := t.Context()
	store := openStore(t, "")
	srv := smtptest.Start(t)
	clk := clocktest.New(t0)
	var logs logBuffer
	w := &notify.Worker{Store: store, Email: emailSender(t, srv), Now: clk.Now, Logger: logs.Logger()}

	id := enqueue(t, store, clk.Now(), milogin.ChannelEmail, "ann@example.com", "account-locked", lockedData)
	sent, err := w.DeliverDue(ctx)
	if err != nil || sent != 1 {
		t.Fatalf("DeliverDue = %d, %v; want 1, nil", sent, err)
	}
	got := srv.WaitFor(t, func(m smtptest.Message) bool { return m.To[0] == "ann@example.com" }, 5*time.Second)
	if got.From != sender {
		t.Errorf("from %q", got.From)
	}
	if got.Subject != "Regarding your MILogin user account" {
		t.Errorf("subject %q", got.Subject)
	}
	if !strings.HasPrefix(got.Text, "Hello Ann Smith,") || !strings.Contains(got.Text, "will unlock after 30 minutes") ||
		!strings.Contains(got.Text, "Thanks,\r\nMILogin Team") && !strings.Contains(got.Text, "Thanks,\nMILogin Team") {
		t.Errorf("text part:\n%s", got.Text)
	}
	if !strings.Contains(got.HTML, "<p>Hello Ann Smith,</p>") || !strings.Contains(got.HTML, "<strong>smitha0001</strong>") {
		t.Errorf("HTML part:\n%s", got.HTML)
	}

	m := message(t, store, id)
	if !m.SentAt.Equal(t0) || !m.FailedAt.IsZero() || m.Attempts != 0 {
		t.Errorf("after delivery: sent %v failed %v attempts %d", m.SentAt, m.FailedAt, m.Attempts)
	}
	// Nothing more to do, now or later.
	clk.Add(24 * time.Hour)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("second DeliverDue = %d, %v; want 0, nil", sent, err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server got %d messages; want 1", n)
	}
	// Logs name the message, never its body or recipient.
	out := logs.String()
	if !strings.Contains(out, fmt.Sprintf("message_id=%d", id)) || !strings.Contains(out, "channel=email") {
		t.Errorf("log does not identify the message:\n%s", out)
	}
	for _, secret := range []string{"ann@example.com", "smitha0001", "Ann Smith"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}

// TestWorkerRetries: the server refuses the first two deliveries with a 4xx;
// each failure is recorded with a growing backoff and the third try
// delivers. Time moves only by the injected clock.
func TestWorkerRetries(t *testing.T) {
	ctx := t.Context()
	store := openStore(t, "")
	srv := smtptest.Start(t, smtptest.WithFailures(2))
	clk := clocktest.New(t0)
	var logs logBuffer
	w := &notify.Worker{Store: store, Email: emailSender(t, srv), Now: clk.Now, Logger: logs.Logger()}
	id := enqueueRaw(t, store, &milogin.Message{
		Channel: milogin.ChannelEmail, To: "bob@example.com", Subject: "Your PIN",
		Text: "Your PIN is 004217.", CreatedAt: t0, NextAttemptAt: t0,
	})

	// Attempt 1 fails: retry after 30s.
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("attempt 1: DeliverDue = %d, %v", sent, err)
	}
	m := message(t, store, id)
	if m.Attempts != 1 || !m.NextAttemptAt.Equal(t0.Add(30*time.Second)) || !strings.Contains(m.LastError, "451") {
		t.Fatalf("after attempt 1: attempts %d next %v error %q", m.Attempts, m.NextAttemptAt, m.LastError)
	}
	if strings.Contains(m.LastError, "004217") {
		t.Errorf("last error contains the body: %q", m.LastError)
	}
	// Not due yet: nothing is tried.
	clk.Add(29 * time.Second)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 || srv.Rejected() != 1 {
		t.Fatalf("before backoff: DeliverDue = %d, %v; rejected %d", sent, err, srv.Rejected())
	}

	// Attempt 2 fails: retry after 60s.
	clk.Add(time.Second)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("attempt 2: DeliverDue = %d, %v", sent, err)
	}
	m = message(t, store, id)
	if m.Attempts != 2 || !m.NextAttemptAt.Equal(t0.Add(30*time.Second+60*time.Second)) {
		t.Fatalf("after attempt 2: attempts %d next %v", m.Attempts, m.NextAttemptAt)
	}

	// Attempt 3 delivers.
	clk.Add(60 * time.Second)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 1 {
		t.Fatalf("attempt 3: DeliverDue = %d, %v", sent, err)
	}
	got := srv.WaitFor(t, nil, 5*time.Second)
	if !strings.Contains(got.Text, "004217") {
		t.Errorf("delivered text %q", got.Text)
	}
	m = message(t, store, id)
	if m.Attempts != 2 || !m.SentAt.Equal(t0.Add(90*time.Second)) || !m.FailedAt.IsZero() {
		t.Errorf("after delivery: attempts %d sent %v failed %v", m.Attempts, m.SentAt, m.FailedAt)
	}
	if srv.Rejected() != 2 || len(srv.Messages()) != 1 {
		t.Errorf("server rejected %d, accepted %d; want 2, 1", srv.Rejected(), len(srv.Messages()))
	}
	if out := logs.String(); strings.Contains(out, "004217") || strings.Contains(out, "bob@example.com") {
		t.Errorf("log leaks the body or recipient:\n%s", out)
	} else if !strings.Contains(out, "attempt=2") || !strings.Contains(out, "will retry") {
		t.Errorf("log lacks the attempt number:\n%s", out)
	}
}

func TestWorkerGivesUp(t *testing.T) {
	ctx := t.Context()
	store := openStore(t, "")
	srv := smtptest.Start(t, smtptest.WithFailures(1000))
	clk := clocktest.New(t0)
	var logs logBuffer
	w := &notify.Worker{Store: store, Email: emailSender(t, srv), Now: clk.Now, Logger: logs.Logger(), MaxAttempts: 4}
	id := enqueue(t, store, clk.Now(), milogin.ChannelEmail, "carol@example.com", "password-changed",
		map[string]any{"Name": "Carol", "UserID": "carolz0001", "Help": help})

	wantWaits := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}
	for i := range 4 {
		if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
			t.Fatalf("attempt %d: DeliverDue = %d, %v", i+1, sent, err)
		}
		m := message(t, store, id)
		if m.Attempts != i+1 {
			t.Fatalf("attempt %d recorded as %d", i+1, m.Attempts)
		}
		if i < 3 {
			if !m.FailedAt.IsZero() || !m.NextAttemptAt.Equal(clk.Now().Add(wantWaits[i])) {
				t.Fatalf("attempt %d: failed %v next %v; want retry after %v", i+1, m.FailedAt, m.NextAttemptAt, wantWaits[i])
			}
			clk.Add(wantWaits[i])
		} else if !m.FailedAt.Equal(clk.Now()) || !m.SentAt.IsZero() {
			t.Fatalf("after MaxAttempts: failed %v sent %v; want given up", m.FailedAt, m.SentAt)
		}
	}
	// Given up: never tried again.
	clk.Add(48 * time.Hour)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("after giving up: DeliverDue = %d, %v", sent, err)
	}
	if srv.Rejected() != 4 {
		t.Errorf("server saw %d attempts; want 4", srv.Rejected())
	}
	if out := logs.String(); !strings.Contains(out, "giving up") || !strings.Contains(out, "attempt=4") {
		t.Errorf("log:\n%s", out)
	}
}

// TestWorkersNeverDeliverTwice runs several workers on two handles of one
// database file (two nodes) against one SMTP server and checks that every
// message arrives exactly once.
func TestWorkersNeverDeliverTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "milogin.db")
	stores := []*sqlite.DB{openStore(t, path), openStore(t, path)}
	srv := smtptest.Start(t)
	const n = 60
	for i := range n {
		enqueueRaw(t, stores[i%2], &milogin.Message{
			Channel: milogin.ChannelEmail, To: fmt.Sprintf("user%02d@example.com", i),
			Subject: fmt.Sprintf("message %02d", i), Text: "hello", CreatedAt: t0, NextAttemptAt: t0,
		})
	}
	clk := clocktest.New(t0)
	var total atomic.Int64
	var wg sync.WaitGroup
	for i := range 6 {
		w := &notify.Worker{Store: stores[i%2], Email: emailSender(t, srv), Now: clk.Now, Logger: slog.New(slog.DiscardHandler)}
		wg.Go(func() {
			// Each worker keeps delivering until the queue is empty.
			for range 20 {
				sent, err := w.DeliverDue(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				total.Add(int64(sent))
				if total.Load() >= n {
					return
				}
			}
		})
	}
	wg.Wait()
	if total.Load() != n {
		t.Fatalf("workers report %d sent; want %d", total.Load(), n)
	}
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		seen[m.Subject]++
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages arrived; want %d", len(seen), n)
	}
	for subj, c := range seen {
		if c != 1 {
			t.Errorf("%q arrived %d times", subj, c)
		}
	}
}

// TestWorkerLeaseRecoversCrash: a worker that claimed a message and died
// before sending leaves it leased; once the lease ends another worker sends
// it. Nothing queued is lost.
func TestWorkerLeaseRecoversCrash(t *testing.T) {
	ctx := t.Context()
	store := openStore(t, "")
	srv := smtptest.Start(t)
	clk := clocktest.New(t0)
	id := enqueue(t, store, clk.Now(), milogin.ChannelEmail, "dan@example.com", "password-changed",
		map[string]any{"Name": "", "UserID": "dand0001", "Help": help})
	// The "crashed" worker: claims, then nothing.
	err := store.Write(ctx, func(tx milogin.Tx) error {
		ms, err := tx.Outbox().Claim(ctx, clk.Now(), time.Minute, 20)
		if len(ms) != 1 {
			return fmt.Errorf("claimed %d messages", len(ms))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &notify.Worker{Store: store, Email: emailSender(t, srv), Now: clk.Now, Lease: time.Minute, Logger: slog.New(slog.DiscardHandler)}
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("during the lease: DeliverDue = %d, %v; want 0", sent, err)
	}
	clk.Add(time.Minute)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 1 {
		t.Fatalf("after the lease: DeliverDue = %d, %v; want 1", sent, err)
	}
	if m := message(t, store, id); m.SentAt.IsZero() || m.Attempts != 0 {
		t.Errorf("sent %v attempts %d", m.SentAt, m.Attempts)
	}
	if got := srv.WaitFor(t, nil, 5*time.Second); !strings.HasPrefix(got.Text, "Hello,") {
		t.Errorf("text %q", got.Text)
	}
}

func TestWorkerStartTLSAndAuth(t *testing.T) {
	ctx := t.Context()
	store := openStore(t, "")
	srv := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("milogin", "p@ss:word"))
	clk := clocktest.New(t0)
	w := &notify.Worker{
		Store:  store,
		Email:  emailSender(t, srv, smtp.WithRootCAs(srv.RootCAs()), smtp.WithRequireTLS()),
		Now:    clk.Now,
		Logger: slog.New(slog.DiscardHandler),
	}
	enqueue(t, store, clk.Now(), milogin.ChannelEmail, "erin@example.com", "account-locked", lockedData)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 1 {
		t.Fatalf("DeliverDue = %d, %v; want 1", sent, err)
	}
	got := srv.WaitFor(t, nil, 5*time.Second)
	if got.To[0] != "erin@example.com" || got.HTML == "" || got.Text == "" {
		t.Errorf("message %+v", got)
	}

	// Without the test CA the certificate is refused: a failure, retried,
	// never a fallback to plain text.
	w.Email = emailSender(t, srv)
	id := enqueue(t, store, clk.Now(), milogin.ChannelEmail, "frank@example.com", "account-locked", lockedData)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("untrusted: DeliverDue = %d, %v; want 0", sent, err)
	}
	if m := message(t, store, id); m.Attempts != 1 || !strings.Contains(m.LastError, "certificate") {
		t.Errorf("untrusted: attempts %d error %q", m.Attempts, m.LastError)
	}
}

// TestWorkerNoSender: a text message with no SMS sender stays queued, is
// not counted as a failure, and the worker warns once.
func TestWorkerNoSender(t *testing.T) {
	ctx := t.Context()
	store := openStore(t, "")
	srv := smtptest.Start(t)
	clk := clocktest.New(t0)
	var logs logBuffer
	w := &notify.Worker{Store: store, Email: emailSender(t, srv), Now: clk.Now, Logger: logs.Logger()}
	smsID := enqueue(t, store, clk.Now(), milogin.ChannelSMS, "+15175550100", "account-locked", lockedData)
	mailID := enqueue(t, store, clk.Now(), milogin.ChannelEmail, "gail@example.com", "account-locked", lockedData)
	for range 3 {
		if _, err := w.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
	}
	sms := message(t, store, smsID)
	if !sms.SentAt.IsZero() || !sms.FailedAt.IsZero() || sms.Attempts != 0 {
		t.Errorf("SMS: sent %v failed %v attempts %d; want still queued", sms.SentAt, sms.FailedAt, sms.Attempts)
	}
	if message(t, store, mailID).SentAt.IsZero() {
		t.Error("the email beside it was not sent")
	}
	if c := strings.Count(logs.String(), "no sender configured"); c != 1 {
		t.Errorf("warned %d times; want once:\n%s", c, logs.String())
	}
	if strings.Contains(logs.String(), "+15175550100") {
		t.Error("log contains the phone number")
	}

	// Once an SMS sender exists, the queued text goes out.
	var texts []*milogin.Message
	w.SMS = notify.SenderFunc(func(_ context.Context, m *milogin.Message) error {
		texts = append(texts, m)
		return nil
	})
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 1 {
		t.Fatalf("with SMS sender: DeliverDue = %d, %v", sent, err)
	}
	if len(texts) != 1 || texts[0].To != "+15175550100" || !strings.Contains(texts[0].Text, "locked for 30 minutes") {
		t.Errorf("texts %+v", texts)
	}
}

// TestWorkerManyDue: more than one claim's worth of due messages are all
// delivered by a single DeliverDue.
func TestWorkerManyDue(t *testing.T) {
	store := openStore(t, "")
	clk := clocktest.New(t0)
	const n = 45
	for i := range n {
		enqueueRaw(t, store, &milogin.Message{Channel: milogin.ChannelEmail, To: "x@example.com", Subject: fmt.Sprint(i), Text: "t", CreatedAt: t0, NextAttemptAt: t0})
	}
	var count atomic.Int32
	w := &notify.Worker{Store: store, Now: clk.Now, Logger: slog.New(slog.DiscardHandler),
		Email: notify.SenderFunc(func(context.Context, *milogin.Message) error { count.Add(1); return nil })}
	if sent, err := w.DeliverDue(t.Context()); err != nil || sent != n || count.Load() != n {
		t.Fatalf("DeliverDue = %d, %v (sender called %d times); want %d", sent, err, count.Load(), n)
	}
}

// TestWorkerShutdownMidSend: when ctx ends during a send, the failure is
// not held against the message: it is retried after the lease with no
// attempt counted.
func TestWorkerShutdownMidSend(t *testing.T) {
	store := openStore(t, "")
	clk := clocktest.New(t0)
	id := enqueueRaw(t, store, &milogin.Message{Channel: milogin.ChannelEmail, To: "h@example.com", Subject: "s", Text: "t", CreatedAt: t0, NextAttemptAt: t0})
	ctx, cancel := context.WithCancel(t.Context())
	w := &notify.Worker{Store: store, Now: clk.Now, Logger: slog.New(slog.DiscardHandler),
		Email: notify.SenderFunc(func(ctx context.Context, _ *milogin.Message) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		})}
	if _, err := w.DeliverDue(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeliverDue = %v; want context.Canceled", err)
	}
	if m := message(t, store, id); m.Attempts != 0 || !m.SentAt.IsZero() || !m.FailedAt.IsZero() {
		t.Errorf("attempts %d sent %v failed %v; want untouched", m.Attempts, m.SentAt, m.FailedAt)
	}
}

func TestWorkerRunAndKick(t *testing.T) {
	store := openStore(t, "")
	srv := smtptest.Start(t)
	w := &notify.Worker{Store: store, Email: emailSender(t, srv), Interval: time.Hour, Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	// Run's first round finds nothing; with an hour's interval only a kick
	// delivers the next message promptly.
	enqueue(t, store, time.Now(), milogin.ChannelEmail, "ivy@example.com", "account-locked", lockedData)
	w.Kick()
	w.Kick() // kicks never block and coalesce
	srv.WaitFor(t, func(m smtptest.Message) bool { return m.To[0] == "ivy@example.com" }, 10*time.Second)

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	// Kick before Run and with nobody listening never blocks either.
	var idle notify.Worker
	for range 3 {
		idle.Kick()
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{-1, 30 * time.Second},
		{0, 30 * time.Second},
		{1, time.Minute},
		{2, 2 * time.Minute},
		{3, 4 * time.Minute},
		{6, 32 * time.Minute},
		{7, time.Hour}, // 64 minutes, capped
		{10, time.Hour},
		{1000, time.Hour},
	}
	for _, tt := range tests {
		if got := notify.Backoff(tt.failures); got != tt.want {
			t.Errorf("Backoff(%d) = %v; want %v", tt.failures, got, tt.want)
		}
	}
}

// A decoy (the message a request for an unknown person composes so that it
// costs what a real one costs) is marked sent and never leaves: the mail
// server receives nothing.
func TestWorkerDropsDecoys(t *testing.T) {
	store := openStore(t, "")
	srv := smtptest.Start(t)
	clk := clocktest.New(t0)
	w := &notify.Worker{Store: store, Email: emailSender(t, srv), Now: clk.Now}
	m, err := notify.Compose(milogin.ChannelEmail, milogin.DecoyTo, "account-locked", lockedData)
	if err != nil {
		t.Fatal(err)
	}
	m.Channel, m.CreatedAt, m.NextAttemptAt = milogin.ChannelDecoy, clk.Now(), clk.Now()
	id := enqueueRaw(t, store, m)
	if sent, err := w.DeliverDue(t.Context()); err != nil || sent != 1 {
		t.Fatalf("DeliverDue = %d, %v; want 1, nil", sent, err)
	}
	if got := message(t, store, id); !got.SentAt.Equal(t0) {
		t.Errorf("decoy not marked done: %+v", got)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("the mail server got %d messages for a decoy", n)
	}
}
