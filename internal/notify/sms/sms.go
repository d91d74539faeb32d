// Package sms delivers text messages. A Texter sends one text; two
// are provided:
//
//   - HTTP posts each text to a provider's endpoint (a gateway such as an
//     SMS aggregator's REST API, or the state's own relay) as JSON
//     {"to": "...", "body": "..."} or as a form, with a bearer token. Any
//     status other than 2xx is an error, so the outbox worker retries.
//   - Outbox delivers nothing: in development and demo mode the texts stay
//     readable in the outbox, where /dev/mailbox shows them, and are marked
//     delivered.
//
// Sender adapts a Texter to notify.Sender for the outbox worker.
package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"milogin"
	"milogin/internal/notify"
)

// Texter sends one text message.
type Texter interface {
	Text(ctx context.Context, to, body string) error
}

// Sender returns a notify.Sender that hands text messages to t. Messages of
// another channel are refused (the worker would retry them, so this is a
// wiring mistake, reported loudly).
func Sender(t Texter) notify.Sender {
	return notify.SenderFunc(func(ctx context.Context, m *milogin.Message) error {
		if m.Channel != milogin.ChannelSMS {
			return fmt.Errorf("sms: message %d is for channel %q", m.ID, m.Channel)
		}
		return t.Text(ctx, m.To, m.Text)
	})
}

// Format is how HTTP encodes a text.
type Format string

const (
	FormatJSON Format = "json" // {"to": "+15175550100", "body": "…"}
	FormatForm Format = "form" // to=%2B15175550100&body=…
)

// ParseFormat accepts "json" (also "") and "form".
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "", FormatJSON:
		return FormatJSON, nil
	case FormatForm:
		return FormatForm, nil
	}
	return "", fmt.Errorf("sms: unknown format %q (want json or form)", s)
}

// HTTP posts texts to a provider's endpoint.
type HTTP struct {
	url    string
	token  string
	format Format
	client *http.Client
}

// Option configures HTTP.
type Option func(*HTTP)

// WithToken sends "Authorization: Bearer token" with every request.
func WithToken(token string) Option { return func(h *HTTP) { h.token = token } }

// WithFormat chooses JSON (the default) or a form body.
func WithFormat(f Format) Option { return func(h *HTTP) { h.format = f } }

// WithClient uses c instead of a client with a 15-second timeout.
func WithClient(c *http.Client) Option { return func(h *HTTP) { h.client = c } }

// NewHTTP returns a Texter that posts to endpoint, which must be an https
// URL (http only for a loopback address, for tests and local relays).
func NewHTTP(endpoint string, opts ...Option) (*HTTP, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("sms: endpoint %q is not an absolute URL", endpoint)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("sms: endpoint %q must use https (http only on a loopback address)", endpoint)
	}
	h := &HTTP{url: endpoint, format: FormatJSON, client: &http.Client{Timeout: 15 * time.Second}}
	for _, o := range opts {
		o(h)
	}
	if h.format != FormatJSON && h.format != FormatForm {
		return nil, fmt.Errorf("sms: unknown format %q", h.format)
	}
	return h, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// maxErrorBody bounds how much of a provider's error answer is kept.
const maxErrorBody = 512

// Text posts one message. The error never contains the body (it carries a
// PIN) nor the token; it names the status and the start of the provider's
// answer.
func (h *HTTP) Text(ctx context.Context, to, body string) error {
	if strings.TrimSpace(to) == "" {
		return errors.New("sms: no recipient")
	}
	var (
		payload []byte
		ctype   string
	)
	switch h.format {
	case FormatForm:
		payload = []byte(url.Values{"to": {to}, "body": {body}}.Encode())
		ctype = "application/x-www-form-urlencoded"
	default:
		var err error
		if payload, err = json.Marshal(struct {
			To   string `json:"to"`
			Body string `json:"body"`
		}{to, body}); err != nil {
			return err
		}
		ctype = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	res, err := h.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL may carry a key in its query: leave it out
		}
		return fmt.Errorf("sms: posting to the provider: %w", err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("sms: provider answered %s: %s", res.Status, strings.TrimSpace(string(answer)))
	}
	return nil
}

// Outbox is the development provider: it sends nothing and reports success,
// so the outbox marks the text delivered and /dev/mailbox shows it.
type Outbox struct {
	Logger *slog.Logger // nil: slog.Default()
}

// Text logs that a text was "delivered" (never its body: it carries a PIN).
func (o Outbox) Text(ctx context.Context, to, body string) error {
	l := o.Logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(ctx, slog.LevelInfo, "sms: kept in the outbox (development provider)", slog.String("to", milogin.MaskPhone(to)))
	return nil
}
