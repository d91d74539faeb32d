package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/clocktest"
	"milogin/internal/keys"
	"milogin/internal/notify"
	"milogin/internal/oidc"
	"milogin/internal/secrets"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
	"milogin/internal/web"
)

var fastParams = authn.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	userID       = "smithj0001"
	goodPassword = "Mitten!State26"
	redirectURI  = "https://rp.example.test/callback"
	postLogout   = "https://rp.example.test/bye"
)

// env is a running MILogin: the real pages and the real provider on one
// httptest server, over SQLite.
type env struct {
	srv      *httptest.Server
	store    milogin.Store
	auth     *authn.Service
	keys     *keys.Manager
	provider *oidc.Provider
	hasher   *authn.Hasher
	clk      *clocktest.Clock
	account  *milogin.Account
	issuer   string
	// backchannel receives logout tokens posted to the test application.
	backchannel *httptest.Server
	logouts     chan string
}

type envOptions struct {
	store milogin.Store // nil: a fresh SQLite database
}

func newEnv(tb testing.TB, opts ...envOptions) *env {
	tb.Helper()
	ctx := context.Background()
	var store milogin.Store
	if len(opts) > 0 && opts[0].store != nil {
		store = opts[0].store
	} else {
		db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "milogin.db"), sqlstore.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		store = db
	}
	clk := clocktest.New(time.Now().UTC())
	hasher := authn.NewHasher(fastParams, 0)
	auth := authn.NewService(store, hasher, authn.NewCodeHasher(make([]byte, 32)))
	auth.Now = clk.Now
	auth.Logger = slog.New(slog.DiscardHandler)
	acct, err := auth.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: userID,
		FirstName: "John", LastName: "Smith", Email: "john.smith@example.org", Mobile: "(517) 555-0123",
		WorkPhone: "517-373-1837", Password: goodPassword}, "test", authn.Meta{})
	if err != nil {
		tb.Fatal(err)
	}
	kek, _ := secrets.New(make([]byte, 32))
	km := keys.New(store, kek)
	km.Now = clk.Now
	if err := km.Ensure(ctx); err != nil {
		tb.Fatal(err)
	}
	e := &env{store: store, auth: auth, keys: km, hasher: hasher, clk: clk, account: acct, logouts: make(chan string, 16)}
	e.backchannel = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("logout_token") == "" {
			http.Error(w, "no logout_token", http.StatusBadRequest)
			return
		}
		e.logouts <- r.PostForm.Get("logout_token")
	}))
	tb.Cleanup(e.backchannel.Close)

	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Start()
	tb.Cleanup(e.srv.Close)
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("OIDC_TEST_LOG") != "" {
		logger = slog.Default()
	}
	e.provider, err = oidc.New(oidc.Config{
		Store: store, Keys: km, Hasher: hasher, BaseURL: e.srv.URL, Now: clk.Now, Logger: logger,
	})
	if err != nil {
		tb.Fatal(err)
	}
	auth.SessionsEnded = e.provider.SessionsEnded
	pages, err := web.NewServer(web.Config{Auth: auth, Store: store, BaseURL: e.srv.URL, Registry: prometheus.NewRegistry(), Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	e.provider.SetSilent(pages.Silent)
	pages.SetFinish("oidc", e.provider.Finish)
	mux := http.NewServeMux()
	e.provider.Register(mux)
	mux.Handle("/", pages)
	e.srv.Config.Handler = mux
	e.issuer = e.srv.URL + "/thirdparty"
	return e
}

// app registers an application with an OpenID Connect client and returns
// the client secret ("" for a public client).
func (e *env) app(tb testing.TB, id string, public bool, mutate ...func(*milogin.Application)) string {
	tb.Helper()
	ctx := context.Background()
	a := &milogin.Application{
		ID: id, Name: "Test application " + id, Category: "Testing", Portals: []milogin.PortalID{milogin.ThirdParty},
		Approval: milogin.ApprovalOpen, MFA: milogin.MFANone,
		Client: milogin.Client{
			ID: id, Public: public, RedirectURIs: []string{redirectURI}, PostLogoutURIs: []string{postLogout},
			BackchannelLogoutURI: e.backchannel.URL + "/backchannel", GrantTypes: oidc.DefaultGrantTypes(public),
		},
		CreatedAt: e.clk.Now(), UpdatedAt: e.clk.Now(),
	}
	var secret string
	if !public {
		secret = oidc.NewClientSecret()
		h, err := e.hasher.Hash(ctx, secret)
		if err != nil {
			tb.Fatal(err)
		}
		a.Client.SecretHash = h
	}
	for _, m := range mutate {
		m(a)
	}
	if err := oidc.ValidateClient(&a.Client); err != nil {
		tb.Fatal(err)
	}
	err := e.store.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.Apps().Create(ctx, a); err != nil {
			return err
		}
		// Open enrolment: the person has access once the pages say so;
		// a grant up front keeps these tests about the protocol.
		return tx.Grants().Put(ctx, &milogin.Grant{AppID: id, AccountID: e.account.ID, Status: milogin.GrantActive,
			RequestedAt: e.clk.Now(), DecidedAt: e.clk.Now(), DecidedBy: "test"})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return secret
}

// browser is a cookie-jar client that does not follow redirects.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (r resp) location() string { return r.header.Get("Location") }

func do(tb testing.TB, c *http.Client, method, u string, form url.Values) resp {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b), res.Header}
}

func (e *env) abs(loc string) string {
	if strings.HasPrefix(loc, "/") {
		return e.srv.URL + loc
	}
	return loc
}

// signIn follows an authorization URL through the real pages (the sign-in
// form included, when the browser has no session) until the provider
// redirects to the application, and returns that redirect. Every redirect
// on the way must be a 303.
func (e *env) signIn(tb testing.TB, c *http.Client, authURL string) *url.URL {
	tb.Helper()
	u := authURL
	for range 12 {
		r := do(tb, c, "GET", u, nil)
		if r.status != http.StatusSeeOther {
			tb.Fatalf("GET %s: %d, want 303\n%s", u, r.status, r.body)
		}
		loc := r.location()
		if !strings.HasPrefix(loc, "/") {
			to, err := url.Parse(loc)
			if err != nil {
				tb.Fatal(err)
			}
			return to
		}
		if strings.HasPrefix(loc, "/thirdparty/login") {
			lu, _ := url.Parse(loc)
			lr := do(tb, c, "POST", e.srv.URL+"/thirdparty/login", url.Values{
				"user_id": {userID}, "password": {goodPassword}, "next": {lu.Query().Get("next")},
			})
			if lr.status != http.StatusSeeOther {
				tb.Fatalf("sign-in: %d\n%s", lr.status, lr.body)
			}
			loc = lr.location()
		}
		if strings.HasPrefix(loc, "/thirdparty/login/active-session") {
			// The one-session rule: take over the other session.
			lu, _ := url.Parse(loc)
			lr := do(tb, c, "POST", e.srv.URL+"/thirdparty/login/active-session", url.Values{
				"choice": {"continue"}, "next": {lu.Query().Get("next")},
			})
			if lr.status != http.StatusSeeOther {
				tb.Fatalf("takeover: %d\n%s", lr.status, lr.body)
			}
			loc = lr.location()
		}
		u = e.abs(loc)
	}
	tb.Fatal("too many redirects")
	return nil
}

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = oidc.NewClientSecret() // 43 base64url characters
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL builds an authorization request for clientID.
func (e *env) authorizeURL(clientID, challenge string, extra url.Values) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid profile email phone offline_access"}, "state": {"st-123"}, "nonce": {"n-456"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	for k, v := range q {
		if len(v) == 1 && v[0] == "<none>" {
			delete(q, k)
		}
	}
	return e.issuer + "/authorize?" + q.Encode()
}

// tokenRequest posts to the token endpoint with client_secret_basic (when
// secret is set) and decodes the JSON answer.
func (e *env) tokenRequest(tb testing.TB, clientID, secret string, form url.Values) (int, map[string]any) {
	tb.Helper()
	if secret == "" {
		form.Set("client_id", clientID)
	}
	req, _ := http.NewRequest("POST", e.issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatalf("token endpoint answered %d %q", res.StatusCode, b)
	}
	return res.StatusCode, out
}

// code runs the browser part of a flow and returns the authorization code.
func (e *env) code(tb testing.TB, c *http.Client, clientID, challenge string) string {
	tb.Helper()
	to := e.signIn(tb, c, e.authorizeURL(clientID, challenge, nil))
	code := to.Query().Get("code")
	if code == "" {
		tb.Fatalf("no code in %s", to)
	}
	return code
}

// exchange trades a code for tokens.
func (e *env) exchange(tb testing.TB, clientID, secret, code, verifier string) (int, map[string]any) {
	tb.Helper()
	return e.tokenRequest(tb, clientID, secret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier},
	})
}

// deliver runs the outbox worker once, with the provider's back-channel
// sender, and returns how many messages it sent.
func (e *env) deliver(tb testing.TB) int {
	tb.Helper()
	w := &notify.Worker{Store: e.store, Backchannel: oidc.NewBackchannelSender(e.keys), Now: e.clk.Now,
		Logger: slog.New(slog.DiscardHandler)}
	n, err := w.DeliverDue(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
