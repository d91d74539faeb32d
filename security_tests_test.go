package milogin_test

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// asvsLevel2 lists every requirement of OWASP ASVS 5.0 at level 1 or 2 in
// the chapters SECURITY-TESTS.md covers. A requirement missing from the
// file fails TestSecurityTestsMap.
var asvsLevel2 = map[string][]string{
	"V4": {"4.1.1", "4.1.2", "4.1.3", "4.2.1", "4.3.1", "4.3.2", "4.4.1", "4.4.2", "4.4.3", "4.4.4"},
	"V6": {"6.1.1", "6.1.2", "6.1.3", "6.2.1", "6.2.2", "6.2.3", "6.2.4", "6.2.5", "6.2.6", "6.2.7", "6.2.8", "6.2.9",
		"6.2.10", "6.2.11", "6.3.1", "6.3.2", "6.3.3", "6.4.1", "6.4.2", "6.4.3", "6.4.4", "6.5.1", "6.5.2", "6.5.3",
		"6.5.4", "6.5.5", "6.6.1", "6.6.2", "6.6.3", "6.8.1", "6.8.2", "6.8.3"},
	"V7": {"7.1.1", "7.1.2", "7.1.3", "7.2.1", "7.2.2", "7.2.3", "7.2.4", "7.3.1", "7.3.2", "7.4.1", "7.4.2", "7.4.3",
		"7.4.4", "7.4.5", "7.5.1", "7.5.2", "7.6.1", "7.6.2"},
	"V8": {"8.1.1", "8.1.2", "8.2.1", "8.2.2", "8.2.3", "8.3.1", "8.4.1"},
	"V10": {"10.1.1", "10.1.2", "10.2.1", "10.2.2", "10.3.1", "10.3.2", "10.3.3", "10.3.4", "10.4.1", "10.4.2", "10.4.3",
		"10.4.4", "10.4.5", "10.4.6", "10.4.7", "10.4.8", "10.4.9", "10.4.10", "10.4.11", "10.5.1", "10.5.2", "10.5.3",
		"10.5.4", "10.5.5", "10.6.1", "10.6.2", "10.7.1", "10.7.2", "10.7.3"},
}

var (
	// A row: | 6.2.1 | 1 | requirement | status | proof |
	asvsRow = regexp.MustCompile(`^\|\s*(\d+\.\d+\.\d+)\s*\|\s*([123])\s*\|(.*)\|\s*([a-z/]+)\s*\|(.*)\|\s*$`)
	// A test reference: `internal/authn.TestName` or `milogin.FuzzX/sub`.
	testRef  = regexp.MustCompile("`((?:[a-z0-9_]+/)*[a-z0-9_]+)\\.((?:Test|Fuzz)[A-Za-z0-9_]*)(/[^`]*)?`")
	testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]*)\(`)
)

// TestSecurityTestsMap keeps SECURITY-TESTS.md honest: every ASVS
// requirement of its chapters at level 2 has a row, every row's status fits
// its proof, and every test it names exists.
func TestSecurityTestsMap(t *testing.T) {
	f, err := os.Open("SECURITY-TESTS.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := repoTests(t)

	rows := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		m := asvsRow.FindStringSubmatch(sc.Text())
		if m == nil {
			if strings.HasPrefix(sc.Text(), "| ") && regexp.MustCompile(`^\|\s*\d+\.\d+`).MatchString(sc.Text()) {
				t.Errorf("line %d: a requirement row not in the format | ID | level | requirement | status | proof |", line)
			}
			continue
		}
		id, status, proof := m[1], m[4], strings.TrimSpace(m[5])
		if rows[id] {
			t.Errorf("line %d: %s appears twice", line, id)
		}
		rows[id] = true
		refs := testRef.FindAllStringSubmatch(proof, -1)
		for _, r := range refs {
			dir, name := r[1], r[2]
			if dir == "milogin" {
				dir = "."
			}
			if !tests[dir][name] {
				t.Errorf("line %d (%s): %s.%s does not exist", line, id, r[1], name)
			}
		}
		prose := strings.TrimSpace(testRef.ReplaceAllString(proof, ""))
		switch status {
		case "tested":
			if len(refs) == 0 {
				t.Errorf("line %d (%s): tested, but no test is named", line, id)
			}
		case "partly":
			if len(refs) == 0 || len(prose) < 20 {
				t.Errorf("line %d (%s): partly needs tests and a note of what is missing", line, id)
			}
		case "deviation", "gap", "n/a":
			if len(prose) < 20 {
				t.Errorf("line %d (%s): %s needs a written reason", line, id, status)
			}
		default:
			t.Errorf("line %d (%s): unknown status %q", line, id, status)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for ch, ids := range asvsLevel2 {
		for _, id := range ids {
			if !rows[id] {
				t.Errorf("%s %s has no row", ch, id)
			}
		}
	}
}

// repoTests returns the Test and Fuzz functions of every package folder.
func repoTests(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || slices.Contains([]string{"node_modules", "testdata"}, d.Name())) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		for _, m := range testFunc.FindAllStringSubmatch(string(b), -1) {
			if out[dir] == nil {
				out[dir] = map[string]bool{}
			}
			out[dir][m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDocsStandAlone: the documentation a reader of the repository gets
// never sends them outside it.
func TestDocsStandAlone(t *testing.T) {
	files, _ := filepath.Glob("docs/*.md")
	files = append(files, "README.md", "doc.go", "SECURITY-TESTS.md")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The paths are spelled in pieces so that this guard is not itself
		// a reference that a search for them finds.
		for _, bad := range []string{".." + "/shared", "/" + "work/"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s refers to %s, outside the repository", f, bad)
			}
		}
	}
}
