package smtp_test

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"milogin"
	"milogin/internal/notify"
	"milogin/internal/notify/smtp"
	"milogin/internal/notify/smtptest"
)

const from = "DONOTREPLY-MILogin@michigan.gov"

func email(to string) *milogin.Message {
	return &milogin.Message{
		Channel: milogin.ChannelEmail,
		To:      to,
		Subject: "Regarding your MILogin user account",
		Text:    "Hello Ann,\n\nYour PIN is 004217. Ünïcödé ok.\n",
		HTML:    "<p>Hello Ann,</p><p>Your PIN is <strong>004217</strong>. Ünïcödé ok.</p>",
	}
}

func TestSendPlainAndHTML(t *testing.T) {
	srv := smtptest.Start(t)
	s, err := smtp.New(srv.URL(), "MILogin <"+from+">")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), email("ann@example.com")); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(t, nil, 5*time.Second)
	if m.From != from || len(m.To) != 1 || m.To[0] != "ann@example.com" {
		t.Errorf("envelope from %q to %q", m.From, m.To)
	}
	if m.Subject != "Regarding your MILogin user account" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Text, "Your PIN is 004217. Ünïcödé ok.") {
		t.Errorf("text part %q", m.Text)
	}
	if !strings.Contains(m.HTML, "<strong>004217</strong>. Ünïcödé ok.") {
		t.Errorf("HTML part %q", m.HTML)
	}
	mt := m.Header.Get("Content-Type")
	if !strings.HasPrefix(mt, "multipart/alternative") {
		t.Errorf("Content-Type %q; want multipart/alternative", mt)
	}
	if id := m.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@michigan.gov>") {
		t.Errorf("Message-ID %q", id)
	}
	if d, err := m.Header.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date %q: %v", m.Header.Get("Date"), err)
	}
	if a, err := mail.ParseAddress(m.Header.Get("From")); err != nil || a.Address != from || a.Name != "MILogin" {
		t.Errorf("From header %q", m.Header.Get("From"))
	}
	if got := m.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted %q", got)
	}
}

func TestSendTextOnly(t *testing.T) {
	srv := smtptest.Start(t)
	s, err := smtp.New(srv.URL(), from)
	if err != nil {
		t.Fatal(err)
	}
	msg := email("bob@example.com")
	msg.HTML = ""
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(t, nil, 5*time.Second)
	if m.HTML != "" || !strings.Contains(m.Text, "004217") {
		t.Errorf("text %q html %q", m.Text, m.HTML)
	}
}

func TestSendStartTLSAndAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("mailer", "s3cret:/@pw"))
	if !strings.HasPrefix(srv.URL(), "smtp://mailer:") {
		t.Fatalf("URL %q", srv.URL())
	}
	s, err := smtp.New(srv.URL(), from, smtp.WithRootCAs(srv.RootCAs()), smtp.WithRequireTLS())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), email("carol@example.com")); err != nil {
		t.Fatal(err)
	}
	if m := srv.WaitFor(t, nil, 5*time.Second); m.To[0] != "carol@example.com" {
		t.Errorf("to %q", m.To)
	}
	if strings.Contains(s.String(), "s3cret") {
		t.Errorf("String() leaks the password: %s", s)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithImplicitTLS(), smtptest.WithAuth("mailer", "pw"))
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("URL %q", srv.URL())
	}
	s, err := smtp.New(srv.URL(), from, smtp.WithRootCAs(srv.RootCAs()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), email("dan@example.com")); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, func(m smtptest.Message) bool { return m.To[0] == "dan@example.com" }, 5*time.Second)
}

func TestSendFailures(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		srv  []smtptest.Option
		url  func(*smtptest.Server) string
		opts func(*smtptest.Server) []smtp.Option
	}{
		{
			name: "untrusted certificate",
			srv:  []smtptest.Option{smtptest.WithTLS()},
			// STARTTLS is offered but the certificate is not trusted: no
			// fallback to plain text.
		},
		{
			name: "wrong password",
			srv:  []smtptest.Option{smtptest.WithAuth("mailer", "right")},
			url:  func(s *smtptest.Server) string { return "smtp://mailer:wrong@" + s.Addr() },
		},
		{
			name: "no credentials where required",
			srv:  []smtptest.Option{smtptest.WithAuth("mailer", "right")},
			url:  func(s *smtptest.Server) string { return "smtp://" + s.Addr() },
		},
		{
			name: "TLS required but not offered",
			opts: func(*smtptest.Server) []smtp.Option { return []smtp.Option{smtp.WithRequireTLS()} },
		},
		{
			name: "temporary rejection",
			srv:  []smtptest.Option{smtptest.WithFailures(1)},
		},
		{
			name: "nobody listening",
			url:  func(*smtptest.Server) string { return "smtp://127.0.0.1:1" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.srv...)
			u := srv.URL()
			if tt.url != nil {
				u = tt.url(srv)
			}
			var opts []smtp.Option
			if tt.opts != nil {
				opts = tt.opts(srv)
			}
			opts = append(opts, smtp.WithTimeout(5*time.Second))
			s, err := smtp.New(u, from, opts...)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(ctx, email("eve@example.com"))
			t.Logf("error: %v", err)
			if err == nil {
				t.Fatal("Send succeeded")
			} else if strings.Contains(err.Error(), "004217") {
				t.Errorf("error text contains the message body: %v", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server accepted %d messages", n)
			}
		})
	}
}

func TestSendRespectsContext(t *testing.T) {
	srv := smtptest.Start(t)
	s, err := smtp.New(srv.URL(), from)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = s.Send(ctx, email("frank@example.com"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send(cancelled) = %v; want context.Canceled", err)
	}
}

// TestSendCancelsStalledServer checks that ctx, not only go-mail's
// per-command timeout, bounds a send: the server accepts the connection and
// never answers.
func TestSendCancelsStalledServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	s, err := smtp.New("smtp://"+ln.Addr().String(), from, smtp.WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, email("gina@example.com"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send = %v; want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}
}

func TestSendRejectsOtherChannels(t *testing.T) {
	s, err := smtp.New("smtp://127.0.0.1:25", from)
	if err != nil {
		t.Fatal(err)
	}
	m := email("+15175550100")
	m.Channel = milogin.ChannelSMS
	if err := s.Send(t.Context(), m); !milogin.IsKind(err, milogin.EINVALID) {
		t.Fatalf("Send(sms) = %v; want EINVALID", err)
	}
	m = email("not an address")
	if err := s.Send(t.Context(), m); !milogin.IsKind(err, milogin.EINVALID) {
		t.Fatalf("Send(bad address) = %v; want EINVALID", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		url, from string
		ok        bool
		str       string
	}{
		{"smtp://mail.example.gov:587", from, true, "smtp://mail.example.gov:587"},
		{"smtp://mail.example.gov", from, true, "smtp://mail.example.gov:25"},
		{"smtps://mail.example.gov", from, true, "smtps://mail.example.gov:465"},
		{"smtp://u:p@mail.example.gov:2525/", from, true, "smtp://(auth)@mail.example.gov:2525"},
		{"smtp://[::1]:2525", from, true, "smtp://[::1]:2525"},
		{"smtp://mail.example.gov:587", "MILogin <" + from + ">", true, ""},
		{"http://mail.example.gov", from, false, ""},
		{"mail.example.gov:25", from, false, ""},
		{"smtp://", from, false, ""},
		{"smtp://mail.example.gov:0", from, false, ""},
		{"smtp://mail.example.gov:99999", from, false, ""},
		{"smtp://mail.example.gov:x", from, false, ""},
		{"smtp://mail.example.gov/inbox", from, false, ""},
		{"smtp://mail.example.gov?tls=1", from, false, ""},
		{"smtp://mail.example.gov", "", false, ""},
		{"smtp://mail.example.gov", "not an address", false, ""},
		{"smtp://u:p%zz@mail.example.gov", from, false, ""},
	}
	for _, tt := range tests {
		s, err := smtp.New(tt.url, tt.from)
		if (err == nil) != tt.ok {
			t.Errorf("New(%q, %q) error = %v; want ok %v", tt.url, tt.from, err, tt.ok)
			continue
		}
		if err != nil {
			if !milogin.IsKind(err, milogin.EINVALID) {
				t.Errorf("New(%q) error kind %v; want EINVALID", tt.url, milogin.ErrorKind(err))
			}
			if strings.Contains(err.Error(), "p%zz") {
				t.Errorf("New(%q) error repeats the credentials: %v", tt.url, err)
			}
			continue
		}
		if tt.str != "" && s.String() != tt.str {
			t.Errorf("New(%q).String() = %q; want %q", tt.url, s.String(), tt.str)
		}
	}
}

var _ notify.Sender = (*smtp.Sender)(nil)
