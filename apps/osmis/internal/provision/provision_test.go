package provision_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"milogin/apps/osmis/internal/provision"
	"milogin/apps/osmis/internal/store"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{1, 2 * time.Second}, {2, 4 * time.Second}, {3, 8 * time.Second}, {9, 512 * time.Second}, {10, 10 * time.Minute}, {50, 10 * time.Minute}} {
		if got := provision.Backoff(c.n); got != c.want {
			t.Errorf("Backoff(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}

// fakeMILogin answers the provisioning API: 5xx while failing, 404 for a
// MILogin ID with no account, otherwise it records the grant or revoke.
type fakeMILogin struct {
	mu       sync.Mutex
	failing  bool
	accounts map[string]bool
	calls    []string
}

func (f *fakeMILogin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, secret, ok := r.BasicAuth(); !ok || id != "osmis" || secret != "s3cret" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":"unauthorized","message":"The application's credentials are missing or wrong."}`)
		return
	}
	if f.failing {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	login := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if !strings.HasPrefix(r.URL.Path, "/thirdparty/api/v1/apps/osmis/grants/") || !f.accounts[login] {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":"not_found","message":"No account has this MILogin ID."}`)
		return
	}
	var body struct{ Reason string }
	json.NewDecoder(r.Body).Decode(&body)
	f.calls = append(f.calls, r.Method+" "+login+" "+body.Reason)
	w.Write([]byte(`{}`))
}

func TestWorkerRetriesUntilMILoginAccepts(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock := time.Now()
	db.Now = func() time.Time { return clock }
	m, _ := db.CreateMWA(ctx, "Capital Area Michigan Works!", []string{"miworks.example.org"})
	casey := &store.Staff{FirstName: "Casey", LastName: "Rivera", LoginID: "riverac0001", Email: "casey@miworks.example.org", MWAID: m.ID, Status: store.Active}
	if err := db.CreateStaff(ctx, casey); err != nil {
		t.Fatal(err)
	}

	// MILogin is down: nothing listens on the address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := &provision.Client{Issuer: "http://" + addr + "/thirdparty", ClientID: "osmis", ClientSecret: "s3cret",
		HTTP: &http.Client{Timeout: 2 * time.Second}}
	w := provision.NewWorker(db, client, slog.New(slog.DiscardHandler))
	w.Round(ctx)
	p, _ := db.Pending(ctx)
	if len(p) != 1 || p[0].Attempts != 1 || !strings.Contains(p[0].LastError, "MILogin did not answer") || !p[0].NextAt.Equal(clock.Add(2*time.Second).Truncate(time.Millisecond)) {
		t.Fatalf("after a failed call: %+v", p[0])
	}
	// Not yet due: the worker waits.
	w.Round(ctx)
	if p, _ := db.Pending(ctx); p[0].Attempts != 1 {
		t.Errorf("retried before its time: %+v", p[0])
	}

	// MILogin is back but failing (503), then knows no such account (404):
	// still pending; then the account exists: done.
	fake := &fakeMILogin{failing: true, accounts: map[string]bool{}}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	srv := httptest.NewUnstartedServer(fake)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	for i, want := range []string{"503", "404 not_found"} {
		clock = clock.Add(time.Hour)
		if i == 1 {
			fake.mu.Lock()
			fake.failing = false
			fake.mu.Unlock()
		}
		w.Round(ctx)
		p, _ := db.Pending(ctx)
		if len(p) != 1 || p[0].Attempts != i+2 || !strings.Contains(p[0].LastError, want) {
			t.Fatalf("round %d: %+v", i, p)
		}
	}
	fake.mu.Lock()
	fake.accounts["riverac0001"] = true
	fake.mu.Unlock()
	clock = clock.Add(time.Hour)
	w.Round(ctx)
	if p, _ := db.Pending(ctx); len(p) != 0 {
		t.Fatalf("still pending: %+v", p)
	}

	// INACTIVE: the revoke follows; a revoke of an unknown grant is done too.
	db.UpdateStaff(ctx, casey.ID, func(s *store.Staff) error { s.Status = store.Inactive; return nil })
	w.Round(ctx)
	fake.mu.Lock()
	calls := append([]string(nil), fake.calls...)
	fake.mu.Unlock()
	want := []string{"PUT riverac0001 Staff account created in OSMIS", "DELETE riverac0001 Status set to INACTIVE in OSMIS"}
	if len(calls) != 2 || calls[0] != want[0] || calls[1] != want[1] {
		t.Errorf("MILogin saw %q, want %q", calls, want)
	}
	if err := client.Do(ctx, &store.Call{Op: store.OpRevoke, LoginID: "nobody"}); err != nil {
		t.Errorf("revoking an unknown grant: %v", err)
	}
	if err := (&provision.Client{Issuer: client.Issuer, ClientID: "osmis", ClientSecret: "wrong"}).Do(ctx, &store.Call{Op: store.OpGrant, LoginID: "riverac0001"}); err == nil || !strings.Contains(err.Error(), "401 unauthorized") {
		t.Errorf("wrong secret: %v", err)
	}
}
