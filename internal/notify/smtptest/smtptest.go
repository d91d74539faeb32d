// Package smtptest runs an in-process SMTP server for tests, the way
// net/http/httptest runs an HTTP server. It listens on 127.0.0.1, keeps every
// message it accepts, and can offer STARTTLS with a self-signed certificate,
// require AUTH PLAIN, and reject the first deliveries with a temporary error
// so that retries can be tested.
//
//	srv := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("u", "p"))
//	sender, _ := smtp.New(srv.URL(), "from@example.gov", smtp.WithRootCAs(srv.RootCAs()))
//	...
//	m := srv.WaitFor(t, func(m smtptest.Message) bool { return m.To[0] == "ann@example.com" }, 5*time.Second)
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one accepted message. From and To are the envelope (MAIL FROM
// and RCPT TO); Subject, Text and HTML are decoded from the MIME body.
type Message struct {
	From    string
	To      []string
	Subject string
	Text    string // the text/plain part, decoded
	HTML    string // the text/html part, decoded
	Raw     []byte // the message exactly as received after DATA
	// Header is the parsed top-level header of Raw.
	Header mail.Header
}

// Option configures a Server.
type Option func(*Server)

// WithTLS makes the server offer STARTTLS with a self-signed certificate for
// 127.0.0.1 and localhost; trust it with RootCAs. AUTH is then offered only
// after STARTTLS, as on a real server.
func WithTLS() Option { return func(s *Server) { s.useTLS = true } }

// WithImplicitTLS makes the server speak TLS from the first byte, like a
// port-465 server; URL then returns smtps://. It implies WithTLS's
// certificate (trust it with RootCAs).
func WithImplicitTLS() Option { return func(s *Server) { s.useTLS, s.implicitTLS = true, true } }

// WithAuth requires AUTH PLAIN with user and pass before MAIL FROM.
func WithAuth(user, pass string) Option {
	return func(s *Server) { s.user, s.pass, s.needAuth = user, pass, true }
}

// WithFailures rejects the first n DATA commands with a temporary
// "451 4.3.0" error, for testing retries.
func WithFailures(n int) Option { return func(s *Server) { s.failures = n } }

// Server is a running test SMTP server. It is safe for concurrent use.
type Server struct {
	useTLS      bool
	implicitTLS bool
	needAuth    bool
	user        string
	pass        string

	srv     *smtp.Server
	ln      net.Listener
	rootCAs *x509.CertPool
	tlsConf *tls.Config

	mu       sync.Mutex
	failures int // DATA commands still to reject
	rejected int
	msgs     []Message
	changed  chan struct{} // closed and replaced on every accepted message
}

// Start starts a server on 127.0.0.1 with a free port. It is closed when the
// test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{changed: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if s.useTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			tb.Fatalf("smtptest: %v", err)
		}
		conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if !s.implicitTLS {
			srv.TLSConfig = conf // offered by STARTTLS
		}
		s.tlsConf = conf
		s.rootCAs = pool
	} else {
		// Without TLS there is no other way to test AUTH.
		srv.AllowInsecureAuth = true
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s.srv, s.ln = srv, ln
	var serveLn net.Listener = ln
	if s.implicitTLS {
		serveLn = tls.NewListener(ln, s.tlsConf)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(serveLn)
	}()
	tb.Cleanup(func() {
		srv.Close()
		// Close forgets a listener that Serve has not registered yet (a
		// test that never connects can end that quickly): close it here too.
		ln.Close()
		<-done
	})
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns smtp://[user:pass@]127.0.0.1:port (smtps:// with
// WithImplicitTLS).
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr()}
	if s.implicitTLS {
		u.Scheme = "smtps"
	}
	if s.needAuth {
		u.User = url.UserPassword(s.user, s.pass)
	}
	return u.String()
}

// RootCAs returns a pool trusting the server's certificate (nil without
// WithTLS).
func (s *Server) RootCAs() *x509.CertPool { return s.rootCAs }

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Rejected returns how many DATA commands were rejected by WithFailures.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// WaitFor returns the first accepted message for which match returns true
// (any message if match is nil), waiting up to timeout for it to arrive. On
// timeout it fails the test with tb.Fatalf, so call it from the test's
// goroutine.
func (s *Server) WaitFor(tb testing.TB, match func(Message) bool, timeout time.Duration) Message {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			if match == nil || match(m) {
				s.mu.Unlock()
				return m
			}
		}
		changed, n := s.changed, len(s.msgs)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("smtptest: no matching message within %v (%d received)", timeout, n)
			return Message{}
		}
	}
}

func (s *Server) accept(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// reject reports whether this DATA command is to be refused.
func (s *Server) reject() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures > 0 {
		s.failures--
		s.rejected++
		return true
	}
	return false
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s}, nil
}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) AuthMechanisms() []string {
	if !se.s.needAuth {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if !se.s.needAuth || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if (identity != "" && identity != user) || user != se.s.user || pass != se.s.pass {
			return smtp.ErrAuthFailed
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.needAuth && !se.authed {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if se.s.needAuth && !se.authed {
		return smtp.ErrAuthRequired
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if se.s.needAuth && !se.authed {
		return smtp.ErrAuthRequired
	}
	if se.s.reject() {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure (smtptest)"}
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "smtptest: " + err.Error()}
	}
	m.From = se.from
	m.To = append([]string(nil), se.to...)
	se.s.accept(m)
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }

// Parse decodes a raw message: the Subject header (RFC 2047 words decoded)
// and the first text/plain and text/html parts at any multipart depth, with
// quoted-printable and base64 transfer encodings undone. From and To are
// left empty: the server fills them from the envelope.
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("parsing message: %w", err)
	}
	m := Message{Raw: raw, Header: msg.Header}
	dec := mime.WordDecoder{}
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("decoding subject: %w", err)
	}
	if err := walkPart(&m, msg.Header, msg.Body, 0); err != nil {
		return Message{}, err
	}
	return m, nil
}

// header is what mail.Header and multipart's textproto.MIMEHeader share.
type header interface{ Get(string) string }

func walkPart(m *Message, h header, body io.Reader, depth int) error {
	if depth > 10 {
		return errors.New("multipart nesting too deep")
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("parsing Content-Type %q: %w", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart() // NextPart would undo quoted-printable and drop the header
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading %s part: %w", mt, err)
			}
			if err := walkPart(m, p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("decoding %s part: %w", mt, err)
	}
	switch {
	case mt == "text/plain" && m.Text == "":
		m.Text = string(b)
	case mt == "text/html" && m.HTML == "":
		m.HTML = string(b)
	}
	return nil
}

// newlineStripper drops CR and LF so base64 lines decode as one stream.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// selfSigned makes an ECDSA certificate for 127.0.0.1, ::1 and localhost,
// valid for a day, and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
