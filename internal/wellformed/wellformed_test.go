package wellformed_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"milogin/internal/wellformed"
)

func TestCheck(t *testing.T) {
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, method, target, ctype, body string
		basic                             [2]string
		wantErr                           error
	}{
		{"plain page", "GET", "/thirdparty/login", "", "", [2]string{}, nil},
		{"accented text is fine", "POST", "/thirdparty/signup", form, "first_name=Nguy%E1%BB%85n&last_name=Pe%C3%B1a", [2]string{}, nil},
		{"NUL in a form field", "POST", "/thirdparty/login", form, "user_id=smith%00&password=x", [2]string{}, wellformed.ErrMalformed},
		{"invalid UTF-8 in a form field", "POST", "/thirdparty/login", form, "user_id=smith&password=%FF%FE", [2]string{}, wellformed.ErrMalformed},
		{"NUL in a form field name", "POST", "/thirdparty/login", form, "user%00id=smith", [2]string{}, wellformed.ErrMalformed},
		{"raw invalid byte in a form", "POST", "/thirdparty/login", form, "user_id=\xff", [2]string{}, wellformed.ErrMalformed},
		{"undecodable pair is dropped, as ParseForm does", "POST", "/thirdparty/login", form, "user_id=%zz&x=1", [2]string{}, nil},
		{"NUL in state", "GET", "/thirdparty/authorize?client_id=a&state=%00", "", "", [2]string{}, wellformed.ErrMalformed},
		{"invalid UTF-8 in nonce", "GET", "/thirdparty/authorize?nonce=%C3%28", "", "", [2]string{}, wellformed.ErrMalformed},
		{"NUL in the path", "GET", "/thirdparty/scim/v2/Users/abc%00", "", "", [2]string{}, wellformed.ErrMalformed},
		{"invalid UTF-8 in the path", "DELETE", "/thirdparty/api/v1/apps/%FF/grants/x", "", "", [2]string{}, wellformed.ErrMalformed},
		{"NUL in a Basic client ID", "GET", "/thirdparty/scim/v2/Users", "", "", [2]string{"osmis\x00", "s"}, wellformed.ErrMalformed},
		{"invalid UTF-8 in a Basic secret", "GET", "/thirdparty/scim/v2/Users", "", "", [2]string{"osmis", "\xff"}, wellformed.ErrMalformed},
		{"good Basic", "GET", "/thirdparty/scim/v2/Users", "", "", [2]string{"osmis", "s3cret"}, nil},
		{"JSON with an escaped NUL", "PUT", "/thirdparty/api/v1/apps/osmis/grants/x", "application/json", `{"reason":"a\u0000b"}`, [2]string{}, wellformed.ErrMalformed},
		{"JSON key with an escaped NUL", "POST", "/thirdparty/scim/v2/Users", "application/scim+json", `{"user\u0000Name":"a"}`, [2]string{}, wellformed.ErrMalformed},
		{"JSON with invalid UTF-8", "POST", "/thirdparty/scim/v2/Users", "application/scim+json", "{\"userName\":\"\xc3\x28\"}", [2]string{}, wellformed.ErrMalformed},
		{"JSON without a content type", "PUT", "/thirdparty/api/v1/apps/osmis/grants/x", "", `{"reason":"\u0000"}`, [2]string{}, wellformed.ErrMalformed},
		{"good JSON", "PUT", "/thirdparty/api/v1/apps/osmis/grants/x", "application/json", `{"reason":"caf\u00e9 \"ok\""}`, [2]string{}, nil},
		{"broken JSON is left to the handler", "PUT", "/thirdparty/api/v1/apps/osmis/grants/x", "application/json", `{"reason":`, [2]string{}, nil},
		{"raw NUL in a text body", "POST", "/x", "text/plain", "a\x00b", [2]string{}, wellformed.ErrMalformed},
		{"mailbox query", "GET", "/dev/mailbox?to=%00", "", "", [2]string{}, wellformed.ErrMalformed},
		{"body too large", "POST", "/thirdparty/login", form, "a=" + strings.Repeat("b", wellformed.MaxBody), [2]string{}, wellformed.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			r := httptest.NewRequest(c.method, c.target, body)
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			if c.basic[0] != "" {
				r.SetBasicAuth(c.basic[0], c.basic[1])
			}
			err := wellformed.Check(r)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, c.wantErr)
			}
			if err == nil && c.body != "" {
				// The handler still reads the whole body.
				got, _ := io.ReadAll(r.Body)
				if string(got) != c.body {
					t.Errorf("body after Check = %q, want %q", got, c.body)
				}
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	var reached, rejected int
	h := wellformed.Middleware(func(w http.ResponseWriter, r *http.Request, err error) {
		rejected++
		w.WriteHeader(http.StatusBadRequest)
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		if err := r.ParseForm(); err != nil || r.PostFormValue("user_id") != "smithj0001" {
			t.Errorf("handler's form: %v %q", err, r.PostFormValue("user_id"))
		}
	}))
	for _, b := range []string{"user_id=smithj0001", "user_id=%00"} {
		r := httptest.NewRequest("POST", "/thirdparty/login", strings.NewReader(b))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if reached != 1 || rejected != 1 {
		t.Errorf("reached %d, rejected %d; want 1 and 1", reached, rejected)
	}
}

func TestText(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"Mozilla/5.0", 256, "Mozilla/5.0"},
		{"a\x00b", 0, "ab"},
		{"a\xffb", 0, "a\uFFFDb"},
		{"line\r\nbreak\ttab\x7f", 0, "linebreak\ttab"},
		{"ééé", 5, "éé"}, // 6 bytes cut to 5: not half an é
		{"ééé", 4, "éé"},
		{"ééé", 3, "é"},
		{"日本語", 7, "日本"},
		{"abc", 3, "abc"},
		{"abc", 2, "ab"},
		{"\xff\xff\xff", 4, "\uFFFD"}, // replacement (3 bytes each) cut whole
	}
	for _, c := range cases {
		got := wellformed.Text(c.in, c.max)
		if got != c.want {
			t.Errorf("Text(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
		if !wellformed.Valid(got) || (c.max > 0 && len(got) > c.max) {
			t.Errorf("Text(%q, %d) = %q: not valid or too long", c.in, c.max, got)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "Mozilla/5.0", "a\x00b", "\xff\xfe", "ééé", "日本語\x00"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max > 4096 || max < -1 {
			max %= 4096
		}
		got := wellformed.Text(s, max)
		if !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("Text(%q, %d) = %q: not clean", s, max, got)
		}
		if max > 0 && len(got) > max {
			t.Fatalf("Text(%q, %d) = %q: %d bytes", s, max, got, len(got))
		}
		if wellformed.Text(got, max) != got {
			t.Fatalf("Text is not idempotent on %q", s)
		}
	})
}

// FuzzCheck: whatever the request, Check does not panic and hands the
// handler the same body; a request it passes has only well-formed text in
// the path, the query and a form body, as the handler will parse them.
func FuzzCheck(f *testing.F) {
	for _, s := range [][3]string{
		{"/thirdparty/login", "", "user_id=a&password=b"},
		{"/thirdparty/authorize", "state=%00", ""},
		{"/x", "a=%FF", "b=%C3%28"},
		{"/thirdparty/scim/v2/Users", "filter=userName+eq+%22x%22", `{"a":"\u0000"}`},
		{"/p", "%zz=1&a", "%"},
	} {
		f.Add(s[0], s[1], s[2], true)
		f.Add(s[0], s[1], s[2], false)
	}
	f.Fuzz(func(t *testing.T, path, query, body string, isForm bool) {
		r, err := http.NewRequest("POST", "http://h/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.URL.Path, r.URL.RawQuery = path, query
		if isForm {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r.Header.Set("Content-Type", "application/json")
		}
		err = wellformed.Check(r)
		got, _ := io.ReadAll(r.Body)
		if len(body) <= wellformed.MaxBody && string(got) != body {
			t.Fatalf("body changed: %q → %q", body, got)
		}
		if err != nil {
			return
		}
		r.Body = io.NopCloser(strings.NewReader(body))
		if perr := r.ParseForm(); perr != nil && isForm {
			return // the handler refuses it itself
		}
		if !wellformed.Valid(r.URL.Path) {
			t.Fatalf("path %q passed", r.URL.Path)
		}
		for k, vs := range r.Form {
			if !wellformed.Valid(k) {
				t.Fatalf("name %q passed", k)
			}
			for _, v := range vs {
				if !wellformed.Valid(v) {
					t.Fatalf("value %q passed", v)
				}
			}
		}
		if !isForm && !wellformed.Valid(body) {
			t.Fatalf("JSON body %q passed", body)
		}
	})
}
