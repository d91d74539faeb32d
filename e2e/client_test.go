package e2e

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// goClient is a second "device": a plain Go HTTP client with its own cookie
// jar, signing in through the same HTML form a browser posts.
type goClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newGoClient(t *testing.T, srv *server) *goClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &goClient{t: t, base: srv.URL, http: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// get fetches path, following redirects, and returns the final response
// (body read and closed) and the body.
func (c *goClient) get(path string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatalf("Go client: GET %s: %v", path, err)
	}
	return resp, readBody(c.t, resp)
}

// signIn fetches the sign-in page, fills in its form (keeping every hidden
// field) and posts it, as a browser without JavaScript would. It returns the
// page it ends on after redirects.
func (c *goClient) signIn(userID, password string) (*http.Response, string) {
	c.t.Helper()
	resp, body := c.get("/thirdparty/login")
	form, ok := findForm(body, "password")
	if !ok {
		c.t.Fatalf("Go client: the sign-in page has no form with a password field:\n%s", body)
	}
	action, err := resp.Request.URL.Parse(form.action)
	if err != nil {
		c.t.Fatalf("Go client: form action %q: %v", form.action, err)
	}
	form.values.Set("user_id", userID)
	form.values.Set("password", password)
	resp, err = c.http.PostForm(action.String(), form.values)
	if err != nil {
		c.t.Fatalf("Go client: POST %s: %v", action, err)
	}
	return resp, readBody(c.t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", resp.Request.URL, err)
	}
	return string(b)
}

type htmlForm struct {
	action string
	values url.Values
}

var (
	formRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRe = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`(?is)([a-z_:][-a-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// findForm returns the first form in page that has an input named field,
// with the values a browser would submit from its inputs (text, hidden,
// password; checked boxes and radios).
func findForm(page, field string) (htmlForm, bool) {
	for _, m := range formRe.FindAllStringSubmatch(page, -1) {
		attrs := parseAttrs(m[1])
		f := htmlForm{action: attrs["action"], values: url.Values{}}
		has := false
		for _, in := range inputRe.FindAllStringSubmatch(m[2], -1) {
			a := parseAttrs(in[1])
			name, ok := a["name"]
			if !ok || name == "" {
				continue
			}
			if name == field {
				has = true
			}
			switch strings.ToLower(a["type"]) {
			case "submit", "button", "reset", "image", "file":
				continue
			case "checkbox", "radio":
				if _, checked := a["checked"]; !checked {
					continue
				}
				if _, ok := a["value"]; !ok {
					a["value"] = "on"
				}
			}
			f.values.Add(name, a["value"])
		}
		if has {
			return f, true
		}
	}
	return htmlForm{}, false
}

func parseAttrs(s string) map[string]string {
	attrs := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(m[1])
		if _, dup := attrs[name]; dup {
			continue // the first of duplicate attributes wins, as in HTML
		}
		attrs[name] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return attrs
}
