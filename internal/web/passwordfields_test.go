package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestPasswordFieldsMaskedAndPasteable: every input of every template whose
// name holds a password is type=password with an autocomplete hint (so
// password managers fill it), and no template or script blocks paste.
func TestPasswordFieldsMaskedAndPasteable(t *testing.T) {
	input := regexp.MustCompile(`<input\b[^>]*>`)
	name := regexp.MustCompile(`\bname="([^"]*)"`)
	seen := 0
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(p)
		if err != nil {
			return err
		}
		src := string(b)
		for _, bad := range []string{"onpaste", "oncopy", "oncut"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s: %s blocks the clipboard", p, bad)
			}
		}
		for _, in := range input.FindAllString(src, -1) {
			m := name.FindStringSubmatch(in)
			if m == nil || !strings.Contains(m[1], "password") {
				continue
			}
			seen++
			if !strings.Contains(in, `type="password"`) {
				t.Errorf("%s: %s is not masked", p, in)
			}
			if !strings.Contains(in, `autocomplete="current-password"`) && !strings.Contains(in, `autocomplete="new-password"`) {
				t.Errorf("%s: %s has no password autocomplete hint", p, in)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 4 {
		t.Errorf("found %d password fields: the pattern no longer matches the templates", seen)
	}
	scripts, _ := fs.Glob(staticFS, "static/*.js")
	for _, p := range scripts {
		b, _ := staticFS.ReadFile(p)
		if strings.Contains(string(b), `"paste"`) || strings.Contains(string(b), "onpaste") {
			t.Errorf("%s handles paste", p)
		}
	}
}
