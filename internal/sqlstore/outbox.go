package sqlstore

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strconv"
	"time"

	"milogin"
)

// DefaultMessageLimit is how many messages List returns when the filter sets no limit.
const DefaultMessageLimit = 100

const msgNoMessage = "Message not found."

type outbox struct{ t *tx }

var _ milogin.Outbox = outbox{}

const messageCols = `id, channel, to_addr, subject, body_text, body_html, sealed, created_at,
	attempts, next_attempt_at, sent_at, failed_at, last_error`

// The additional data binds each sealed body to its field, so that a text
// body cannot be swapped into the HTML column unnoticed.
var (
	adText = []byte("milogin.outbox.body_text")
	adHTML = []byte("milogin.outbox.body_html")
)

// seal encrypts a body when an AEAD is configured: nonce || ciphertext.
func (o *Options) seal(plain string, ad []byte) ([]byte, error) {
	if o.AEAD == nil {
		return []byte(plain), nil
	}
	nonce := make([]byte, o.AEAD.NonceSize(), o.AEAD.NonceSize()+len(plain)+o.AEAD.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return o.AEAD.Seal(nonce, nonce, []byte(plain), ad), nil
}

// open is the inverse of seal. A body stored sealed cannot be read without
// the key; a body stored before sealing was turned on is returned as it is.
func (o *Options) open(stored []byte, sealed bool, ad []byte) (string, error) {
	if !sealed {
		return string(stored), nil
	}
	if o.AEAD == nil {
		return "", errors.New("outbox message is sealed but no key is configured")
	}
	n := o.AEAD.NonceSize()
	if len(stored) < n {
		return "", errors.New("sealed outbox body is too short")
	}
	plain, err := o.AEAD.Open(nil, stored[:n], stored[n:], ad)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

func (r outbox) scan(s scanner) (*milogin.Message, error) {
	var (
		m                               milogin.Message
		channel                         string
		text, html                      []byte
		sealed                          bool
		created, next, sentAt, failedAt int64
	)
	if err := s.Scan(&m.ID, &channel, &m.To, &m.Subject, &text, &html, &sealed, &created,
		&m.Attempts, &next, &sentAt, &failedAt, &m.LastError); err != nil {
		return nil, err
	}
	var err error
	if m.Text, err = r.t.opts.open(text, sealed, adText); err != nil {
		return nil, err
	}
	if m.HTML, err = r.t.opts.open(html, sealed, adHTML); err != nil {
		return nil, err
	}
	m.Channel = milogin.Channel(channel)
	m.CreatedAt = fromDB(created)
	m.NextAttemptAt = fromDB(next)
	m.SentAt = fromDB(sentAt)
	m.FailedAt = fromDB(failedAt)
	return &m, nil
}

func (r outbox) scanAll(op string, q string, args ...any) func(ctx context.Context) ([]*milogin.Message, error) {
	return func(ctx context.Context) ([]*milogin.Message, error) {
		return queryAll(ctx, r.t.q, op, r.scan, q, args...)
	}
}

// Enqueue stores m and sets m.ID. A zero NextAttemptAt makes it due at once.
func (r outbox) Enqueue(ctx context.Context, m *milogin.Message) error {
	const op = "sqlstore.Outbox.Enqueue"
	if err := r.t.writable(op); err != nil {
		return err
	}
	text, err := r.t.opts.seal(m.Text, adText)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	html, err := r.t.opts.seal(m.HTML, adHTML)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	err = r.t.q.QueryRowContext(ctx, `INSERT INTO outbox (channel, to_addr, subject, body_text, body_html,
		sealed, created_at, attempts, next_attempt_at, sent_at, failed_at, last_error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		string(m.Channel), m.To, m.Subject, text, html, r.t.opts.AEAD != nil, toDB(m.CreatedAt),
		m.Attempts, toDB(m.NextAttemptAt), toDB(m.SentAt), toDB(m.FailedAt), m.LastError).Scan(&m.ID)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

// Claim picks due messages in id order and pushes their next attempt to
// now+lease in one statement. On PostgreSQL the picking SELECT skips rows
// that another worker has locked, so workers on several nodes divide the
// queue instead of queueing behind each other; the CTE is MATERIALIZED so
// that it is evaluated exactly once on both engines.
func (r outbox) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*milogin.Message, error) {
	const op = "sqlstore.Outbox.Claim"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	list, err := r.scanAll(op, `WITH due AS MATERIALIZED (
			SELECT id FROM outbox
			WHERE sent_at = 0 AND failed_at = 0 AND next_attempt_at <= $2
			ORDER BY id LIMIT $3`+r.t.d.SkipLocked+`
		)
		UPDATE outbox SET next_attempt_at = $1
		WHERE id IN (SELECT id FROM due)
		RETURNING `+messageCols,
		toDB(now.Add(lease)), toDB(now), limit)(ctx)
	if err != nil {
		return nil, err
	}
	// RETURNING promises no order.
	slices.SortFunc(list, func(a, b *milogin.Message) int { return compareInt64(a.ID, b.ID) })
	return list, nil
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r outbox) MarkSent(ctx context.Context, id int64, at time.Time) error {
	const op = "sqlstore.Outbox.MarkSent"
	if err := r.t.writable(op); err != nil {
		return err
	}
	res, err := r.t.q.ExecContext(ctx, `UPDATE outbox SET sent_at = $2 WHERE id = $1`, id, toDB(at))
	return rowsAffected(op, res, err, msgNoMessage)
}

// MarkFailed counts an attempt. With a zero next the message is given up at
// at; otherwise it becomes due again at next.
func (r outbox) MarkFailed(ctx context.Context, id int64, errText string, next time.Time, at time.Time) error {
	const op = "sqlstore.Outbox.MarkFailed"
	if err := r.t.writable(op); err != nil {
		return err
	}
	var q string
	var when int64
	if next.IsZero() {
		q = `UPDATE outbox SET attempts = attempts + 1, last_error = $2, failed_at = $3 WHERE id = $1`
		when = toDB(at)
	} else {
		q = `UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1`
		when = toDB(next)
	}
	res, err := r.t.q.ExecContext(ctx, q, id, errText, when)
	return rowsAffected(op, res, err, msgNoMessage)
}

// List returns messages newest first, for the development mailbox.
func (r outbox) List(ctx context.Context, f milogin.MessageFilter) ([]*milogin.Message, error) {
	const op = "sqlstore.Outbox.List"
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultMessageLimit
	}
	q := `SELECT ` + messageCols + ` FROM outbox`
	args := []any{}
	if f.To != "" {
		args = append(args, f.To)
		q += ` WHERE to_addr = $1`
	}
	args = append(args, limit)
	q += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	return r.scanAll(op, q, args...)(ctx)
}
