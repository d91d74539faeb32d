package notify_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"milogin"
	"milogin/internal/notify"
)

const closing = "If you are facing any issues, please use Help Page link (https://milogintp.example.gov/thirdparty/help) to contact the help desk for further assistance.\n\nThanks,\nMILogin Team\n"

// help is the portal's help desk every email links to.
var help = milogin.HelpDesk{Name: "MILogin Help Desk", URL: "https://milogintp.example.gov/thirdparty/help"}

// templateData is sample data for templates whose content the tests check.
// Templates without an entry still render in every test: sampleData
// discovers the keys they use.
var templateData = map[string]map[string]any{
	"account-locked":   {"Name": "Ann Smith", "UserID": "smitha0001", "Minutes": 30, "Portal": "MILogin for Third Party", "Help": help},
	"password-changed": {"Name": "Ann Smith", "UserID": "smitha0001", "Help": help},
}

var missingKey = regexp.MustCompile(`map has no entry for key "([^"]+)"`)

// sampleData returns data that renders template name on channel ch: the
// entries of templateData plus every other key the template asks for, set
// to fill(key). Templates run with missingkey=error, so each missing key is
// reported by name.
func sampleData(t *testing.T, ch milogin.Channel, name string, fill func(key string) any) map[string]any {
	t.Helper()
	data := map[string]any{"Name": "Ann Smith", "Help": help}
	for k, v := range templateData[name] {
		data[k] = v
	}
	for range 50 {
		_, err := notify.Compose(ch, "ann@example.com", name, data)
		if err == nil {
			return data
		}
		m := missingKey.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("%s: %v", name, err)
		}
		data[m[1]] = fill(m[1])
	}
	t.Fatalf("%s: too many keys", name)
	return nil
}

func TestComposeEveryTemplate(t *testing.T) {
	names := notify.Templates()
	for _, want := range []string{"account-locked", "password-changed"} {
		if !slices.Contains(names, want) {
			t.Errorf("template %q missing (have %v)", want, names)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			chs := notify.Channels(name)
			if len(chs) == 0 {
				t.Fatal("no channel")
			}
			for _, ch := range chs {
				data := sampleData(t, ch, name, func(k string) any { return "Sample" + k })
				to := "ann@example.com"
				if ch == milogin.ChannelSMS {
					to = "+15175550100"
				}
				m, err := notify.Compose(ch, to, name, data)
				if err != nil {
					t.Fatal(err)
				}
				if m.Channel != ch || m.To != to {
					t.Errorf("channel %q to %q", m.Channel, m.To)
				}
				if !m.CreatedAt.IsZero() || !m.NextAttemptAt.IsZero() || m.ID != 0 {
					t.Error("Compose set delivery fields")
				}
				for _, part := range []string{m.Text, m.HTML, m.Subject} {
					if strings.Contains(part, "<no value>") || strings.Contains(part, "{{") {
						t.Errorf("unrendered data in %q", part)
					}
				}
				if ch == milogin.ChannelSMS {
					if m.Subject != "" || m.HTML != "" || m.Text == "" || strings.Contains(m.Text, "\n") {
						t.Errorf("SMS %+v: want one line of text only", m)
					}
					if len(m.Text) > 320 {
						t.Errorf("SMS is %d bytes; keep it within two segments", len(m.Text))
					}
					continue
				}
				if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || strings.TrimSpace(m.Subject) != m.Subject {
					t.Errorf("subject %q: want one non-empty line", m.Subject)
				}
				// The state's style: greeting, message, standard closing.
				if !strings.HasPrefix(m.Text, "Hello Ann Smith,\n\n") {
					t.Errorf("text does not open with the greeting:\n%s", m.Text)
				}
				if !strings.HasSuffix(m.Text, "\n\n"+closing) {
					t.Errorf("text does not end with the closing:\n%s", m.Text)
				}
				if m.HTML != "" && (!strings.HasPrefix(m.HTML, "<!DOCTYPE html>") ||
					!strings.Contains(m.HTML, "<p>Hello Ann Smith,</p>") || !strings.Contains(m.HTML, "MILogin Team")) {
					t.Errorf("HTML body:\n%s", m.HTML)
				}
			}
		})
	}
}

func TestComposeStateStyle(t *testing.T) {
	for _, name := range []string{"account-locked", "password-changed"} {
		m, err := notify.Compose(milogin.ChannelEmail, "ann@example.com", name, templateData[name])
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "Regarding your MILogin user account" {
			t.Errorf("%s: subject %q", name, m.Subject)
		}
		if !strings.Contains(m.Text, "smitha0001") || !strings.Contains(m.HTML, "smitha0001") {
			t.Errorf("%s: user ID missing:\n%s\n%s", name, m.Text, m.HTML)
		}
		if m.HTML == "" {
			t.Errorf("%s: no HTML part", name)
		}
	}
}

func TestComposeAccountLocked(t *testing.T) {
	m, err := notify.Compose(milogin.ChannelEmail, "ann@example.com", "account-locked", templateData["account-locked"])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MILogin for Third Party account", "will unlock after 30 minutes"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("missing %q in\n%s\n%s", want, m.Text, m.HTML)
		}
	}
}

func TestComposeWithoutName(t *testing.T) {
	data := map[string]any{"Name": "", "UserID": "smitha0001", "Help": help}
	m, err := notify.Compose(milogin.ChannelEmail, "ann@example.com", "password-changed", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Text, "Hello,\n") || !strings.Contains(m.HTML, "<p>Hello,</p>") {
		t.Errorf("greeting without a name:\n%s\n%s", m.Text, m.HTML)
	}
	// A struct works as well as a map.
	type pc struct {
		Name, UserID string
		Help         milogin.HelpDesk
	}
	if _, err := notify.Compose(milogin.ChannelEmail, "ann@example.com", "password-changed", pc{"Ann", "smitha0001", help}); err != nil {
		t.Fatal(err)
	}
}

// TestComposeEscapesHTML fills every key of every template with markup: the
// HTML part must show it as text, the plain-text part as typed.
func TestComposeEscapesHTML(t *testing.T) {
	const evil = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`
	for _, name := range notify.Templates() {
		if !slices.Contains(notify.Channels(name), milogin.ChannelEmail) {
			continue
		}
		data := sampleData(t, milogin.ChannelEmail, name, func(string) any { return evil })
		for k, v := range data {
			if _, ok := v.(string); ok {
				data[k] = evil
			}
		}
		m, err := notify.Compose(milogin.ChannelEmail, "ann@example.com", name, data)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("%s: subject %q", name, m.Subject)
		}
		if !strings.Contains(m.Text, evil) {
			t.Errorf("%s: text part altered the data:\n%s", name, m.Text)
		}
		if m.HTML == "" {
			continue
		}
		for _, bad := range []string{"<script>", "<img"} {
			if strings.Contains(m.HTML, bad) {
				t.Errorf("%s: HTML contains unescaped %q:\n%s", name, bad, m.HTML)
			}
		}
		if !strings.Contains(m.HTML, "&lt;script&gt;") || !strings.Contains(m.HTML, "&amp; &lt;img") {
			t.Errorf("%s: data not escaped as text:\n%s", name, m.HTML)
		}
	}
}

func TestComposeErrors(t *testing.T) {
	ok := templateData["password-changed"]
	tests := []struct {
		name string
		ch   milogin.Channel
		to   string
		tmpl string
		data any
	}{
		{"unknown template", milogin.ChannelEmail, "a@example.com", "no-such-message", ok},
		{"unknown channel", milogin.Channel("fax"), "a@example.com", "password-changed", ok},
		{"no recipient", milogin.ChannelEmail, " ", "password-changed", ok},
		{"missing key", milogin.ChannelEmail, "a@example.com", "password-changed", map[string]any{"Name": "Ann"}},
		{"missing field", milogin.ChannelEmail, "a@example.com", "account-locked", struct{ Name string }{"Ann"}},
		{"nil data", milogin.ChannelEmail, "a@example.com", "password-changed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := notify.Compose(tt.ch, tt.to, tt.tmpl, tt.data)
			if err == nil {
				t.Fatalf("Compose = %+v; want an error", m)
			}
			if !milogin.IsKind(err, milogin.EINTERNAL) {
				t.Errorf("kind %v; want EINTERNAL", milogin.ErrorKind(err))
			}
		})
	}
}

// TestEmailsLinkTheHelpPage: "please use Help Page link" comes with the
// link, in the plain text and the HTML of every email that says it.
func TestEmailsLinkTheHelpPage(t *testing.T) {
	for _, name := range notify.Templates() {
		if !slices.Contains(notify.Channels(name), milogin.ChannelEmail) {
			continue
		}
		data := sampleData(t, milogin.ChannelEmail, name, func(string) any { return "x" })
		m, err := notify.Compose(milogin.ChannelEmail, "ann@example.com", name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(m.Text, "Help Page") {
			continue
		}
		if !strings.Contains(m.Text, "Help Page link ("+help.URL+")") {
			t.Errorf("%s: the plain text names the Help Page without its address:\n%s", name, m.Text)
		}
		if !strings.Contains(m.HTML, `<a href="`+help.URL+`"><strong>Help Page</strong></a>`) {
			t.Errorf("%s: the HTML names the Help Page without a link:\n%s", name, m.HTML)
		}
	}
}
