// Package notify delivers the outbox. Messages (emails, texts) are composed
// from embedded templates and enqueued in the same transaction as the change
// that causes them; a Worker, on any number of nodes, later claims due
// messages, hands each to a Sender, and records the outcome. A crash between
// the change and the delivery loses nothing; a crash between a send and its
// record means the message is sent again after its lease, so delivery is at
// least once.
//
// Logs name a message by ID, channel and attempt, never by its body or
// recipient: bodies carry PINs and passcodes.
package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"milogin"
)

// Sender delivers one message over one channel. Email and SMS providers
// implement it; tests use smtptest or a fake.
type Sender interface {
	Send(ctx context.Context, m *milogin.Message) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m *milogin.Message) error

// Send calls f(ctx, m).
func (f SenderFunc) Send(ctx context.Context, m *milogin.Message) error { return f(ctx, m) }

// Defaults for the zero fields of Worker.
const (
	DefaultInterval    = 2 * time.Second
	DefaultLease       = time.Minute
	DefaultMaxAttempts = 10

	// batchSize is how many messages one claim takes.
	batchSize = 20
	// maxBatches bounds one DeliverDue call, so that a huge backlog cannot
	// keep it from returning (the next tick continues).
	maxBatches = 50

	// recordTimeout bounds writing a delivery's outcome, which is done even
	// after ctx ends.
	recordTimeout = 10 * time.Second

	backoffBase = 30 * time.Second
	backoffMax  = time.Hour
)

// Worker delivers due outbox messages. Set the fields, then call Run (or
// DeliverDue from tests); zero fields take the defaults above. Several
// workers, on one node or many, may share a Store: a claim leases a message
// to one worker at a time.
type Worker struct {
	Store milogin.Store
	Email Sender // for milogin.ChannelEmail; nil leaves emails queued
	SMS   Sender // for milogin.ChannelSMS; nil leaves texts queued

	// Backchannel delivers OpenID Connect back-channel logouts
	// (milogin.ChannelBackchannel); nil leaves them queued.
	Backchannel Sender

	Now func() time.Time
	// Logger receives one line per delivery outcome; nil means slog.Default().
	Logger *slog.Logger
	// Interval is how often Run looks for due messages when not kicked.
	Interval time.Duration
	// Lease is how long a claimed batch is reserved for this worker. Sends
	// are cut off when it ends, so it bounds a slow send; messages of the
	// batch not yet tried by then stay queued for the next claim.
	Lease time.Duration
	// MaxAttempts is how many failed sends give a message up.
	MaxAttempts int

	initOnce sync.Once
	kick     chan struct{}

	mu     sync.Mutex
	warned map[milogin.Channel]bool
}

func (w *Worker) init() {
	w.initOnce.Do(func() { w.kick = make(chan struct{}, 1) })
}

// Kick asks Run to deliver now instead of at the next tick. It never blocks:
// kicks that arrive while one is pending are merged.
func (w *Worker) Kick() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run delivers due messages every Interval and after every Kick until ctx is
// done; it returns ctx's error. Failures are logged and retried, never fatal.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	t := time.NewTicker(w.interval())
	defer t.Stop()
	for {
		if _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			w.logger().LogAttrs(ctx, slog.LevelError, "outbox: delivery round failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-w.kick:
		}
	}
}

// DeliverDue claims the messages due now, sends each outside any
// transaction, and records it as sent or failed. A failed message is retried
// after 30s·2^(earlier failures), at most an hour, and given up after
// MaxAttempts failures. A message whose channel has no Sender is left queued.
// It returns how many messages were sent and the first storage error.
func (w *Worker) DeliverDue(ctx context.Context) (sent int, err error) {
	now := w.now()
	lease := w.lease()
	for range maxBatches {
		if err := ctx.Err(); err != nil {
			return sent, err
		}
		var batch []*milogin.Message
		err := w.Store.Write(ctx, func(tx milogin.Tx) error {
			var err error
			batch, err = tx.Outbox().Claim(ctx, now, lease, batchSize)
			return err
		})
		if err != nil {
			return sent, milogin.Wrap("notify.DeliverDue", err)
		}
		// The lease runs from the claim; every send must end before it does,
		// or another worker could claim the message while it is still going.
		deadline := time.Now().Add(lease)
		for _, m := range batch {
			ok, err := w.deliver(ctx, m, deadline)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
		// Claimed messages are leased past now, so the next claim with the
		// same now sees only messages not yet looked at.
		if len(batch) < batchSize {
			break
		}
	}
	return sent, nil
}

// deliver sends one claimed message and records the outcome. It reports
// whether the message was sent; err is a storage error only.
func (w *Worker) deliver(ctx context.Context, m *milogin.Message, deadline time.Time) (bool, error) {
	log := w.logger()
	attempt := m.Attempts + 1
	attrs := []slog.Attr{
		slog.Int64("message_id", m.ID),
		slog.String("channel", string(m.Channel)),
		slog.Int("attempt", attempt),
	}
	s := w.sender(m.Channel)
	if s == nil {
		// Leave it queued: the claim's lease expires and it is due again,
		// ready for when a sender is configured.
		w.mu.Lock()
		first := !w.warned[m.Channel]
		if w.warned == nil {
			w.warned = map[milogin.Channel]bool{}
		}
		w.warned[m.Channel] = true
		w.mu.Unlock()
		if first {
			log.LogAttrs(ctx, slog.LevelWarn, "outbox: no sender configured for channel; messages stay queued", attrs...)
		}
		return false, nil
	}

	if time.Until(deadline) <= 0 {
		// The lease ran out while earlier messages were sent; the message
		// may already be another worker's. It stays queued.
		return false, nil
	}
	sctx, cancel := context.WithDeadline(ctx, deadline)
	sendErr := s.Send(sctx, m)
	cancel()
	at := w.now()

	// The outcome is recorded even when ctx ends during the send: a sent
	// message that is not marked would go out twice.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer rcancel()
	if sendErr == nil {
		err := w.Store.Write(rctx, func(tx milogin.Tx) error {
			return tx.Outbox().MarkSent(rctx, m.ID, at)
		})
		if err != nil {
			// The message went out but is not recorded: it will be sent
			// again when its lease ends.
			log.LogAttrs(ctx, slog.LevelError, "outbox: sent but not recorded", append(attrs, slog.String("error", err.Error()))...)
			return true, milogin.Wrap("notify.DeliverDue", err)
		}
		log.LogAttrs(ctx, slog.LevelInfo, "outbox: sent", attrs...)
		return true, nil
	}

	if ctx.Err() != nil {
		// Shutting down: not the message's fault. Its lease ends and another
		// worker (or the next start) tries again without counting a failure.
		return false, ctx.Err()
	}
	var next time.Time // zero gives the message up
	if attempt < w.maxAttempts() {
		next = at.Add(Backoff(m.Attempts))
	}
	errText := sendErr.Error()
	err := w.Store.Write(rctx, func(tx milogin.Tx) error {
		return tx.Outbox().MarkFailed(rctx, m.ID, errText, next, at)
	})
	if err != nil {
		return false, milogin.Wrap("notify.DeliverDue", err)
	}
	if next.IsZero() {
		log.LogAttrs(ctx, slog.LevelError, "outbox: giving up on message", append(attrs, slog.String("error", errText))...)
	} else {
		log.LogAttrs(ctx, slog.LevelWarn, "outbox: send failed; will retry", append(attrs,
			slog.String("error", errText), slog.Time("next_attempt", next))...)
	}
	return false, nil
}

// Backoff is the wait before retrying a message that has failed failures+1
// times: 30s·2^failures, capped at an hour.
func Backoff(failures int) time.Duration {
	if failures < 0 {
		failures = 0
	}
	d := backoffBase
	for range failures {
		d *= 2
		if d >= backoffMax {
			return backoffMax
		}
	}
	return d
}

func (w *Worker) sender(ch milogin.Channel) Sender {
	switch ch {
	case milogin.ChannelEmail:
		return w.Email
	case milogin.ChannelSMS:
		return w.SMS
	case milogin.ChannelBackchannel:
		return w.Backchannel
	case milogin.ChannelDecoy:
		return discard{}
	}
	return nil
}

// discard "delivers" decoy messages: they exist only so that a request for
// an unknown person costs what a real one costs.
type discard struct{}

func (discard) Send(context.Context, *milogin.Message) error { return nil }

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

func (w *Worker) interval() time.Duration {
	if w.Interval > 0 {
		return w.Interval
	}
	return DefaultInterval
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return DefaultMaxAttempts
}
