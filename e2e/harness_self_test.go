package e2e

// Tests of the harness itself, against small local pages: a check that can
// never fail proves nothing, so these show that axe-core violations are
// reported and that "without JavaScript" really runs no page script.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// recorder is a testing.TB that collects Errorf calls instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func fixtureServer(t *testing.T, pages map[string]string) *server {
	t.Helper()
	mux := http.NewServeMux()
	for path, body := range pages {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		})
	}
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &server{URL: ts.URL}
}

func TestHarnessA11yReportsViolations(t *testing.T) {
	t.Parallel()
	srv := fixtureServer(t, map[string]string{
		"/bad":  `<!DOCTYPE html><html><body><form><input type="text" name="q"></form></body></html>`,
		"/good": `<!DOCTYPE html><html lang="en"><head><title>Good</title></head><body><main><h1>Good</h1><label for="q">Query</label><input id="q" name="q"></main></body></html>`,
	})
	b := newBrowser(t, srv)

	if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/bad")); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{TB: t}
	checkA11y(rec, b.ctx)
	all := strings.Join(rec.errs, "\n")
	t.Logf("checkA11y reported:\n%s", all)
	for _, rule := range []string{"html-has-lang", "document-title", "label"} {
		if !strings.Contains(all, ": "+rule+" (") {
			t.Errorf("checkA11y did not report %s on a page that breaks it; it reported:\n%s", rule, all)
		}
	}
	if !strings.Contains(all, `<input type="text" name="q">`) {
		t.Errorf("checkA11y does not show the failing node's HTML:\n%s", all)
	}

	b.visit("/good") // through afterNavigate: must pass
}

func TestHarnessWithoutJavaScript(t *testing.T) {
	t.Parallel()
	const page = `<!DOCTYPE html><html lang="en"><head><title>static</title></head><body><main><h1>Page</h1>
<script>document.title = "scripts ran";</script></main></body></html>`
	srv := fixtureServer(t, map[string]string{"/": page, "/again": page})

	title := func(b *browser) string {
		t.Helper()
		s, err := chromedp.Run(b.ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	js := newBrowser(t, srv)
	js.visit("/")
	if got := title(js); got != "scripts ran" {
		t.Errorf("with JavaScript the page script did not run (title %q)", got)
	}

	nojs := newBrowser(t, srv, withoutJavaScript())
	nojs.visit("/") // runs axe with scripts switched on for the check only
	if got := title(nojs); got != "static" {
		t.Errorf("without JavaScript the page script ran (title %q)", got)
	}
	nojs.visit("/again")
	if got := title(nojs); got != "static" {
		t.Errorf("after an accessibility check, scripts were left enabled (title %q)", got)
	}
}

func TestXPathQuote(t *testing.T) {
	for in, want := range map[string]string{
		`Need Help?`:                     `'Need Help?'`,
		`Don't have an account?`:         `"Don't have an account?"`,
		`it's "quoted"`:                  `concat('it', "'", 's "quoted"')`,
		`'`:                              `"'"`,
		`Select from the following opt:`: `'Select from the following opt:'`,
	} {
		if got := xq(in); got != want {
			t.Errorf("xq(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:41235/thirdparty/login": "http://127.0.0.1:41235",
		"http://127.0.0.1:8080":                   "http://127.0.0.1:8080",
		"https://[::1]:443/x?y":                   "https://[::1]:443",
	} {
		got, err := baseURL(in)
		if err != nil || got != want {
			t.Errorf("baseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if line := "MILogin is running at http://127.0.0.1:41235/thirdparty/login (demo)"; httpURL.FindString(line) != "http://127.0.0.1:41235/thirdparty/login" {
		t.Errorf("httpURL finds %q in %q", httpURL.FindString(line), line)
	}
}

func TestFindForm(t *testing.T) {
	page := `<form method="post" action="/thirdparty/logout"><button>LOGOUT</button></form>
<form method="post" action="/thirdparty/login?x=1&amp;y=2" novalidate>
  <input type="hidden" name="next" value="/thirdparty/home?a=1&amp;b=&#34;2&#34;">
  <input type=text id=user_id name=user_id value='old'>
  <input type="password" name="password">
  <input type="checkbox" name="remember" checked>
  <input type="radio" name="r" value="a"><input type="radio" name="r" value="b" checked>
  <input type="submit" name="go" value="LOGIN">
</form>`
	f, ok := findForm(page, "password")
	if !ok {
		t.Fatal("no form with a password field found")
	}
	if f.action != "/thirdparty/login?x=1&y=2" {
		t.Errorf("action = %q", f.action)
	}
	want := map[string]string{"next": `/thirdparty/home?a=1&b="2"`, "user_id": "old", "password": "", "remember": "on", "r": "b"}
	for k, v := range want {
		if got := f.values.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if f.values.Has("go") {
		t.Error("the submit button's value was included")
	}
	if _, ok := findForm(page, "nonesuch"); ok {
		t.Error("found a form for a field that does not exist")
	}
}
