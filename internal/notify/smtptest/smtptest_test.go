package smtptest_test

import (
	"crypto/tls"
	"net/smtp"
	"net/url"
	"strings"
	"testing"
	"time"

	"milogin/internal/notify/smtptest"
)

// The server is checked with the standard library's client, independent of
// the go-mail sender that the rest of the code uses.

const multipartMsg = "From: MILogin <from@example.gov>\r\n" +
	"To: ann@example.com\r\n" +
	"Subject: =?UTF-8?q?Regarding_your_MILogin_user_account_=E2=9C=93?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Hello =C3=85sa, your PIN is 004217 and this line is long enough to be wrapp=\r\n" +
	"ed by the encoder.\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+SGVsbG8gw4VzYSw8L3A+\r\n" +
	"--inner--\r\n" +
	"--outer--\r\n"

func TestParse(t *testing.T) {
	m, err := smtptest.Parse([]byte(multipartMsg))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Regarding your MILogin user account ✓" {
		t.Errorf("subject %q", m.Subject)
	}
	if want := "Hello Åsa, your PIN is 004217 and this line is long enough to be wrapped by the encoder."; m.Text != want {
		t.Errorf("text %q; want %q", m.Text, want)
	}
	if m.HTML != "<p>Hello Åsa,</p>" {
		t.Errorf("html %q", m.HTML)
	}
	if m.Header.Get("To") != "ann@example.com" || string(m.Raw) != multipartMsg {
		t.Error("header or raw bytes lost")
	}

	plain, err := smtptest.Parse([]byte("Subject: hi\r\n\r\njust text\r\n"))
	if err != nil || plain.Text != "just text\r\n" || plain.HTML != "" {
		t.Errorf("plain message: %+v, %v", plain, err)
	}
	for _, bad := range []string{"no header separator", "Content-Type: multipart/alternative; boundary=\"\r\n\r\n"} {
		if _, err := smtptest.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func send(t *testing.T, addr string, auth smtp.Auth, from string, to []string, msg string) error {
	t.Helper()
	return smtp.SendMail(addr, auth, from, to, []byte(msg))
}

func TestServerReceives(t *testing.T) {
	srv := smtptest.Start(t)
	if u, _ := url.Parse(srv.URL()); u.Scheme != "smtp" || u.Host != srv.Addr() || u.User != nil {
		t.Errorf("URL %q", srv.URL())
	}
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Errorf("Addr %q", srv.Addr())
	}
	if srv.RootCAs() != nil {
		t.Error("RootCAs without WithTLS")
	}
	// A message that arrives after WaitFor starts waiting is found.
	go func() {
		time.Sleep(50 * time.Millisecond)
		send(t, srv.Addr(), nil, "from@example.gov", []string{"ann@example.com", "bob@example.com"}, multipartMsg)
	}()
	m := srv.WaitFor(t, func(m smtptest.Message) bool { return strings.Contains(m.Text, "004217") }, 5*time.Second)
	if m.From != "from@example.gov" || strings.Join(m.To, ",") != "ann@example.com,bob@example.com" {
		t.Errorf("envelope %q → %q", m.From, m.To)
	}
	if len(srv.Messages()) != 1 {
		t.Errorf("%d messages", len(srv.Messages()))
	}
}

func TestServerFailures(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithFailures(2))
	for i := range 2 {
		err := send(t, srv.Addr(), nil, "f@example.gov", []string{"a@example.com"}, multipartMsg)
		if err == nil || !strings.Contains(err.Error(), "451") {
			t.Fatalf("send %d: %v; want a 451", i+1, err)
		}
	}
	if err := send(t, srv.Addr(), nil, "f@example.gov", []string{"a@example.com"}, multipartMsg); err != nil {
		t.Fatalf("third send: %v", err)
	}
	if srv.Rejected() != 2 || len(srv.Messages()) != 1 {
		t.Errorf("rejected %d accepted %d", srv.Rejected(), len(srv.Messages()))
	}
}

func TestServerAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("mailer", "p@ss word"))
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.User.Password(); u.User.Username() != "mailer" || pw != "p@ss word" {
		t.Errorf("URL %q does not carry the credentials", srv.URL())
	}
	if err := send(t, srv.Addr(), nil, "f@example.gov", []string{"a@example.com"}, multipartMsg); err == nil {
		t.Error("unauthenticated send accepted")
	}
	wrong := smtp.PlainAuth("", "mailer", "nope", "127.0.0.1")
	if err := send(t, srv.Addr(), wrong, "f@example.gov", []string{"a@example.com"}, multipartMsg); err == nil {
		t.Error("wrong password accepted")
	}
	right := smtp.PlainAuth("", "mailer", "p@ss word", "127.0.0.1")
	if err := send(t, srv.Addr(), right, "f@example.gov", []string{"a@example.com"}, multipartMsg); err != nil {
		t.Fatal(err)
	}
	if len(srv.Messages()) != 1 {
		t.Errorf("%d messages", len(srv.Messages()))
	}
}

func TestServerStartTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("mailer", "pw"))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before TLS")
	}
	if err := c.StartTLS(&tls.Config{RootCAs: srv.RootCAs(), ServerName: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "PLAIN") {
		t.Fatalf("AUTH after TLS: %v %q", ok, mechs)
	}
	if err := c.Auth(smtp.PlainAuth("", "mailer", "pw", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("f@example.gov"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("a@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(multipartMsg))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	srv.WaitFor(t, nil, 5*time.Second)
}

// TestServerUnusedCloses: a server nobody connects to shuts down at once at
// the end of the test (Cleanup must not wait on a listener Serve has not
// registered yet).
func TestServerUnusedCloses(t *testing.T) {
	for range 20 {
		t.Run("", func(t *testing.T) { smtptest.Start(t, smtptest.WithTLS()) })
	}
}
