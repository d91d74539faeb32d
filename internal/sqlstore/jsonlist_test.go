package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// TestSplitJSONStrings: wherever the fast reader answers, it answers what
// encoding/json does; it gives up (false) on anything it does not know.
func TestSplitJSONStrings(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{`[]`, true},
		{`["openid"]`, true},
		{`["openid","profile","email"]`, true},
		{`["$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA","https://x.example/cb?a=1&b=2"]`, true},
		{`[""]`, true},
		{`["",""]`, true},
		{`["a,b","c"]`, true},
		{`["é ü"]`, true},
		{`["a\"b"]`, false},
		{`["\u003cscript\u003e"]`, false},
		{`["a", "b"]`, false},
		{`[ "a"]`, false},
		{`["a",]`, false},
		{`["a"`, false},
		{`"a"`, false},
		{`[1,2]`, false},
		{`null`, false},
		{``, false},
		{`["a"]x`, false},
		{`[""a"]`, false},
	} {
		got, ok := splitJSONStrings(c.in)
		if ok != c.ok {
			t.Errorf("splitJSONStrings(%s): ok = %v, want %v", c.in, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		var want []string
		if err := json.Unmarshal([]byte(c.in), &want); err != nil {
			t.Errorf("%s: fast reader accepted what encoding/json refuses: %v", c.in, err)
			continue
		}
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("splitJSONStrings(%s) = %q, want %q", c.in, got, want)
		}
	}
}

// FuzzSplitJSONStrings: on any input, an answer agrees with encoding/json,
// and any list of (valid UTF-8) strings jsonList writes is read back.
func FuzzSplitJSONStrings(f *testing.F) {
	for _, s := range []string{`[]`, `["a","b"]`, `["a\"b"]`, `[""]`, `["x",""]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := splitJSONStrings(s); ok {
			var want []string
			if err := json.Unmarshal([]byte(s), &want); err != nil {
				t.Fatalf("%q: accepted what encoding/json refuses: %v", s, err)
			}
			if len(want) == 0 {
				want = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: %q, encoding/json %q", s, got, want)
			}
		}
		if !utf8.ValidString(s) {
			return // encoding/json itself writes invalid UTF-8 as U+FFFD
		}
		list := []string{s, "x"}
		enc, _ := jsonList(list)
		got, err := parseList[string](enc)
		if err != nil || !reflect.DeepEqual(got, list) {
			t.Fatalf("jsonList/parseList round trip of %q: %q, %v", list, got, err)
		}
	})
}
