package sms_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"milogin"
	"milogin/internal/notify"
	"milogin/internal/notify/sms"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

// provider is a real HTTP server standing in for an SMS gateway: it checks
// each request the way a provider would and records the texts it accepts.
type provider struct {
	t     *testing.T
	token string
	mu    sync.Mutex
	texts []text
	fail  int // answer 503 to this many requests first
}

type text struct{ To, Body, ContentType string }

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+p.token {
		http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		http.Error(w, `{"error":"try later"}`, http.StatusServiceUnavailable)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var x text
	switch ct {
	case "application/json":
		b, _ := io.ReadAll(r.Body)
		var v map[string]string
		if err := json.Unmarshal(b, &v); err != nil || len(v) != 2 {
			http.Error(w, "want a JSON object with to and body", http.StatusBadRequest)
			return
		}
		x = text{To: v["to"], Body: v["body"]}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		x = text{To: r.PostForm.Get("to"), Body: r.PostForm.Get("body")}
	default:
		http.Error(w, "unsupported content type", http.StatusUnsupportedMediaType)
		return
	}
	x.ContentType = ct
	p.texts = append(p.texts, x)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"queued"}`))
}

func (p *provider) received() []text {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]text(nil), p.texts...)
}

func startProvider(t *testing.T) (*provider, *httptest.Server) {
	p := &provider{t: t, token: "s3cret-token"}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv
}

func TestHTTPJSONAndForm(t *testing.T) {
	p, srv := startProvider(t)
	for _, f := range []sms.Format{sms.FormatJSON, sms.FormatForm} {
		h, err := sms.NewHTTP(srv.URL+"/v1/messages", sms.WithToken(p.token), sms.WithFormat(f))
		if err != nil {
			t.Fatal(err)
		}
		body := "MILogin PIN: 123456 & more = é"
		if err := h.Text(context.Background(), "+15175550100", body); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	got := p.received()
	want := []text{
		{"+15175550100", "MILogin PIN: 123456 & more = é", "application/json"},
		{"+15175550100", "MILogin PIN: 123456 & more = é", "application/x-www-form-urlencoded"},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("provider received %+v, want %+v", got, want)
	}
}

func TestHTTPErrors(t *testing.T) {
	p, srv := startProvider(t)
	wrong, _ := sms.NewHTTP(srv.URL, sms.WithToken("wrong"))
	err := wrong.Text(context.Background(), "5175550100", "PIN 654321")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "654321") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q leaks the body or the token", err)
	}
	p.fail = 1
	h, _ := sms.NewHTTP(srv.URL, sms.WithToken(p.token))
	if err := h.Text(context.Background(), "5175550100", "x"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503: %v", err)
	}
	if err := h.Text(context.Background(), "", "x"); err == nil {
		t.Error("no recipient accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Text(ctx, "5175550100", "x"); err == nil {
		t.Error("cancelled context: no error")
	}
	for _, bad := range []string{"http://sms.example.com/send", "ftp://x", "not a url", "/relative"} {
		if _, err := sms.NewHTTP(bad); err == nil {
			t.Errorf("NewHTTP(%q) accepted", bad)
		}
	}
	if _, err := sms.ParseFormat("xml"); err == nil {
		t.Error("format xml accepted")
	}
	if f, err := sms.ParseFormat(""); err != nil || f != sms.FormatJSON {
		t.Errorf("default format: %v %v", f, err)
	}
}

// TestWorkerDeliversTextsOverHTTP runs the outbox worker with the HTTP
// provider against the real server: a 503 is retried, then the text is
// delivered and marked sent.
func TestWorkerDeliversTextsOverHTTP(t *testing.T) {
	p, srv := startProvider(t)
	p.fail = 1
	store, err := sqlite.Open(context.Background(), t.TempDir()+"/m.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m, err := notify.Compose(milogin.ChannelSMS, "517-555-0100", "signup-pin", map[string]any{"PIN": "482913", "Minutes": 10, "Name": "", "Portal": "MILogin for Third Party"})
	if err != nil {
		t.Fatal(err)
	}
	m.CreatedAt, m.NextAttemptAt = now, now
	if err := store.Write(context.Background(), func(tx milogin.Tx) error { return tx.Outbox().Enqueue(context.Background(), m) }); err != nil {
		t.Fatal(err)
	}
	h, _ := sms.NewHTTP(srv.URL, sms.WithToken(p.token), sms.WithFormat(sms.FormatForm))
	clock := now
	w := &notify.Worker{Store: store, SMS: sms.Sender(h), Now: func() time.Time { return clock }, Logger: slog.New(slog.DiscardHandler)}
	if n, err := w.DeliverDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("first round: sent %d, %v (want the 503 to fail it)", n, err)
	}
	clock = now.Add(notify.Backoff(0) + time.Second)
	if n, err := w.DeliverDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("retry: sent %d, %v", n, err)
	}
	got := p.received()
	if len(got) != 1 || got[0].To != "517-555-0100" || !strings.Contains(got[0].Body, "482913") {
		t.Fatalf("provider received %+v", got)
	}
	var msgs []*milogin.Message
	_ = store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		msgs, err = tx.Outbox().List(context.Background(), milogin.MessageFilter{})
		return err
	})
	if len(msgs) != 1 || msgs[0].SentAt.IsZero() || msgs[0].Attempts != 1 {
		t.Fatalf("outbox: %+v", msgs[0])
	}
}

func TestOutboxProviderMarksDelivered(t *testing.T) {
	s := sms.Sender(sms.Outbox{Logger: slog.New(slog.DiscardHandler)})
	if err := s.Send(context.Background(), &milogin.Message{Channel: milogin.ChannelSMS, To: "5175550100", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), &milogin.Message{Channel: milogin.ChannelEmail, To: "a@example.org"}); err == nil {
		t.Error("an email was accepted by the SMS sender")
	}
}
