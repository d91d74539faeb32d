// Package smtp sends outbox emails over SMTP with github.com/wneessen/go-mail.
//
// A Sender is configured by a URL:
//
//	smtp://[user:pass@]host[:port]   port 25 by default; STARTTLS whenever the
//	                                 server offers it (WithRequireTLS to insist)
//	smtps://[user:pass@]host[:port]  implicit TLS, port 465 by default
//
// With user info, the sender authenticates with AUTH PLAIN (or LOGIN when
// PLAIN is not offered); credentials are never sent over an unencrypted
// connection except to a loopback address. Every message is
// multipart/alternative with a plain-text and, when the message has one, an
// HTML part, and carries Message-ID and Date headers.
package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"milogin"
	"milogin/internal/notify"
)

// Sender delivers milogin.ChannelEmail messages. It is safe for concurrent
// use; each Send opens its own connection.
type Sender struct {
	host        string
	port        int
	implicitTLS bool
	user, pass  string
	auth        bool
	from        string
	fromDomain  string

	rootCAs    *x509.CertPool
	timeout    time.Duration
	requireTLS bool
}

var _ notify.Sender = (*Sender)(nil)

// Option configures a Sender.
type Option func(*Sender)

// WithRootCAs sets the certificate authorities trusted for the server's
// certificate (default: the system's).
func WithRootCAs(pool *x509.CertPool) Option { return func(s *Sender) { s.rootCAs = pool } }

// WithTimeout bounds connecting and each SMTP command (default 30s). The
// context passed to Send bounds the whole delivery as well.
func WithTimeout(d time.Duration) Option {
	return func(s *Sender) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithRequireTLS refuses to send over smtp:// unless the server offers
// STARTTLS (by default TLS is used whenever it is offered).
func WithRequireTLS() Option { return func(s *Sender) { s.requireTLS = true } }

// New returns a Sender for the server at rawURL that sends as from (an
// address, optionally with a display name: "MILogin <DONOTREPLY-MILogin@michigan.gov>").
func New(rawURL, from string, opts ...Option) (*Sender, error) {
	const op = "smtp.New"
	invalid := func(format string, args ...any) (*Sender, error) {
		return nil, &milogin.Error{Op: op, Kind: milogin.EINVALID, Msg: fmt.Sprintf(format, args...)}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's error repeats the URL, password included.
		return invalid("SMTP URL is not a valid URL")
	}
	s := &Sender{timeout: 30 * time.Second}
	switch u.Scheme {
	case "smtp":
		s.port = 25
	case "smtps":
		s.port = 465
		s.implicitTLS = true
	default:
		return invalid("SMTP URL scheme %q: want smtp or smtps", u.Scheme)
	}
	if s.host = u.Hostname(); s.host == "" {
		return invalid("SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return invalid("SMTP URL port %q is not a port number", p)
		}
		s.port = n
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return invalid("SMTP URL must be scheme://[user:pass@]host[:port] with nothing after the port")
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		s.auth = s.user != ""
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return invalid("sender address %q is not an email address", from)
	}
	s.from = addr.String()
	s.fromDomain = addr.Address[strings.LastIndexByte(addr.Address, '@')+1:]
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// String describes the server without credentials, for logs.
func (s *Sender) String() string {
	scheme := "smtp"
	if s.implicitTLS {
		scheme = "smtps"
	}
	auth := ""
	if s.auth {
		auth = "(auth)@"
	}
	return fmt.Sprintf("%s://%s%s", scheme, auth, net.JoinHostPort(s.host, strconv.Itoa(s.port)))
}

// Send delivers an email message. It gives up when ctx ends, closing the
// connection even in the middle of a command.
func (s *Sender) Send(ctx context.Context, m *milogin.Message) error {
	const op = "smtp.Send"
	if m.Channel != milogin.ChannelEmail {
		return &milogin.Error{Op: op, Kind: milogin.EINVALID, Msg: fmt.Sprintf("cannot send a %q message by email", m.Channel)}
	}
	msg, err := s.compose(m)
	if err != nil {
		return &milogin.Error{Op: op, Kind: milogin.EINVALID, Err: err}
	}

	// Every connection of this send is closed when ctx ends; go-mail itself
	// only bounds commands by its timeout.
	var (
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
	})
	defer stop()
	tlsConf := &tls.Config{ServerName: s.host, RootCAs: s.rootCAs, MinVersion: tls.VersionTLS12}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: s.timeout}
		c, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		if closed {
			mu.Unlock()
			c.Close()
			return nil, ctx.Err()
		}
		conns = append(conns, c)
		mu.Unlock()
		if !s.implicitTLS {
			return c, nil
		}
		tc := tls.Client(c, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			c.Close()
			return nil, err
		}
		// go-mail recognises TLS by the *tls.Conn type: return it as is.
		return tc, nil
	}

	policy := gomail.TLSOpportunistic
	if s.requireTLS {
		policy = gomail.TLSMandatory
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithDialContextFunc(dial),
	}
	if s.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	}
	if s.auth {
		opts = append(opts,
			gomail.WithUsername(s.user),
			gomail.WithPassword(s.pass),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: err}
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: fmt.Errorf("sending via %s: %w", s, err)}
	}
	return nil
}

func (s *Sender) compose(m *milogin.Message) (*gomail.Msg, error) {
	if m.Text == "" && m.HTML == "" {
		return nil, errors.New("message has no body")
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("sender address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient address: %w", err)
	}
	msg.Subject(m.Subject)
	var id [16]byte
	rand.Read(id[:])
	msg.SetMessageIDWithValue(hex.EncodeToString(id[:]) + "@" + s.fromDomain)
	msg.SetDate()
	// RFC 3834: an automatic message; auto-responders should stay quiet.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	switch {
	case m.HTML == "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	case m.Text == "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
