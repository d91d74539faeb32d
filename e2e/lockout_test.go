package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"milogin/internal/notify/smtptest"
)

const (
	lockoutSubject = "Regarding your MILogin user account"
	johnEmail      = "john.smith@example.org"
)

// TestWrongPasswordAndLockout: a wrong password gets the generic message;
// the fifth in a row locks the account for 30 minutes, after which
// even the right password is refused; the lockout email is sent and shows
// in the demo mailbox.
func TestWrongPasswordAndLockout(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)

	const attempts = 5
	for i := 1; i <= attempts; i++ {
		b.signIn("smithj0001", "Wrong!Password"+string(rune('0'+i)))
		if i < attempts {
			b.expectText(msgIncorrect)
			b.expectNoText("Your account is locked")
			b.expectSignInPage()
			continue
		}
		// The fifth failure locks the account, and the page says so.
		b.expectText("Your account is locked", "30 minutes")
		b.expectNoText("Home Page of")
	}

	// While locked, even the correct password gets the locked message.
	b.signIn("smithj0001", demoPassword)
	b.expectText("Your account is locked", "30 minutes")
	b.expectNoText("Home Page of")
	b.visit(homePath)
	b.expectSignInPage()

	msg := srv.Mail.WaitFor(t, func(m smtptest.Message) bool {
		return m.Subject == lockoutSubject && slices.ContainsFunc(m.To, func(to string) bool {
			return strings.EqualFold(strings.Trim(to, "<> "), johnEmail)
		})
	}, 30*time.Second)
	if msg.Text == "" && msg.HTML == "" {
		t.Errorf("the lockout email has an empty body")
	}
	t.Logf("lockout email to %v:\n%s", msg.To, msg.Text)

	// Demo mode lists every email on /dev/mailbox.
	b.visit("/dev/mailbox")
	b.expectText(lockoutSubject, johnEmail)
}
