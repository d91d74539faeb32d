package sqlstore

import (
	"strings"
	"unicode/utf8"
)

// splitJSONStrings reads a JSON array of strings as jsonList writes it
// (encoding/json: no spaces) when no element needs an escape, the usual
// case: scopes, redirect URIs, password hashes. It reports false for
// anything else (an escape, a space, a raw control character, invalid
// UTF-8, another writer's layout), which the
// caller then decodes with encoding/json. Reading every token and
// account's lists through encoding/json's reflection was a twentieth of
// a userinfo request.
func splitJSONStrings(s string) ([]string, bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' || !utf8.ValidString(s) {
		return nil, false
	}
	for i := range len(s) {
		// An escape, or a control character JSON does not allow raw.
		if s[i] == '\\' || s[i] < 0x20 {
			return nil, false
		}
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return nil, true
	}
	out := make([]string, 0, strings.Count(body, `","`)+1)
	for {
		// An element: a quote, no quote inside (without escapes none can
		// be), a quote; then a comma and the next, or the end.
		if len(body) < 2 || body[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(body[1:], '"')
		if end < 0 {
			return nil, false
		}
		out = append(out, body[1:1+end])
		body = body[2+end:]
		if body == "" {
			return out, true
		}
		if body[0] != ',' {
			return nil, false
		}
		body = body[1:]
	}
}
