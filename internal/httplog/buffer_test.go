package httplog_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"milogin/internal/httplog"
)

// lockedBuffer is a bytes.Buffer safe to read while the Buffer's ticker
// writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBufferHoldsInfoAndWritesErrorsAtOnce(t *testing.T) {
	var out lockedBuffer
	b := httplog.NewBuffer(&out, time.Hour) // no interval write during the test
	logger := slog.New(httplog.FlushAbove(slog.NewJSONHandler(b, nil), b, slog.LevelWarn))

	logger.Info("http", "path", "/one")
	if got := out.String(); got != "" {
		t.Fatalf("an info line was written before the interval: %q", got)
	}
	logger.With("node", "a").Error("broken")
	got := out.String()
	if !strings.Contains(got, `"path":"/one"`) || !strings.Contains(got, `"msg":"broken"`) || strings.Index(got, "/one") > strings.Index(got, "broken") {
		t.Fatalf("an error should write everything before it, in order: %q", got)
	}
	logger.Info("http", "path", "/two")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"path":"/two"`) {
		t.Fatalf("Close should write what is left: %q", out.String())
	}
	logger.Info("after close")
	if !strings.Contains(out.String(), "after close") {
		t.Fatalf("a line after Close should go straight through: %q", out.String())
	}
}

func TestBufferWritesEveryInterval(t *testing.T) {
	var out lockedBuffer
	b := httplog.NewBuffer(&out, 10*time.Millisecond)
	defer b.Close()
	slog.New(slog.NewJSONHandler(b, nil)).Info("http", "path", "/tick")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "/tick") {
		if time.Now().After(deadline) {
			t.Fatal("the line was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
