package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runHealthcheck asks a running server whether it is ready and exits 0 only
// if it is. It exists for the container image: FROM scratch has no shell
// and no curl, so the image's HEALTHCHECK runs the binary itself.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin healthcheck", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "the server's --addr (a wildcard host such as 0.0.0.0 is asked on the loopback address)")
	u := fs.String("url", "", "URL to ask instead (default: http://ADDR/readyz)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *u == "" {
		host, port, err := net.SplitHostPort(*addr)
		if err != nil {
			return usageError{msg: "--addr: " + err.Error()}
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		*u = "http://" + net.JoinHostPort(host, port) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *u, nil)
	if err != nil {
		return usageError{msg: "--url: " + err.Error()}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %s", *u, res.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
