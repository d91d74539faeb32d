package milogin

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error so that callers can decide what to show without
// looking at its text. A database error never reaches a resident: anything not
// classified is EINTERNAL and shown as a generic failure.
type Kind string

const (
	EINVALID      Kind = "invalid"      // the input broke a rule; Msg says which
	ENOTFOUND     Kind = "not_found"    // no such thing (or not visible to the caller)
	ECONFLICT     Kind = "conflict"     // unique key taken, state changed underneath
	EUNAUTHORIZED Kind = "unauthorized" // credentials missing or wrong
	EFORBIDDEN    Kind = "forbidden"    // authenticated, but not allowed
	ELOCKED       Kind = "locked"       // account locked or disabled
	ERATELIMIT    Kind = "rate_limited" // too many attempts
	EEXPIRED      Kind = "expired"      // code, session or password past its life
	EBUSY         Kind = "busy"         // overloaded: try again shortly (503, Retry-After)
	EINTERNAL     Kind = "internal"     // anything else
)

// statusOf is the one table that turns an error kind into an HTTP status.
var statusOf = map[Kind]int{
	EINVALID:      http.StatusBadRequest,
	ENOTFOUND:     http.StatusNotFound,
	ECONFLICT:     http.StatusConflict,
	EUNAUTHORIZED: http.StatusUnauthorized,
	EFORBIDDEN:    http.StatusForbidden,
	ELOCKED:       http.StatusForbidden,
	ERATELIMIT:    http.StatusTooManyRequests,
	EEXPIRED:      http.StatusGone,
	EBUSY:         http.StatusServiceUnavailable,
	EINTERNAL:     http.StatusInternalServerError,
}

// Error is the error type of the whole system.
//
//	Op   the operation that failed, "sqlite.CreateAccount" or "web.handleLogin"
//	Kind the class of failure
//	Msg  a message safe to show to the person who made the request
//	Err  the underlying error, for logs only
type Error struct {
	Op   string
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	var s string
	if e.Op != "" {
		s = e.Op + ": "
	}
	if e.Msg != "" {
		s += e.Msg
	} else if e.Kind != "" {
		s += string(e.Kind)
	}
	if e.Err != nil {
		if e.Msg != "" || e.Kind != "" {
			s += ": "
		}
		s += e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, milogin.ENOTFOUND) style checks work through wrapping.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return (t.Kind == "" || t.Kind == e.Kind) && (t.Op == "" || t.Op == e.Op)
}

// Errorf returns an *Error of the given kind whose message is safe to show.
func Errorf(op string, kind Kind, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns err as an *Error with op. A nil err stays nil. An *Error keeps
// its kind and message; anything else becomes EINTERNAL.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return &Error{Op: op, Kind: e.Kind, Msg: e.Msg, Err: err}
	}
	return &Error{Op: op, Kind: EINTERNAL, Err: err}
}

// ErrorKind returns the kind of err, EINTERNAL for foreign errors and "" for nil.
func ErrorKind(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Kind != "" {
		return e.Kind
	}
	return EINTERNAL
}

// ErrorMessage returns the first message safe to show to a user, or a generic
// one: the text of a foreign error (SQL, I/O) is never shown.
func ErrorMessage(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			break
		}
		if e.Msg != "" {
			return e.Msg
		}
		err = e.Err
	}
	return "An internal error has occurred. Please try again later."
}

// HTTPStatus maps an error's kind to an HTTP status.
func HTTPStatus(err error) int {
	if s, ok := statusOf[ErrorKind(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// IsKind reports whether err is of kind k.
func IsKind(err error, k Kind) bool { return ErrorKind(err) == k }
