package notify

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestParseTemplatesLayout checks the file conventions on a made-up
// directory: adding a message is adding files, and broken sets are refused.
func TestParseTemplatesLayout(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	good := fstest.MapFS{
		"t/_p.txt":             file(`{{define "hi"}}Hi {{.}}{{end}}`),
		"t/_p.html":            file(`{{define "hi"}}<p>Hi {{.}}</p>{{end}}`),
		"t/new.subject.txt":    file("Subject"),
		"t/new.txt":            file(`{{template "hi" .}}`),
		"t/new.html":           file(`{{template "hi" .}}`),
		"t/new.sms.txt":        file(`SMS {{.}}`),
		"t/smsonly.sms.txt":    file(`only {{.}}`),
		"t/nohtml.subject.txt": file("S"),
		"t/nohtml.txt":         file("T"),
	}
	sets, err := parseTemplates(good, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 3 {
		t.Fatalf("got %d sets; want 3", len(sets))
	}
	s := sets["new"]
	if s.subject == nil || s.text == nil || s.html == nil || s.sms == nil {
		t.Fatalf("new: %+v", s)
	}
	var b strings.Builder
	if err := s.html.Execute(&b, "<Ann>"); err != nil || b.String() != "<p>Hi &lt;Ann&gt;</p>" {
		t.Errorf("html partial: %q, %v", b.String(), err)
	}
	if sets["smsonly"].text != nil || sets["nohtml"].html != nil {
		t.Error("absent parts were filled in")
	}

	bad := []fstest.MapFS{
		{"t/x.subject.txt": file("S")},                                            // no body
		{"t/x.txt": file("T")},                                                    // no subject
		{"t/x.html": file("H"), "t/x.subject.txt": file("S")},                     // HTML without text
		{"t/x.subject.txt": file("S"), "t/x.txt": file("{{.Oops")},                // syntax error
		{"t/x.subject.txt": file("S"), "t/x.txt": file("T"), "t/x.md": file("?")}, // unknown kind
		{"t/_p.txt": file("{{define"), "t/x.subject.txt": file("S"), "t/x.txt": file("T")},
	}
	for i, fsys := range bad {
		if _, err := parseTemplates(fsys, "t"); err == nil {
			t.Errorf("bad set %d parsed without error", i)
		}
	}
}

func TestShippedTemplatesParse(t *testing.T) {
	if _, err := loadTemplates(); err != nil {
		t.Fatal(err)
	}
}
