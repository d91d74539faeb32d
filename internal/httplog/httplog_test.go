package httplog_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"milogin/internal/httplog"
)

func TestMiddleware(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	var gotRoute string
	var gotStatus int
	mux := http.NewServeMux()
	mux.HandleFunc("GET /thing/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		w.WriteHeader(http.StatusOK) // the first status counts
	})
	h := httplog.Middleware(logger, func(route string, status int, d time.Duration) { gotRoute, gotStatus = route, status },
		func(r *http.Request) slog.Attr { return slog.String("ip", "192.0.2.1") })(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/thing/7?code=secret", nil))
	if gotRoute != "GET /thing/{id}" || gotStatus != http.StatusTeapot {
		t.Errorf("observed %q %d, want the pattern and 418", gotRoute, gotStatus)
	}
	line := buf.String()
	for _, want := range []string{"msg=http", "method=GET", "path=/thing/7", "status=418", "duration=", "ip=192.0.2.1"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "secret") {
		t.Errorf("log line %q carries the query string", line)
	}

	gotRoute = ""
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nowhere", nil))
	if gotRoute != "unmatched" {
		t.Errorf("route %q, want unmatched", gotRoute)
	}
}

func TestStatusWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := &httplog.StatusWriter{ResponseWriter: rec}
	sw.Write([]byte("hi"))
	sw.WriteHeader(http.StatusNotFound)
	if sw.Status != http.StatusOK {
		t.Errorf("Status %d after a Write, want 200", sw.Status)
	}
	if http.NewResponseController(sw).Flush() != nil {
		t.Error("Flush through Unwrap failed")
	}
}
