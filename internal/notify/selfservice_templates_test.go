package notify_test

import (
	"strings"
	"testing"

	"milogin"
	"milogin/internal/notify"
)

// The user ID reminder is the guide's email, word for word.
func TestForgotUserIDEmailIsTheGuides(t *testing.T) {
	m, err := notify.Compose(milogin.ChannelEmail, "bob.smith@example.org", "forgot-user-id",
		map[string]any{"Name": "", "UserID": "smithb1234", "Portal": "MILogin for Third Party", "Help": help})
	if err != nil {
		t.Fatal(err)
	}
	want := "Hello,\n\nPursuant to your request, the following username is associated with the email address provided:\n\nsmithb1234\n\nIf you are facing any issues, please use Help Page link (https://milogintp.example.gov/thirdparty/help) to contact the help desk for further assistance.\n\nThanks,\nMILogin Team\n"
	if m.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", m.Text, want)
	}
	if m.Subject != "Regarding your MILogin user account" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.HTML, "smithb1234") || !strings.Contains(m.HTML, "Pursuant to your request") {
		t.Errorf("html: %s", m.HTML)
	}
}

func TestSelfServiceMessagesRender(t *testing.T) {
	pin := map[string]any{"PIN": "482913", "Minutes": 10, "Name": "John Smith", "Portal": "MILogin for Third Party", "Help": help}
	notice := map[string]any{"Name": "John Smith", "UserID": "smithj0000", "Portal": "MILogin for Third Party", "NewEmail": "j***h@example.org", "Help": help}
	for _, c := range []struct {
		name    string
		data    map[string]any
		subject string
		want    string
		sms     bool
	}{
		{"signup-pin", pin, "Your MILogin PIN to create your account", "482913", true},
		{"reset-pin", pin, "Your MILogin PIN to reset your password", "482913", true},
		{"email-change-pin", pin, "Your MILogin PIN to confirm your new email address", "482913", false},
		{"security-options-pin", pin, "Your MILogin PIN to change your security options", "482913", true},
		{"account-created", notice, "Account Creation Confirmed", "smithj0000", false},
		{"account-exists", notice, "Regarding your MILogin user account", "smithj0000", false},
		{"password-reset", notice, "Regarding your MILogin user account", "smithj0000", false},
		{"email-changed", notice, "Regarding your MILogin user account", "j***h@example.org", false},
		{"profile-changed", notice, "Regarding your MILogin user account", "smithj0000", false},
		{"security-options-changed", notice, "Regarding your MILogin user account", "smithj0000", false},
	} {
		m, err := notify.Compose(milogin.ChannelEmail, "john.smith@example.org", c.name, c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if m.Subject != c.subject || !strings.Contains(m.Text, c.want) || !strings.Contains(m.HTML, c.want) {
			t.Errorf("%s: subject %q, text %q", c.name, m.Subject, m.Text)
		}
		if !strings.HasPrefix(m.Text, "Hello John Smith,") && c.name != "forgot-user-id" {
			t.Errorf("%s: no greeting: %q", c.name, m.Text)
		}
		if c.sms {
			s, err := notify.Compose(milogin.ChannelSMS, "517-555-0100", c.name, c.data)
			if err != nil || !strings.Contains(s.Text, c.want) || len(s.Text) > 160 {
				t.Errorf("%s text message: %q (%d chars), %v", c.name, s.Text, len(s.Text), err)
			}
		}
	}
}
