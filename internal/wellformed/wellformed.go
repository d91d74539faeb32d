// Package wellformed keeps malformed text out of MILogin: requests whose
// path, query, form fields, JSON strings or Basic credentials hold a NUL
// byte or invalid UTF-8 are refused at the edge, before any handler, and
// the few request headers that are stored (User-Agent) are cleaned with
// Text before they reach the database.
//
// Why at the edge: PostgreSQL refuses NUL in text columns and invalid UTF-8
// in any text, so such bytes turned into database errors (500s, and audit
// events that failed while the change they recorded went through). No field
// of any MILogin form or API has a use for them, so one check in front of
// every route is both simpler and safer than one in every handler.
package wellformed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxBody bounds the bodies Check reads; every form and API body of
// MILogin is far smaller.
const MaxBody = 1 << 20

// ErrMalformed is the error Check returns for text that is not well formed.
var ErrMalformed = errors.New("malformed text")

// ErrTooLarge is the error Check returns for a body over MaxBody.
var ErrTooLarge = errors.New("request body too large")

// Valid reports whether s is UTF-8 without NUL bytes.
func Valid(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func validBytes(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

// Check reports whether r's text is well formed: the path, every query
// parameter, the Basic credentials and the body (form fields, JSON strings,
// or any other body as text). It reads the body and puts an identical one
// back for the handler. The error says where the bad bytes are (for the
// log; never shown, it can echo the input's name).
func Check(r *http.Request) error {
	if !Valid(r.URL.Path) {
		return fmt.Errorf("%w in the path", ErrMalformed)
	}
	if err := checkValues(r.URL.RawQuery); err != nil {
		return fmt.Errorf("%w in the query", err)
	}
	if user, pass, ok := r.BasicAuth(); ok && (!Valid(user) || !Valid(pass)) {
		return fmt.Errorf("%w in the Basic credentials", ErrMalformed)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		// No MILogin endpoint takes multipart bodies; the handler refuses them.
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if len(body) > MaxBody {
		return ErrTooLarge
	}
	if mt == "application/x-www-form-urlencoded" {
		if err := checkValues(string(body)); err != nil {
			return fmt.Errorf("%w in the form", err)
		}
		return nil
	}
	if !validBytes(body) {
		return fmt.Errorf("%w in the body", ErrMalformed)
	}
	// JSON escapes (\u0000) decode to NUL: check the strings as decoded.
	// A body that is not JSON is left to its handler, which refuses it.
	if err := checkJSON(body); err != nil {
		return fmt.Errorf("%w in the JSON body", err)
	}
	return nil
}

// checkValues checks every name and value of a URL-encoded list. Pairs that
// do not decode are skipped: the handler never sees them either
// (url.ParseQuery drops them).
func checkValues(raw string) error {
	if raw == "" {
		return nil
	}
	vs, _ := url.ParseQuery(raw)
	for k, list := range vs {
		if !Valid(k) {
			return ErrMalformed
		}
		for _, v := range list {
			if !Valid(v) {
				return ErrMalformed
			}
		}
	}
	return nil
}

func checkJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // end of input, or not JSON
		}
		if s, ok := tok.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return ErrMalformed
		}
	}
}

// Middleware refuses requests that fail Check by calling reject (which
// answers in the format of the surface: a page, JSON, SCIM) and passes the
// others on.
func Middleware(reject func(w http.ResponseWriter, r *http.Request, err error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := Check(r); err != nil {
				reject(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Text makes s safe to store: invalid UTF-8 becomes U+FFFD, NUL and the
// other C0 control characters (but tab) are dropped, and the result is cut
// to at most max bytes on a rune boundary (max <= 0: no cut).
func Text(s string, max int) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) && (max <= 0 || len(s) <= max) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if max > 0 && len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// MaxUserAgent is how much of a User-Agent is kept.
const MaxUserAgent = 256

// UserAgent returns r's User-Agent cleaned and bounded with Text, the form
// in which sessions and audit events store it.
func UserAgent(r *http.Request) string { return Text(r.UserAgent(), MaxUserAgent) }
