package provision_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"milogin"
	"milogin/internal/provision"
)

func scimList(t *testing.T, e *env, as, query string) (int, map[string]any) {
	t.Helper()
	r := e.call(t, "GET", "/thirdparty/scim/v2/Users"+query, as, "", "")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type %q", ct)
	}
	return r.status, r.json(t)
}

func TestSCIMListAndFilter(t *testing.T) {
	e := newEnv(t)
	// Without a filter: the application's own users only.
	status, m := scimList(t, e, "osmis", "")
	if status != http.StatusOK || m["totalResults"] != float64(0) {
		t.Fatalf("empty list: %d %v", status, m)
	}
	if r := e.call(t, "PUT", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", "osmis", "", ""); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	status, m = scimList(t, e, "osmis", "")
	if status != http.StatusOK || m["totalResults"] != float64(1) {
		t.Fatalf("list: %d %v", status, m)
	}
	u := m["Resources"].([]any)[0].(map[string]any)
	if u["id"] != e.acct.ID || u["userName"] != "smithj0001" || u["active"] != true {
		t.Errorf("user %v", u)
	}
	if emails := u["emails"].([]any); emails[0].(map[string]any)["value"] != "john.smith@miworks.org" {
		t.Errorf("emails %v", emails)
	}
	if meta := u["meta"].(map[string]any); meta["resourceType"] != "User" || !strings.HasSuffix(meta["location"].(string), "/thirdparty/scim/v2/Users/"+e.acct.ID) {
		t.Errorf("meta %v", meta)
	}
	// CARS has no users of its own...
	if _, m := scimList(t, e, "cars", ""); m["totalResults"] != float64(0) {
		t.Errorf("cars sees %v users", m["totalResults"])
	}
	// ...but can look a person up by an exact filter, like GET /api/v1/users.
	for _, f := range []string{`userName eq "SMITHJ0001"`, `emails.value eq "john.smith@miworks.org"`,
		`emails[value eq "John.Smith@miworks.org"]`, `USERNAME Eq "smithj0001"`, `id eq "` + e.acct.ID + `"`} {
		status, m := scimList(t, e, "cars", "?filter="+url.QueryEscape(f))
		if status != http.StatusOK || m["totalResults"] != float64(1) {
			t.Errorf("filter %s: %d %v", f, status, m)
		}
	}
	status, m = scimList(t, e, "cars", "?filter="+url.QueryEscape(`userName eq "nobody0000"`))
	if status != http.StatusOK || m["totalResults"] != float64(0) {
		t.Errorf("no match: %d %v", status, m)
	}
	// The citizen account is not in this portal.
	status, m = scimList(t, e, "cars", "?filter="+url.QueryEscape(`id eq "`+e.other.ID+`"`))
	if status != http.StatusOK || m["totalResults"] != float64(0) {
		t.Errorf("other portal's id: %d %v", status, m)
	}
	for _, f := range []string{`userName sw "smith"`, `userName eq "a" or userName eq "b"`, `name.givenName eq "John"`,
		`userName eq 1`, `userName pr`, `not (userName eq "x")`, `userName eq`, `((`, `emails[type eq "work"]`} {
		status, m := scimList(t, e, "cars", "?filter="+url.QueryEscape(f))
		if status != http.StatusBadRequest || m["scimType"] != "invalidFilter" || m["detail"] == "" {
			t.Errorf("filter %s: %d %v", f, status, m)
		}
	}
}

func TestSCIMGetAndErrors(t *testing.T) {
	e := newEnv(t)
	r := e.call(t, "GET", "/thirdparty/scim/v2/Users/"+e.acct.ID, "osmis", "", "")
	if r.status != http.StatusOK || r.json(t)["userName"] != "smithj0001" {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	r = e.call(t, "GET", "/thirdparty/scim/v2/Users/"+e.other.ID, "osmis", "", "")
	if r.status != http.StatusNotFound {
		t.Errorf("other portal's user: %d %s", r.status, r.body)
	}
	r = e.call(t, "GET", "/thirdparty/scim/v2/Users/"+e.acct.ID, "", "", "")
	if r.status != http.StatusUnauthorized || r.json(t)["status"] != "401" {
		t.Errorf("anonymous: %d %s", r.status, r.body)
	}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		r := e.call(t, m, "/thirdparty/scim/v2/Users/"+e.acct.ID, "osmis", "application/scim+json", `{}`)
		if r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d", m, r.status)
		}
	}
	r = e.call(t, "GET", "/thirdparty/scim/v2/ServiceProviderConfig", "osmis", "", "")
	if r.status != http.StatusOK || r.json(t)["filter"].(map[string]any)["supported"] != true {
		t.Errorf("service provider config: %d %s", r.status, r.body)
	}
	var calls int
	for _, ev := range e.events(t, milogin.EventAPICall) {
		if strings.HasPrefix(ev.Detail["operation"], "scim.") {
			calls++
		}
	}
	if calls != 8 {
		t.Errorf("SCIM calls audited: %d, want 8", calls)
	}
}

func TestParseFilterString(t *testing.T) {
	tests := []struct {
		in   string
		attr string
		val  string
	}{
		{`userName eq "bjensen"`, "userName", "bjensen"},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`, "userName", "x"},
		{`emails.value eq "a@b.c"`, "emails.value", "a@b.c"},
		{`emails[value eq "a@b.c"]`, "emails.value", "a@b.c"},
		{`id eq "abc"`, "id", "abc"},
		{`userName ne "x"`, "", ""},
		{`userName eq ""`, "", ""},
		{`emails.type eq "work"`, "", ""},
		{`title eq "x"`, "", ""},
		{`urn:other:schema:userName eq "x"`, "", ""},
		{`userName eq "x" and id eq "y"`, "", ""},
		{`emails[value eq "x" or value eq "y"]`, "", ""},
		{``, "", ""},
	}
	for _, tt := range tests {
		q, err := provision.ParseFilterString(tt.in)
		if tt.attr == "" {
			if err == nil {
				t.Errorf("%q accepted as %+v", tt.in, q)
			}
			continue
		}
		if err != nil || q.Attr != tt.attr || q.Value != tt.val {
			t.Errorf("%q = %+v, %v; want %s %q", tt.in, q, err, tt.attr, tt.val)
		}
	}
}

// The filter parser (the library's grammar, our meaning) never panics, and
// whatever it accepts is one of the three exact lookups.
func FuzzParseFilterString(f *testing.F) {
	for _, s := range []string{`userName eq "bjensen"`, `emails[value eq "a@b.c"]`, `emails.value eq "x"`, `id eq "1"`,
		`name.familyName co "O'Malley"`, `userName sw "J"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`title pr and userType eq "Employee"`, `not (emails co "example.com")`, `emails[type eq "work" and value co "@example.com"]`,
		`userName eq "\u0000"`, `((((`, `"`, `userName eq "x" or `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := provision.ParseFilterString(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		switch q.Attr {
		case "userName", "emails.value", "id":
		default:
			t.Fatalf("%q accepted as %+v", s, q)
		}
		if strings.TrimSpace(q.Value) == "" || len(q.Value) > 254 {
			t.Fatalf("%q accepted with value %q", s, q.Value)
		}
	})
}
