package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
)

// gen holds what every virtual user shares: the configuration, one
// connection pool, and the issuer's metadata and ID token verifier.
type gen struct {
	cfg       Config
	targets   []string        // Config.Target split at commas
	transport *http.Transport // for discovery, and users without a source of their own
	mu        sync.Mutex
	own       []*http.Transport // the virtual users' own pools, closed at the end
	wires     []*wire           // the repeating users' connections, closed at the end
	issuer    string
	meta      struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		Userinfo      string `json:"userinfo_endpoint"`
		JWKS          string `json:"jwks_uri"`
	}
	verifier *oidc.IDTokenVerifier
}

// vu is one virtual user: its own cookie jar (a browser of its own) and the
// seeded accounts it signs in as, in turn.
type vu struct {
	n      int
	target string // the node this user talks to: targets[n % len]
	client *http.Client
	turn   int
	// lastSignIn is where the last successful sign-in redirected.
	lastSignIn *url.URL
}

func (g *gen) newVU(n int) *vu {
	v := &vu{n: n, target: g.targets[n%len(g.targets)]}
	t := g.transport
	if src := sourceFor(g.cfg, v.target, n); src != nil {
		t = newTransport(src, 4)
		g.mu.Lock()
		g.own = append(g.own, t)
		g.mu.Unlock()
	}
	v.client = &http.Client{
		Transport: t,
		// The generator follows redirects itself, the way the scenario
		// needs (a browser would follow them all).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	v.resetJar()
	return v
}

// closeIdle closes the shared connection pool and the virtual users' own.
func (g *gen) closeIdle() {
	g.transport.CloseIdleConnections()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range g.own {
		t.CloseIdleConnections()
	}
	for _, w := range g.wires {
		w.close()
	}
}

func (v *vu) resetJar() {
	jar, _ := cookiejar.New(nil)
	v.client.Jar = jar
}

// nextUser returns the user ID of the account to sign in as next: virtual
// user n takes accounts n, n+C, n+2C, … (mod Users), so that concurrent
// users never share an account when Users >= Concurrency.
func (g *gen) nextUser(v *vu) string {
	i := g.cfg.FirstUser + (v.n+v.turn*g.cfg.Concurrency)%g.cfg.Users
	v.turn++
	return SeedUserID(g.cfg.Prefix, i)
}

// prepare reads the issuer's metadata for the scenarios that need it.
func (g *gen) prepare(ctx context.Context) error {
	g.issuer = g.targets[0] + "/" + g.cfg.Portal
	switch g.cfg.Scenario {
	case "flow", "userinfo", "client-credentials", "jwks":
	default:
		return nil
	}
	c := &http.Client{Transport: g.transport}
	res, err := c.Get(g.issuer + "/.well-known/openid-configuration")
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("discovery: HTTP %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&g.meta); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if g.cfg.Scenario != "jwks" && g.cfg.ClientID == "" {
		return errors.New("scenario " + g.cfg.Scenario + " needs --client-id (and --client-secret for a confidential client)")
	}
	if (g.cfg.Scenario == "flow" || g.cfg.Scenario == "userinfo") && g.cfg.RedirectURI == "" {
		return errors.New("scenario " + g.cfg.Scenario + " needs --redirect-uri (registered for the client)")
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, c), g.issuer)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	g.verifier = p.Verifier(&oidc.Config{ClientID: g.cfg.ClientID})
	return nil
}

// scenario does virtual user v's setup and returns its iteration.
func (g *gen) scenario(ctx context.Context, v *vu) (op, error) {
	switch g.cfg.Scenario {
	case "signin":
		return func(ctx context.Context) error { return g.signIn(ctx, v, g.nextUser(v)) }, nil
	case "flow":
		return func(ctx context.Context) error {
			// A new browser for every flow: a live session would skip the
			// password, which is what this scenario measures.
			v.resetJar()
			_, err := g.flow(ctx, v, g.nextUser(v))
			return err
		}, nil
	case "session":
		if err := g.signIn(ctx, v, g.nextUser(v)); err != nil {
			return nil, err
		}
		if v.lastSignIn.Path == "/"+g.cfg.Portal+"/login/active-session" {
			// The account has a session elsewhere: take it over, as a
			// person who wants to be signed in here does.
			res, err := v.post(ctx, v.lastSignIn.String(), url.Values{"choice": {"continue"}})
			if err != nil {
				return nil, err
			}
			if err := expect(res, http.StatusSeeOther); err != nil {
				return nil, err
			}
		}
		home := v.target + "/" + g.cfg.Portal + "/home"
		u, _ := url.Parse(home)
		var cookies []string
		for _, c := range v.client.Jar.Cookies(u) {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
		return g.repeat(v, "GET", home, []string{"Cookie: " + strings.Join(cookies, "; ")}, "", func(res *response) error {
			return expect(res, http.StatusOK)
		})
	case "userinfo":
		tok, err := g.flow(ctx, v, g.nextUser(v))
		if err != nil {
			return nil, err
		}
		return g.repeat(v, "GET", g.meta.Userinfo, []string{"Authorization: Bearer " + tok.AccessToken}, "", func(res *response) error {
			if err := expect(res, http.StatusOK); err != nil {
				return err
			}
			var claims struct {
				Sub string `json:"sub"`
			}
			if json.Unmarshal(res.body, &claims) != nil || claims.Sub == "" {
				return errKind("userinfo without sub", nil)
			}
			return nil
		})
	case "client-credentials":
		form := url.Values{"grant_type": {"client_credentials"}}
		header := []string{"Content-Type: application/x-www-form-urlencoded"}
		if g.cfg.ClientSecret == "" {
			form.Set("client_id", g.cfg.ClientID)
		} else {
			header = append(header, "Authorization: Basic "+basicAuth(g.cfg.ClientID, g.cfg.ClientSecret))
		}
		return g.repeat(v, "POST", g.meta.Token, header, form.Encode(), func(res *response) error {
			_, err := tokenOf(res)
			return err
		})
	case "jwks":
		return g.repeat(v, "GET", g.meta.JWKS, nil, "", func(res *response) error {
			if err := expect(res, http.StatusOK); err != nil {
				return err
			}
			if !bytes.Contains(res.body, []byte(`"keys"`)) {
				return errKind("jwks without keys", nil)
			}
			return nil
		})
	}
	return nil, fmt.Errorf("unknown scenario %q", g.cfg.Scenario)
}

// response is a read and closed HTTP response.
type response struct {
	status   int
	path     string
	location *url.URL
	body     []byte
	// retryAfter is the Retry-After header.
	retryAfter string
}

func (v *vu) do(req *http.Request) (*response, error) {
	res, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	r := &response{status: res.StatusCode, path: req.URL.Path, body: body, retryAfter: res.Header.Get("Retry-After")}
	if loc := res.Header.Get("Location"); loc != "" {
		if r.location, err = req.URL.Parse(loc); err != nil {
			return nil, errKind("bad Location", err)
		}
	}
	return r, nil
}

func (v *vu) get(ctx context.Context, u string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	return v.do(req)
}

func (v *vu) post(ctx context.Context, u string, form url.Values) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.do(req)
}

// errBusy is the server's answer under overload: 503 with Retry-After. It
// is counted apart from errors: shedding load is the intended behaviour.
var errBusy = errors.New("busy (503 with Retry-After)")

// expect turns an unexpected status into an error of kind "http STATUS PATH"
// (errBusy for an overload answer).
func expect(r *response, status int) error {
	if r.status == http.StatusServiceUnavailable && r.retryAfter != "" && status != r.status {
		return errBusy
	}
	if r.status != status {
		return errKind(fmt.Sprintf("http %d %s", r.status, r.path), nil)
	}
	return nil
}

// signIn posts the sign-in form (after loading it, as a browser does) and
// accepts a redirect to anywhere but the form itself: the home page, the
// page that asks about another active session, or the next step.
func (g *gen) signIn(ctx context.Context, v *vu, userID string) error {
	login := v.target + "/" + g.cfg.Portal + "/login"
	res, err := v.get(ctx, login)
	if err != nil {
		return err
	}
	if res.status != http.StatusOK && res.status != http.StatusSeeOther {
		return expect(res, http.StatusOK)
	}
	res, err = v.post(ctx, login, url.Values{"user_id": {userID}, "password": {g.cfg.Password}})
	if err != nil {
		return err
	}
	if err := expect(res, http.StatusSeeOther); err != nil {
		return err
	}
	if res.location == nil || res.location.Path == "/"+g.cfg.Portal+"/login" {
		return errKind("sign-in refused", nil)
	}
	v.lastSignIn = res.location
	return nil
}

// tokens is the token endpoint's answer.
type tokens struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

// token posts form to the token endpoint with the client's credentials.
func (g *gen) token(ctx context.Context, v *vu, form url.Values) (*tokens, error) {
	if g.cfg.ClientSecret == "" {
		form.Set("client_id", g.cfg.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", g.meta.Token, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if g.cfg.ClientSecret != "" {
		req.Header.Set("Authorization", "Basic "+basicAuth(g.cfg.ClientID, g.cfg.ClientSecret))
	}
	res, err := v.do(req)
	if err != nil {
		return nil, err
	}
	return tokenOf(res)
}

// tokenOf reads the token endpoint's answer.
func tokenOf(res *response) (*tokens, error) {
	if err := expect(res, http.StatusOK); err != nil {
		return nil, err
	}
	var t tokens
	if err := json.Unmarshal(res.body, &t); err != nil || t.AccessToken == "" {
		return nil, errKind("token response without access_token", err)
	}
	return &t, nil
}

// basicAuth is client_secret_basic's credentials: both parts form-encoded
// (RFC 6749 section 2.3.1), then base64.
func basicAuth(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}

// repeat returns the iteration that sends one request again and again and
// judges each answer with check: over a connection of the virtual user's
// own written by hand (wire) when the target is plain http, else through
// net/http. header holds "Name: value" lines.
func (g *gen) repeat(v *vu, method, rawURL string, header []string, body string, check func(*response) error) (op, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if w := newWire(sourceFor(g.cfg, v.target, v.n), method, u, header, body); w != nil {
		g.mu.Lock()
		g.wires = append(g.wires, w)
		g.mu.Unlock()
		return func(ctx context.Context) error {
			res, err := w.do(ctx)
			if err != nil {
				return err
			}
			return check(res)
		}, nil
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, method, rawURL, strings.NewReader(body))
		if err != nil {
			return err
		}
		for _, h := range header {
			name, value, _ := strings.Cut(h, ":")
			req.Header.Set(name, strings.TrimSpace(value))
		}
		res, err := v.do(req)
		if err != nil {
			return err
		}
		return check(res)
	}, nil
}

// maxHops bounds the redirects of one flow.
const maxHops = 12

// flow runs the OpenID Connect authorization code flow with PKCE as a
// browser and its application do: the authorization request, the sign-in
// page and its form, the pages between (another active session: continue),
// the redirect to the application's callback, the code exchange, and the
// ID token's verification (signature, issuer, audience, expiry, nonce).
func (g *gen) flow(ctx context.Context, v *vu, userID string) (*tokens, error) {
	verifier := random()
	sum := sha256.Sum256([]byte(verifier))
	state, nonce := random(), random()
	q := url.Values{
		"client_id": {g.cfg.ClientID}, "redirect_uri": {g.cfg.RedirectURI}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {state}, "nonce": {nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	res, err := v.get(ctx, g.meta.Authorization+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	base := "/" + g.cfg.Portal
	var callback *url.URL
	for hop := 0; callback == nil; hop++ {
		if hop == maxHops {
			return nil, errKind("too many redirects", nil)
		}
		if res.status != http.StatusSeeOther && res.status != http.StatusFound {
			return nil, expect(res, http.StatusSeeOther)
		}
		loc := res.location
		if loc == nil {
			return nil, errKind("redirect without Location", nil)
		}
		if strings.HasPrefix(loc.String(), g.cfg.RedirectURI) {
			callback = loc
			break
		}
		next := loc.Query().Get("next")
		switch loc.Path {
		case base + "/login":
			// Load the form, then send it.
			if page, err := v.get(ctx, loc.String()); err != nil {
				return nil, err
			} else if err := expect(page, http.StatusOK); err != nil {
				return nil, err
			}
			res, err = v.post(ctx, v.target+base+"/login", url.Values{"user_id": {userID}, "password": {g.cfg.Password}, "next": {next}})
		case base + "/login/active-session":
			if page, err := v.get(ctx, loc.String()); err != nil {
				return nil, err
			} else if err := expect(page, http.StatusOK); err != nil {
				return nil, err
			}
			res, err = v.post(ctx, v.target+base+"/login/active-session", url.Values{"choice": {"continue"}, "next": {next}})
		default:
			res, err = v.get(ctx, loc.String())
		}
		if err != nil {
			return nil, err
		}
	}
	cq := callback.Query()
	if e := cq.Get("error"); e != "" {
		return nil, errKind("callback error "+e, nil)
	}
	if cq.Get("state") != state {
		return nil, errKind("callback state mismatch", nil)
	}
	t, err := g.token(ctx, v, url.Values{"grant_type": {"authorization_code"}, "code": {cq.Get("code")},
		"redirect_uri": {g.cfg.RedirectURI}, "code_verifier": {verifier}})
	if err != nil {
		return nil, err
	}
	id, err := g.verifier.Verify(ctx, t.IDToken)
	if err != nil {
		return nil, errKind("id token", err)
	}
	if id.Nonce != nonce {
		return nil, errKind("id token nonce mismatch", nil)
	}
	return t, nil
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
