package httplog

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// maxBuffered is how much Buffer collects before it writes without waiting
// for its interval.
const maxBuffered = 64 << 10

// Buffer collects log lines and writes them to the underlying writer in
// one system call every interval (or sooner, when 64 KiB have collected),
// instead of one write per line. With a line per request, the write was a
// tenth of the CPU time of a light request (the JWKS, a userinfo call)
// under load. Lines wait at most the interval; a crash loses at most that
// much of the access log, and FlushAbove writes warnings and errors at once.
// A Buffer is safe for concurrent use.
type Buffer struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	err    error // the underlying writer's first error, returned by Close
	closed bool  // after Close, lines go straight through
	stop   chan struct{}
	done   chan struct{}
}

// NewBuffer returns a Buffer writing to w every interval until Close.
func NewBuffer(w io.Writer, interval time.Duration) *Buffer {
	b := &Buffer{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.Flush()
			}
		}
	}()
	return b
}

// Write collects p (one log line: slog hands each record over whole).
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		// A line logged after Close (a deferred clean-up's) is not lost.
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= maxBuffered {
		b.flushLocked()
	}
	return len(p), nil
}

// Flush writes what has collected.
func (b *Buffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *Buffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	if _, err := b.w.Write(b.buf); err != nil && b.err == nil {
		b.err = err
	}
	b.buf = b.buf[:0]
	if cap(b.buf) > 4*maxBuffered {
		b.buf = nil // a burst grew it: let it go
	}
}

// Close stops the interval writes and writes what is left. It returns the
// first error the underlying writer gave.
func (b *Buffer) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	b.closed = true
	return b.err
}

// FlushAbove wraps h, which writes to b, so that a record at level or
// above is written out at once with everything before it: an error must
// not wait in a buffer for a crash to lose it.
func FlushAbove(h slog.Handler, b *Buffer, level slog.Level) slog.Handler {
	return flushing{Handler: h, b: b, level: level}
}

type flushing struct {
	slog.Handler
	b     *Buffer
	level slog.Level
}

func (f flushing) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if r.Level >= f.level {
		f.b.Flush()
	}
	return err
}

func (f flushing) WithAttrs(as []slog.Attr) slog.Handler {
	return flushing{Handler: f.Handler.WithAttrs(as), b: f.b, level: f.level}
}

func (f flushing) WithGroup(name string) slog.Handler {
	return flushing{Handler: f.Handler.WithGroup(name), b: f.b, level: f.level}
}
