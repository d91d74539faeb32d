package cars

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Label of sealed outbox bodies (they may hold a code).
const sealMail = "cars outbox body"

// enqueueMail adds an email to CARS's own outbox, in the caller's
// transaction; the body is sealed until it is sent, then erased.
func enqueueMail(ctx context.Context, tx *sql.Tx, k *keys, to, subject, body string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cars_outbox (id, to_addr, subject, body_sealed, created_at, next_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		newID(), to, subject, k.sealString(sealMail, body), ms(now))
	return err
}

// Mailer sends an email.
type Mailer interface {
	Send(ctx context.Context, to, subject, text string) error
}

// SMTP sends over SMTP with go-mail: smtp://[user:pass@]host[:port]
// (STARTTLS when offered) or smtps:// (implicit TLS).
type SMTP struct {
	host, user, pass, from string
	port                   int
	implicitTLS            bool
}

// NewSMTP parses the server URL.
func NewSMTP(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("SMTP URL is not a valid URL") // url's error would repeat a password
	}
	s := &SMTP{host: u.Hostname(), from: from}
	switch u.Scheme {
	case "smtp":
		s.port = 25
	case "smtps":
		s.port, s.implicitTLS = 465, true
	default:
		return nil, fmt.Errorf("SMTP URL scheme %q: want smtp or smtps", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("SMTP port %q", p)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("sender address %q: %w", from, err)
	}
	return s, nil
}

func (s *SMTP) Send(ctx context.Context, to, subject, text string) error {
	m := gomail.NewMsg()
	if err := m.From(s.from); err != nil {
		return err
	}
	if err := m.To(to); err != nil {
		return err
	}
	m.Subject(subject)
	var id [16]byte
	rand.Read(id[:])
	domain := s.from[strings.LastIndexByte(s.from, '@')+1:]
	m.SetMessageIDWithValue(hex.EncodeToString(id[:]) + "@" + strings.TrimRight(domain, ">"))
	m.SetDate()
	m.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	m.SetBodyString(gomail.TypeTextPlain, text)
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(30 * time.Second), gomail.WithTLSPolicy(gomail.TLSOpportunistic)}
	if s.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	}
	if s.user != "" {
		opts = append(opts, gomail.WithUsername(s.user), gomail.WithPassword(s.pass),
			gomail.WithSMTPAuth(gomail.SMTPAuthPlain))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, m)
}

// outbox delivers queued emails. Each is claimed by moving its next_at
// forward before sending, so several nodes never send one twice at once.
type outbox struct {
	db     *DB
	keys   *keys
	mailer Mailer
	log    *slog.Logger
	now    func() time.Time
}

func (o *outbox) run(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if err := o.deliverDue(ctx); err != nil && ctx.Err() == nil {
			o.log.Error("outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (o *outbox) deliverDue(ctx context.Context) error {
	now := o.now()
	rows, err := o.db.sql.QueryContext(ctx, `SELECT id, to_addr, subject, body_sealed, attempts FROM cars_outbox
		WHERE sent_at = 0 AND next_at <= $1 AND attempts < 10 ORDER BY created_at LIMIT 20`, ms(now))
	if err != nil {
		return err
	}
	type item struct {
		id, to, subject, body string
		attempts              int
	}
	var due []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.id, &it.to, &it.subject, &it.body, &it.attempts); err != nil {
			rows.Close()
			return err
		}
		due = append(due, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, it := range due {
		// Claim: whoever moves next_at sends it.
		res, err := o.db.sql.ExecContext(ctx, `UPDATE cars_outbox SET next_at = $2, attempts = attempts + 1 WHERE id = $1 AND sent_at = 0 AND attempts = $3`,
			it.id, ms(now.Add(time.Duration(1<<it.attempts)*30*time.Second)), it.attempts)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue
		}
		body, err := o.keys.openString(sealMail, it.body)
		if err == nil {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			err = o.mailer.Send(sctx, it.to, it.subject, body)
			cancel()
		}
		if err != nil {
			o.log.Warn("sending email failed; will retry", "id", it.id, "attempt", it.attempts+1, "err", err)
			_, _ = o.db.sql.ExecContext(ctx, `UPDATE cars_outbox SET last_error = $2 WHERE id = $1`, it.id, err.Error())
			continue
		}
		// Sent: the body (perhaps a code) is erased.
		if _, err := o.db.sql.ExecContext(ctx, `UPDATE cars_outbox SET sent_at = $2, body_sealed = '', last_error = '' WHERE id = $1`, it.id, ms(o.now())); err != nil {
			return err
		}
		o.log.Info("email sent", "id", it.id, "subject", it.subject)
	}
	return nil
}
