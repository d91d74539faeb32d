// Package provision delivers OSMIS's provisioning outbox to MILogin's
// provisioning API over HTTP, as any state application would:
//
//	PUT    {issuer}/api/v1/apps/{client_id}/grants/{login_id}   {"reason": …}
//	DELETE {issuer}/api/v1/apps/{client_id}/grants/{login_id}   {"reason": …}
//
// authenticated with the client's credentials (HTTP Basic). A call that
// fails — MILogin down, a 5xx, a timeout, or a MILogin ID that has no
// account yet — stays in the outbox and is tried again with exponential
// backoff (2 s doubling to 10 minutes); nothing is dropped. The admin
// utility lists what is still pending.
package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"milogin/apps/osmis/internal/store"
)

// Client calls MILogin's provisioning API.
type Client struct {
	Issuer       string // e.g. http://127.0.0.1:8080/thirdparty
	ClientID     string
	ClientSecret string
	HTTP         *http.Client
}

// Error is a refused call: MILogin's {"code","message"}, or the transport's.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return e.Message
	}
	return fmt.Sprintf("MILogin answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Do performs one outbox call.
func (c *Client) Do(ctx context.Context, call *store.Call) error {
	method := http.MethodPut
	if call.Op == store.OpRevoke {
		method = http.MethodDelete
	}
	u := strings.TrimRight(c.Issuer, "/") + "/api/v1/apps/" + url.PathEscape(c.ClientID) + "/grants/" + url.PathEscape(call.LoginID)
	body, _ := json.Marshal(map[string]string{"reason": call.Reason})
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	res, err := hc.Do(req)
	if err != nil {
		return &Error{Message: "MILogin did not answer: " + err.Error()}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 == 2 {
		return nil
	}
	e := &Error{Status: res.StatusCode}
	var jerr struct{ Code, Message string }
	if json.Unmarshal(raw, &jerr) == nil && jerr.Code != "" {
		e.Code, e.Message = jerr.Code, jerr.Message
	} else {
		e.Message = http.StatusText(res.StatusCode)
	}
	// Revoking what MILogin never granted (or no longer knows) is done.
	if call.Op == store.OpRevoke && res.StatusCode == http.StatusNotFound {
		return nil
	}
	return e
}

// Worker delivers the outbox until its context ends.
type Worker struct {
	DB     *store.DB
	Client *Client
	Logger *slog.Logger
	// Every is how often the outbox is polled (default 1 s); Kick wakes
	// the worker at once after a change.
	Every time.Duration
	kick  chan struct{}
}

// NewWorker returns a worker for db and client.
func NewWorker(db *store.DB, c *Client, logger *slog.Logger) *Worker {
	return &Worker{DB: db, Client: c, Logger: logger, Every: time.Second, kick: make(chan struct{}, 1)}
}

// Kick asks for a delivery round now.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Backoff is the wait after the n-th failed attempt (n from 1).
func Backoff(n int) time.Duration {
	d := 2 * time.Second
	for i := 1; i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.Every)
	defer t.Stop()
	for {
		w.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// Round delivers every call that is due, once.
func (w *Worker) Round(ctx context.Context) {
	calls, err := w.DB.Claim(ctx, 20, time.Minute)
	if err != nil {
		if ctx.Err() == nil {
			w.Logger.Error("provisioning outbox", "err", err)
		}
		return
	}
	for _, c := range calls {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := w.Client.Do(cctx, c)
		cancel()
		if err == nil {
			if err := w.DB.Done(ctx, c.ID); err != nil {
				w.Logger.Error("provisioning outbox: marking done", "id", c.ID, "err", err)
			} else {
				w.Logger.Info("provisioned", "op", c.Op, "login_id", c.LoginID, "attempts", c.Attempts+1)
			}
			continue
		}
		next := w.DB.Now().Add(Backoff(c.Attempts + 1))
		w.Logger.Warn("provisioning call failed; will retry", "op", c.Op, "login_id", c.LoginID, "attempt", c.Attempts+1,
			"next", next, "err", err.Error())
		if err := w.DB.Retry(ctx, c.ID, err.Error(), next); err != nil {
			w.Logger.Error("provisioning outbox: recording retry", "id", c.ID, "err", err)
		}
	}
}
