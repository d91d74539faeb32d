package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	texttemplate "text/template"

	"milogin"
)

// The templates directory holds, for a message named NAME:
//
//	NAME.subject.txt  email subject (text/template; whitespace collapsed to one line)
//	NAME.txt          email plain-text body (text/template)
//	NAME.html         email HTML body (html/template; optional)
//	NAME.sms.txt      text message (text/template; optional)
//
// Files whose names start with "_" are partials: _*.txt are parsed into every
// text template and _*.html into every HTML template, so the greeting and the
// closing are written once. Adding a message is adding its files.
//
//go:embed templates/*
var templateFS embed.FS

// templateSet is one message's parsed templates; nil fields are absent.
type templateSet struct {
	subject, text, sms *texttemplate.Template
	html               *htmltemplate.Template
}

var loadTemplates = sync.OnceValues(func() (map[string]*templateSet, error) {
	return parseTemplates(templateFS, "templates")
})

func parseTemplates(fsys fs.FS, dir string) (map[string]*templateSet, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var textPartials, htmlPartials []string
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, "_") {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return nil, err
		}
		switch path.Ext(n) {
		case ".txt":
			textPartials = append(textPartials, string(b))
		case ".html":
			htmlPartials = append(htmlPartials, string(b))
		}
	}
	parseText := func(file, src string) (*texttemplate.Template, error) {
		t := texttemplate.New(file).Option("missingkey=error")
		for _, p := range textPartials {
			if _, err := t.New("").Parse(p); err != nil {
				return nil, err
			}
		}
		return t.Parse(src)
	}
	parseHTML := func(file, src string) (*htmltemplate.Template, error) {
		t := htmltemplate.New(file).Option("missingkey=error")
		for _, p := range htmlPartials {
			if _, err := t.New("").Parse(p); err != nil {
				return nil, err
			}
		}
		return t.Parse(src)
	}

	sets := map[string]*templateSet{}
	for _, e := range entries {
		file := e.Name()
		if e.IsDir() || strings.HasPrefix(file, "_") || strings.HasPrefix(file, ".") {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, file))
		if err != nil {
			return nil, err
		}
		src := string(b)
		var perr error
		set := func(n string) *templateSet {
			if sets[n] == nil {
				sets[n] = &templateSet{}
			}
			return sets[n]
		}
		switch {
		case strings.HasSuffix(file, ".subject.txt"):
			s := set(strings.TrimSuffix(file, ".subject.txt"))
			s.subject, perr = parseText(file, src)
		case strings.HasSuffix(file, ".sms.txt"):
			s := set(strings.TrimSuffix(file, ".sms.txt"))
			s.sms, perr = parseText(file, src)
		case strings.HasSuffix(file, ".txt"):
			s := set(strings.TrimSuffix(file, ".txt"))
			s.text, perr = parseText(file, src)
		case strings.HasSuffix(file, ".html"):
			s := set(strings.TrimSuffix(file, ".html"))
			s.html, perr = parseHTML(file, src)
		default:
			return nil, fmt.Errorf("notify: template %s: unknown kind (want .subject.txt, .txt, .html or .sms.txt)", file)
		}
		if perr != nil {
			return nil, fmt.Errorf("notify: parsing template %s: %w", file, perr)
		}
	}
	for name, s := range sets {
		if (s.subject == nil) != (s.text == nil) {
			return nil, fmt.Errorf("notify: template %s: an email needs both %[1]s.subject.txt and %[1]s.txt", name)
		}
		if s.html != nil && s.text == nil {
			return nil, fmt.Errorf("notify: template %s: %[1]s.html without %[1]s.txt (every email has a plain-text part)", name)
		}
	}
	return sets, nil
}

// Templates lists the names of the messages Compose can render.
func Templates() []string {
	sets, err := loadTemplates()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Channels reports which channels the named message has templates for.
func Channels(name string) []milogin.Channel {
	sets, err := loadTemplates()
	if err != nil || sets[name] == nil {
		return nil
	}
	var chs []milogin.Channel
	if sets[name].text != nil {
		chs = append(chs, milogin.ChannelEmail)
	}
	if sets[name].sms != nil {
		chs = append(chs, milogin.ChannelSMS)
	}
	return chs
}

// Compose renders the message called name for channel ch to the address or
// number to, with data (a struct or a map[string]any; every key a template
// uses must be present). Callers enqueue the result inside the transaction
// of the change that causes it. An email gets a one-line subject, a
// plain-text body and, when NAME.html exists, an HTML body with data
// escaped; a text message gets only Text. Delivery fields (CreatedAt,
// NextAttemptAt) are the caller's.
func Compose(ch milogin.Channel, to, name string, data any) (*milogin.Message, error) {
	const op = "notify.Compose"
	fail := func(err error) (*milogin.Message, error) {
		return nil, &milogin.Error{Op: op, Kind: milogin.EINTERNAL, Err: err}
	}
	if strings.TrimSpace(to) == "" {
		return fail(errors.New("no recipient"))
	}
	sets, err := loadTemplates()
	if err != nil {
		return fail(err)
	}
	s := sets[name]
	if s == nil {
		return fail(fmt.Errorf("no template named %q", name))
	}
	m := &milogin.Message{Channel: ch, To: to}
	var b bytes.Buffer
	switch ch {
	case milogin.ChannelEmail:
		if s.text == nil {
			return fail(fmt.Errorf("template %q has no email version", name))
		}
		if err := s.subject.Execute(&b, data); err != nil {
			return fail(err)
		}
		// One line, whatever the data held: a subject is a header.
		m.Subject = strings.Join(strings.Fields(b.String()), " ")
		b.Reset()
		if err := s.text.Execute(&b, data); err != nil {
			return fail(err)
		}
		m.Text = strings.TrimSpace(b.String()) + "\n"
		if s.html != nil {
			b.Reset()
			if err := s.html.Execute(&b, data); err != nil {
				return fail(err)
			}
			m.HTML = b.String()
		}
	case milogin.ChannelSMS:
		if s.sms == nil {
			return fail(fmt.Errorf("template %q has no text-message version", name))
		}
		if err := s.sms.Execute(&b, data); err != nil {
			return fail(err)
		}
		m.Text = strings.Join(strings.Fields(b.String()), " ")
	default:
		return fail(fmt.Errorf("unknown channel %q", ch))
	}
	return m, nil
}
