package provision_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
	"milogin/internal/provision"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
	"milogin/internal/web"
)

var fastParams = authn.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	password     = "Mitten!State26"
	osmisSecret  = "osmis-secret-0123456789"
	carsSecret   = "cars-secret-0123456789"
	publicClient = "public-client"
)

type env struct {
	srv   *httptest.Server
	store milogin.Store
	auth  *authn.Service
	now   time.Time
	acct  *milogin.Account
	other *milogin.Account
}

// fakeTokens stands in for the OpenID Provider's token verification.
type fakeTokens map[string]string

func (f fakeTokens) VerifyAccessToken(_ context.Context, portal milogin.PortalID, token string) (string, error) {
	if id, ok := f[token]; ok && portal == milogin.ThirdParty {
		return id, nil
	}
	return "", milogin.Errorf("fake", milogin.EUNAUTHORIZED, "bad token")
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir()+"/m.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newEnvOn(t, store, fastParams)
}

// newEnvOn is newEnv on store, with secrets hashed with params.
func newEnvOn(t *testing.T, store milogin.Store, params authn.Params) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{store: store, now: time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC)}
	hasher := authn.NewHasher(params, 0)
	var err error
	e.auth = authn.NewService(store, hasher, authn.NewCodeHasher(make([]byte, 32)))
	e.auth.Now = func() time.Time { return e.now }
	e.acct, err = e.auth.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: "smithj0001", FirstName: "John",
		LastName: "Smith", Email: "john.smith@miworks.org", WorkPhone: "517-555-0100", Password: password}, "test", authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	e.other, err = e.auth.CreateAccount(ctx, authn.NewAccount{Portal: milogin.Citizen, UserID: "smithj0001", FirstName: "John",
		LastName: "Smith", Email: "john@example.org", Password: password}, "test", authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	hash := func(s string) string {
		h, err := hasher.Hash(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	apps := []*milogin.Application{
		{ID: "osmis", Name: "One-Stop Management Information System (OSMIS)", Category: "Administration",
			Portals: []milogin.PortalID{milogin.ThirdParty}, LaunchURL: "https://osmis.example/login",
			Approval: milogin.ApprovalProvisioned, MFA: milogin.MFADaily, Contact: "the MWA Administrator",
			Client: milogin.Client{ID: "osmis-client", SecretHash: hash(osmisSecret), GrantTypes: []string{"authorization_code", "client_credentials"}}},
		{ID: "cars", Name: "CARS e-Services", Portals: []milogin.PortalID{milogin.ThirdParty, milogin.Citizen},
			LaunchURL: "https://cars.example/", Approval: milogin.ApprovalOpen,
			Client: milogin.Client{ID: "cars-client", SecretHash: hash(carsSecret), GrantTypes: []string{"authorization_code", "client_credentials"}}},
		{ID: "spa", Name: "Single page", Portals: []milogin.PortalID{milogin.ThirdParty}, Approval: milogin.ApprovalOpen,
			Client: milogin.Client{ID: publicClient, Public: true, GrantTypes: []string{"authorization_code"}}},
		{ID: "nocc", Name: "No client credentials", Portals: []milogin.PortalID{milogin.ThirdParty}, Approval: milogin.ApprovalOpen,
			Client: milogin.Client{ID: "nocc-client", SecretHash: hash("nocc-secret"), GrantTypes: []string{"authorization_code"}}},
	}
	err = store.Write(ctx, func(tx milogin.Tx) error {
		for _, a := range apps {
			if err := tx.Apps().Create(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(nil)
	t.Cleanup(e.srv.Close)
	acc := access.New(store)
	acc.Now = e.auth.Now
	pages, err := web.NewServer(web.Config{Auth: e.auth, Store: store, BaseURL: e.srv.URL, Access: acc,
		Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	api, err := provision.NewHandler(provision.Config{Store: store, Access: acc, Hasher: hasher, BaseURL: e.srv.URL,
		Now: e.auth.Now, Logger: slog.New(slog.DiscardHandler), Tokens: fakeTokens{"good-token": "osmis-client", "cars-token": "cars-client"}})
	if err != nil {
		t.Fatal(err)
	}
	// As cmd/milogin composes them: the API under each portal's /api/ and
	// /scim/, the pages everywhere else.
	mux := http.NewServeMux()
	for _, p := range milogin.DefaultPortals() {
		mux.Handle("/"+string(p.ID)+"/api/", api)
		mux.Handle("/"+string(p.ID)+"/scim/", api)
	}
	mux.Handle("/", pages)
	e.srv.Config.Handler = mux
	return e
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

// call makes an API request as an application: "osmis", "cars", a
// "bearer:TOKEN", or "" for none.
func (e *env) call(t *testing.T, method, path, as, contentType, body string) result {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case as == "osmis":
		req.SetBasicAuth("osmis-client", osmisSecret)
	case as == "cars":
		req.SetBasicAuth("cars-client", carsSecret)
	case strings.HasPrefix(as, "bearer:"):
		req.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(as, "bearer:"))
	case strings.HasPrefix(as, "basic:"):
		id, secret, _ := strings.Cut(strings.TrimPrefix(as, "basic:"), ":")
		req.SetBasicAuth(id, secret)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, b}
}

func wantError(t *testing.T, r result, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	m := r.json(t)
	if m["code"] != code || m["message"] == "" || len(m) != 2 {
		t.Errorf("error body %s, want code %q and a message", r.body, code)
	}
}

// homeLinks signs in as the person and returns the home page.
func (e *env) home(t *testing.T) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.PostForm(e.srv.URL+"/thirdparty/login", url.Values{"user_id": {"smithj0001"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Request.URL.Path == "/thirdparty/login/active-session" {
		res2, err := c.PostForm(e.srv.URL+"/thirdparty/login/active-session", url.Values{"choice": {"continue"}})
		if err != nil {
			t.Fatal(err)
		}
		defer res2.Body.Close()
		b, _ := io.ReadAll(res2.Body)
		return string(b)
	}
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func (e *env) events(t *testing.T, typ string) []*milogin.AuditEvent {
	t.Helper()
	var evs []*milogin.AuditEvent
	if err := e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		evs, err = tx.Audit().List(context.Background(), milogin.AuditFilter{Type: typ})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

func (e *env) outbox(t *testing.T) []*milogin.Message {
	t.Helper()
	var ms []*milogin.Message
	if err := e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(context.Background(), milogin.MessageFilter{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ms
}

const osmisLink = `<a href="https://osmis.example/login">One-Stop Management Information System (OSMIS)</a>`

func TestGrantAndRevokeMoveTheHomeLink(t *testing.T) {
	e := newEnv(t)
	if strings.Contains(e.home(t), osmisLink) {
		t.Fatal("link before the grant")
	}
	r := e.call(t, "PUT", "/thirdparty/api/v1/apps/osmis/grants/SmithJ0001", "osmis", "application/json", `{"reason":"Staff account created"}`)
	if r.status != http.StatusOK {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["status"] != "granted" || m["changed"] != true || m["login_id"] != "smithj0001" || m["user_id"] != e.acct.ID || m["decided_by"] != "app:osmis" {
		t.Errorf("grant answer %s", r.body)
	}
	if !strings.Contains(e.home(t), osmisLink) {
		t.Fatal("no home link after the grant")
	}
	ms := e.outbox(t)
	if len(ms) != 1 || !strings.Contains(ms[0].Text, "has been approved and the One-Stop Management Information System (OSMIS) link will be available on the home page the next time you log in") {
		t.Fatalf("granted email: %+v", ms)
	}
	// Granting again changes nothing and sends nothing.
	r = e.call(t, "PUT", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", "osmis", "", "")
	if r.status != http.StatusOK || r.json(t)["changed"] != false {
		t.Errorf("repeated grant: %d %s", r.status, r.body)
	}
	if len(e.outbox(t)) != 1 {
		t.Error("repeated grant sent an email")
	}
	r = e.call(t, "GET", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", "osmis", "", "")
	if r.status != http.StatusOK || r.json(t)["status"] != "granted" || r.json(t)["reason"] != "Staff account created" {
		t.Errorf("get grant: %d %s", r.status, r.body)
	}

	r = e.call(t, "DELETE", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", "osmis", "application/json; charset=utf-8", `{"reason":"Status set to INACTIVE"}`)
	if r.status != http.StatusOK || r.json(t)["status"] != "revoked" || r.json(t)["changed"] != true {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if strings.Contains(e.home(t), osmisLink) {
		t.Fatal("home link after the revocation")
	}
	if ms := e.outbox(t); len(ms) != 2 || !strings.Contains(ms[0].Text, "has been revoked") {
		t.Errorf("revoked email: %+v", ms[0])
	}
	r = e.call(t, "DELETE", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", "osmis", "", "")
	if r.status != http.StatusOK || r.json(t)["changed"] != false {
		t.Errorf("repeated revoke: %d %s", r.status, r.body)
	}

	// Every call is audited; the grant and revocation also as access events.
	calls := e.events(t, milogin.EventAPICall)
	if len(calls) != 5 {
		t.Errorf("api calls audited: %d, want 5", len(calls))
	}
	for _, ev := range calls {
		if ev.ActorID != "app:osmis" || ev.SubjectID != e.acct.ID || ev.Detail["status"] != "200" || ev.Detail["client_id"] != "osmis-client" {
			t.Errorf("audit event %+v", ev)
		}
	}
	if g := e.events(t, milogin.EventAccessGranted); len(g) != 1 || g[0].ActorID != "app:osmis" {
		t.Errorf("granted events %+v", g)
	}
	if g := e.events(t, milogin.EventAccessRevoked); len(g) != 1 || g[0].Detail["reason"] != "Status set to INACTIVE" {
		t.Errorf("revoked events %+v", g)
	}
}

func TestOnlyOwnGrants(t *testing.T) {
	e := newEnv(t)
	r := e.call(t, "PUT", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", "cars", "", "")
	wantError(t, r, http.StatusForbidden, "forbidden")
	r = e.call(t, "GET", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", "cars", "", "")
	wantError(t, r, http.StatusForbidden, "forbidden")
	r = e.call(t, "DELETE", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", "bearer:cars-token", "", "")
	wantError(t, r, http.StatusForbidden, "forbidden")
	if len(e.events(t, milogin.EventAccessGranted)) != 0 {
		t.Error("another application's grant changed")
	}
	denied := e.events(t, milogin.EventAPICall)
	if len(denied) != 3 || denied[0].Detail["code"] != "forbidden" || denied[0].Detail["status"] != "403" || denied[0].ActorID != "app:cars" {
		t.Errorf("refusals audited: %+v", denied)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	path := "/thirdparty/api/v1/users?login_id=smithj0001"
	r := e.call(t, "GET", path, "", "", "")
	wantError(t, r, http.StatusUnauthorized, "unauthorized")
	if !strings.Contains(strings.Join(r.header.Values("WWW-Authenticate"), ","), "Basic") {
		t.Error("no WWW-Authenticate")
	}
	wantError(t, e.call(t, "GET", path, "basic:osmis-client:wrong", "", ""), http.StatusUnauthorized, "unauthorized")
	wantError(t, e.call(t, "GET", path, "basic:nobody:secret", "", ""), http.StatusUnauthorized, "unauthorized")
	wantError(t, e.call(t, "GET", path, "bearer:bad-token", "", ""), http.StatusUnauthorized, "unauthorized")
	// A public client and one without client_credentials are refused.
	wantError(t, e.call(t, "GET", path, "basic:"+publicClient+":x", "", ""), http.StatusUnauthorized, "unauthorized")
	wantError(t, e.call(t, "GET", path, "basic:nocc-client:nocc-secret", "", ""), http.StatusForbidden, "forbidden")
	// OSMIS is not offered in the citizen portal.
	wantError(t, e.call(t, "GET", "/citizen/api/v1/users?login_id=smithj0001", "osmis", "", ""), http.StatusForbidden, "forbidden")
	// A bearer token works like the secret.
	if r := e.call(t, "GET", path, "bearer:good-token", "", ""); r.status != http.StatusOK {
		t.Errorf("bearer: %d %s", r.status, r.body)
	}
	fails := 0
	for _, ev := range e.events(t, milogin.EventAPICall) {
		if ev.Detail["code"] == "unauthorized" {
			fails++
		}
	}
	if fails != 5 {
		t.Errorf("failed authentications audited: %d", fails)
	}
}

func TestAuthFailuresAreThrottled(t *testing.T) {
	e := newEnv(t)
	path := "/thirdparty/api/v1/users?login_id=smithj0001"
	for range 20 {
		e.call(t, "GET", path, "basic:osmis-client:wrong", "", "")
	}
	wantError(t, e.call(t, "GET", path, "osmis", "", ""), http.StatusTooManyRequests, "rate_limited")
	e.now = e.now.Add(16 * time.Minute)
	if r := e.call(t, "GET", path, "osmis", "", ""); r.status != http.StatusOK {
		t.Errorf("after the window: %d", r.status)
	}
}

func TestLookup(t *testing.T) {
	e := newEnv(t)
	r := e.call(t, "GET", "/thirdparty/api/v1/users?login_id=SMITHJ0001", "osmis", "", "")
	if r.status != http.StatusOK {
		t.Fatalf("lookup: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["id"] != e.acct.ID || m["login_id"] != "smithj0001" || m["email"] != "john.smith@miworks.org" || m["access"] != "none" ||
		m["given_name"] != "John" || m["family_name"] != "Smith" || m["status"] != "active" {
		t.Errorf("user %s", r.body)
	}
	r = e.call(t, "GET", "/thirdparty/api/v1/users?email="+url.QueryEscape("John.Smith@MIWorks.org"), "osmis", "", "")
	if r.status != http.StatusOK || r.json(t)["id"] != e.acct.ID {
		t.Errorf("by email: %d %s", r.status, r.body)
	}
	// The citizen account with the same user ID is another portal's.
	r = e.call(t, "GET", "/citizen/api/v1/users?login_id=smithj0001", "cars", "", "")
	if r.status != http.StatusOK || r.json(t)["id"] != e.other.ID {
		t.Errorf("citizen lookup: %d %s", r.status, r.body)
	}
	wantError(t, e.call(t, "GET", "/thirdparty/api/v1/users?login_id=nobody0000", "osmis", "", ""), http.StatusNotFound, "not_found")
	wantError(t, e.call(t, "GET", "/thirdparty/api/v1/users", "osmis", "", ""), http.StatusBadRequest, "invalid")
	wantError(t, e.call(t, "GET", "/thirdparty/api/v1/users?login_id=a&email=b", "osmis", "", ""), http.StatusBadRequest, "invalid")
	wantError(t, e.call(t, "GET", "/thirdparty/api/v1/nothing", "osmis", "", ""), http.StatusNotFound, "not_found")
	wantError(t, e.call(t, "PUT", "/thirdparty/api/v1/apps/osmis/grants/nobody0000", "osmis", "", ""), http.StatusNotFound, "not_found")
}

func TestBadBodies(t *testing.T) {
	e := newEnv(t)
	path := "/thirdparty/api/v1/apps/osmis/grants/smithj0001"
	for _, tt := range []struct{ ct, body string }{
		{"application/json", `{"reason":`},
		{"application/json", `{"reason": 7}`},
		{"application/json", `{"reasons": "x"}`},
		{"application/json", `{"reason": "a"} {"reason": "b"}`},
		{"application/json", `[1,2]`},
		{"text/plain", `{"reason": "x"}`},
		{"application/json", `{"reason": "` + strings.Repeat("x", 501) + `"}`},
		{"application/json", `{"reason": "` + strings.Repeat("x", 20<<10) + `"}`},
	} {
		r := e.call(t, "PUT", path, "osmis", tt.ct, tt.body)
		wantError(t, r, http.StatusBadRequest, "invalid")
		if strings.Contains(string(r.body), "xxxxxxxxxx") {
			t.Error("the input was echoed back")
		}
	}
	if len(e.events(t, milogin.EventAccessGranted)) != 0 || len(e.outbox(t)) != 0 {
		t.Error("a malformed request changed something")
	}
}

func TestDecodeChange(t *testing.T) {
	if b, err := provision.DecodeChange("", nil); err != nil || b.Reason != "" {
		t.Errorf("empty: %+v %v", b, err)
	}
	if b, err := provision.DecodeChange("application/json", []byte(` {"reason":"ok"} `)); err != nil || b.Reason != "ok" {
		t.Errorf("reason: %+v %v", b, err)
	}
}

func FuzzDecodeChange(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"reason":"x"}`, `{"reason":`, `{"a":1}`, `null`, `"x"`, "{\"reason\":\"\xff\"}"} {
		f.Add("application/json", []byte(s))
	}
	f.Add("text/plain", []byte(`{}`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		b, err := provision.DecodeChange(ct, body)
		if err != nil {
			if !milogin.IsKind(err, milogin.EINVALID) {
				t.Fatalf("error of kind %s: %v", milogin.ErrorKind(err), err)
			}
			if msg := milogin.ErrorMessage(err); len(msg) > 200 {
				t.Fatalf("message echoes too much of the input: %q", msg)
			}
			return
		}
		if !utf8Valid(b.Reason) {
			t.Fatalf("invalid UTF-8 accepted")
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
