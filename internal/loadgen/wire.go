package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"
)

// wire is one kept-alive HTTP/1.1 connection that sends the same request,
// written out once, again and again: what the steady-state scenarios
// (session, userinfo, client-credentials, jwks) repeat.
//
// Why not net/http's client: it costs about a third of what the server
// spends on a small request (a reader and a writer goroutine per
// connection, header maps, the hand-offs between them). On one machine that
// CPU comes out of the server's two cores, so the generator measured its
// own cost as much as the server's. Here the request is bytes prepared
// once and the answer is read by a small parser: status line, the headers
// the scenarios need, and the body (Content-Length or chunked). Everything
// else a server may send is read and ignored. Plain http only; an https
// target keeps net/http.
type wire struct {
	addr  string   // host:port to dial
	local net.Addr // the virtual user's source address, or nil
	req   []byte   // the whole request
	path  string   // for error kinds
	conn  net.Conn
	br    *bufio.Reader
	body  bytes.Buffer
}

// newWire prepares method u with header lines (each "Name: value") and
// body, or returns nil when u is not plain http (the caller then uses
// net/http).
func newWire(local net.Addr, method string, u *url.URL, header []string, body string) *wire {
	if u.Scheme != "http" {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: milogin-bench\r\n", method, u.RequestURI(), u.Host)
	for _, h := range header {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	if body != "" || method == http.MethodPost {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &wire{addr: addr, local: local, req: b.Bytes(), path: u.Path}
}

// do sends the request and reads the answer. The body in the response is
// the connection's buffer: valid until the next call.
func (w *wire) do(ctx context.Context) (*response, error) {
	r, err := w.roundTrip(ctx)
	if err != nil {
		w.close()
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			// The connection's deadline is the context's, and fires a
			// moment before the context says it is done: wait for it,
			// so that the end of a run is not counted as a timeout.
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, err
	}
	return r, nil
}

func (w *wire) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn, w.br = nil, nil
	}
}

func (w *wire) roundTrip(ctx context.Context) (*response, error) {
	if w.conn == nil {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: w.local}
		c, err := d.DialContext(ctx, "tcp", w.addr)
		if err != nil {
			return nil, err
		}
		w.conn, w.br = c, bufio.NewReaderSize(c, 16<<10)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	_ = w.conn.SetDeadline(deadline)
	if _, err := w.conn.Write(w.req); err != nil {
		return nil, err
	}
	line, err := w.line()
	if err != nil {
		return nil, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return nil, errKind("bad status line", nil)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return nil, errKind("bad status line", err)
	}
	r := &response{status: status, path: w.path}
	length, chunked, keep := int64(-1), false, true
	err = w.fields(func(name, value []byte) (err error) {
		switch {
		case equalFold(name, "Content-Length"):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return errKind("bad Content-Length", err)
			}
		case equalFold(name, "Transfer-Encoding"):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case equalFold(name, "Connection"):
			keep = !bytes.EqualFold(value, []byte("close"))
		case equalFold(name, "Retry-After"):
			r.retryAfter = string(value)
		case equalFold(name, "Location"):
			if r.location, err = url.Parse(string(value)); err != nil {
				return errKind("bad Location", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	w.body.Reset()
	switch {
	case chunked:
		if _, err := io.Copy(&w.body, io.LimitReader(httputil.NewChunkedReader(w.br), 1<<20)); err != nil {
			return nil, err
		}
		// The trailer: header lines up to an empty one, none of them used.
		if err := w.fields(func(_, _ []byte) error { return nil }); err != nil {
			return nil, err
		}
	case length >= 0:
		if length > 1<<20 {
			return nil, errKind("body too large", nil)
		}
		if _, err := io.CopyN(&w.body, w.br, length); err != nil {
			return nil, err
		}
	default:
		// No length: the body runs to the end of the connection.
		if _, err := io.Copy(&w.body, io.LimitReader(w.br, 1<<20)); err != nil {
			return nil, err
		}
		keep = false
	}
	r.body = w.body.Bytes()
	if !keep {
		w.close()
	}
	return r, nil
}

// fields reads header lines ("Name: value") up to the empty line that ends
// them, handing each to f with the value trimmed; f's error stops it.
func (w *wire) fields(f func(name, value []byte) error) error {
	for {
		line, err := w.line()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return errKind("bad header line", nil)
		}
		if err := f(name, bytes.TrimSpace(value)); err != nil {
			return err
		}
	}
}

// line reads one line without its CRLF.
func (w *wire) line() ([]byte, error) {
	line, err := w.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, errKind("header line too long", nil)
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func equalFold(b []byte, s string) bool {
	return len(b) == len(s) && bytes.EqualFold(b, []byte(s))
}
