package loadgen

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWire sends requests over a hand-written connection to a real
// net/http server and reads every way a body can come back: with a length,
// chunked, with the connection closed after it, and a 503 with Retry-After.
func TestWire(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer t" {
			http.Error(w, "no token: "+got, http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/short":
			_, _ = io.WriteString(w, "short:"+string(body))
		case "/chunked":
			// Larger than net/http's buffer before chunking.
			for range 100 {
				_, _ = io.WriteString(w, strings.Repeat("x", 99)+"\n")
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		case "/busy":
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
		retryAfter         string
		newConns           int32 // connections opened over the three calls
	}{
		{"POST", "/short", "a=b", 200, "short:a=b", "", 1},
		{"GET", "/chunked", "", 200, strings.Repeat(strings.Repeat("x", 99)+"\n", 100), "", 1},
		{"GET", "/close", "", 200, "bye", "", 3},
		{"GET", "/busy", "", 503, "", "60", 1},
	} {
		u, _ := url.Parse(srv.URL + tc.path)
		w := newWire(nil, tc.method, u, []string{"Authorization: Bearer t"}, tc.body)
		before := conns.Load()
		for i := range 3 {
			res, err := w.do(ctx)
			if err != nil {
				t.Fatalf("%s call %d: %v", tc.path, i, err)
			}
			if res.status != tc.status || string(res.body) != tc.want || res.retryAfter != tc.retryAfter {
				t.Errorf("%s call %d: status %d, body %.40q, Retry-After %q; want %d, %.40q, %q",
					tc.path, i, res.status, res.body, res.retryAfter, tc.status, tc.want, tc.retryAfter)
			}
		}
		w.close()
		if got := conns.Load() - before; got != tc.newConns {
			t.Errorf("%s: %d connections for three calls, want %d", tc.path, got, tc.newConns)
		}
	}

	// Not plain http: the caller falls back to net/http.
	u, _ := url.Parse("https://127.0.0.1/x")
	if newWire(nil, "GET", u, nil, "") != nil {
		t.Error("newWire accepted an https URL")
	}
}
