// Package httplog logs HTTP requests: one line per request with its
// method, path, status and duration, and a StatusWriter that remembers the
// status a handler answered with.
//
// The query string is never logged: it can carry codes and tokens.
package httplog

import (
	"log/slog"
	"net/http"
	"time"
)

// StatusWriter remembers the first status written through it: the one of
// WriteHeader, or 200 on a Write before any. Status is 0 while nothing has
// been written.
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Middleware logs one "http" line per request at level Info on logger:
// method, path (never the query string), status, duration, then the
// attributes of attrs. When observe is not nil it is told the request's
// route (its ServeMux pattern, "unmatched" when none), status and duration
// first.
func Middleware(logger *slog.Logger, observe func(route string, status int, d time.Duration), attrs ...func(*http.Request) slog.Attr) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &StatusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			d := time.Since(start)
			if observe != nil {
				route := r.Pattern
				if route == "" {
					route = "unmatched"
				}
				observe(route, sw.Status, d)
			}
			as := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.Status), slog.Duration("duration", d)}
			for _, a := range attrs {
				as = append(as, a(r))
			}
			logger.LogAttrs(r.Context(), slog.LevelInfo, "http", as...)
		})
	}
}
