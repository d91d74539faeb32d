// Package apps_test guards the boundary of the relying parties: every
// program under apps/ (OSMIS, CARS e-Services, …) must reach MILogin only
// over HTTP, as any state application would, so none of them may import
// MILogin's root package or anything under milogin/internal/.
package apps_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// pkg is what `go list -json` says about one package.
type pkg struct {
	ImportPath   string
	Deps         []string
	TestImports  []string
	XTestImports []string
}

// forbidden reports whether importing path crosses the boundary.
func forbidden(path string) bool {
	return path == "milogin" || strings.HasPrefix(path, "milogin/internal/")
}

// violations lists "pkg imports dep" for every forbidden dependency, direct
// or indirect, of the packages and of their tests' direct imports.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		for _, d := range slices.Concat(p.Deps, p.TestImports, p.XTestImports) {
			if forbidden(d) {
				out = append(out, p.ImportPath+" imports "+d)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func listApps(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Deps,TestImports,XTestImports", "milogin/apps/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// The test's own deps are checked too: a test that reached into MILogin
// would hide a coupling the program does not admit to.
func TestAppsReachMILoginOnlyOverHTTP(t *testing.T) {
	pkgs := listApps(t)
	var names []string
	for _, p := range pkgs {
		names = append(names, p.ImportPath)
	}
	i := slices.Index(names, "milogin/apps/osmis")
	if i < 0 {
		t.Fatalf("go list found no milogin/apps/osmis among %v", names)
	}
	// The dependencies are listed (transitively): the check is not vacuous.
	if !slices.Contains(pkgs[i].Deps, "milogin/apps/osmis/internal/store") || !slices.Contains(pkgs[i].Deps, "net/http") {
		t.Fatalf("go list gave no transitive deps for milogin/apps/osmis: %v", pkgs[i].Deps)
	}
	if v := violations(pkgs); len(v) > 0 {
		t.Errorf("packages under apps/ must reach MILogin over HTTP only:\n  %s", strings.Join(v, "\n  "))
	}
}

// TestViolationsCatchesImports checks the checker on made-up packages.
func TestViolationsCatchesImports(t *testing.T) {
	got := violations([]pkg{
		{ImportPath: "milogin/apps/a", Deps: []string{"fmt", "milogin/apps/a/internal/store", "milogin/internal/oidc"}},
		{ImportPath: "milogin/apps/b", Deps: []string{"milogin"}},
		{ImportPath: "milogin/apps/c", XTestImports: []string{"milogin/internal/storetest"}},
		{ImportPath: "milogin/apps/d", Deps: []string{"milogin/apps/d/internal/x", "milogintools"}},
	})
	want := []string{"milogin/apps/a imports milogin/internal/oidc", "milogin/apps/b imports milogin",
		"milogin/apps/c imports milogin/internal/storetest"}
	if !slices.Equal(got, want) {
		t.Errorf("violations = %q, want %q", got, want)
	}
}
