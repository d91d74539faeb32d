package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/clientip"
	"milogin/internal/keys"
	"milogin/internal/wellformed"
)

// handleEndSession is RP-initiated logout (OpenID Connect RP-Initiated
// Logout 1.0). MILogin requires a valid id_token_hint (SECURITY-TESTS.md: "needs
// id_token_hint or a confirmation page"), and ends only the sign-in session
// of the browser that asks, never another one: a valid ID token is no
// credential (an application holds many), so it must not log its subject
// out from somebody else's browser. When the browser is signed in as the
// person the hint names, its session ends at once, like a sign-out (every
// application it signed in to gets a back-channel logout). When it is
// signed in as someone else, a confirmation page asks first. When it is
// not signed in, there is nothing to end.
func (p *Provider) handleEndSession(portal milogin.PortalID) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			plainError(w, http.StatusBadRequest, "The logout request could not be read.")
			return
		}
		q := r.Form
		for k, v := range q {
			if len(v) > 1 {
				plainError(w, http.StatusBadRequest, "The logout request repeats the parameter "+k+".")
				return
			}
		}
		hint := q.Get("id_token_hint")
		if hint == "" {
			plainError(w, http.StatusBadRequest, "To log out from an application, the application must send id_token_hint. To log out of MILogin, use LOGOUT on the MILogin home page.")
			return
		}
		ctx := r.Context()
		claims, err := p.verifyIDToken(ctx, portal, hint)
		if err != nil {
			plainError(w, http.StatusBadRequest, "The id_token_hint is not a valid MILogin ID token for this portal.")
			return
		}
		clientID := claims.AZP
		if clientID == "" && len(claims.Aud) == 1 {
			clientID = claims.Aud[0]
		}
		if c := q.Get("client_id"); c != "" && c != clientID {
			plainError(w, http.StatusBadRequest, "client_id does not match the id_token_hint.")
			return
		}
		app, err := (&storage{p: p, portal: portal}).app(ctx, clientID)
		if err != nil {
			plainError(w, http.StatusBadRequest, "Unknown application.")
			return
		}
		post := q.Get("post_logout_redirect_uri")
		if post != "" && !slices.Contains(app.Client.PostLogoutURIs, post) {
			plainError(w, http.StatusBadRequest, "The post_logout_redirect_uri is not registered for this application.")
			return
		}
		to := "/" + string(portal) + "/login?m=logged-out"
		if post != "" {
			to = post
			if s := q.Get("state"); s != "" {
				to = withQuery(post, url.Values{"state": {s}})
			}
		}
		sess, err := p.browserSession(ctx, r, portal)
		if err != nil {
			p.cfg.Logger.Error("oidc: end_session", "err", err)
			plainError(w, http.StatusInternalServerError, "An internal error has occurred. Please try again later.")
			return
		}
		if sess != nil && sess.AccountID != claims.Sub {
			// The hint names someone else: only this browser's own person
			// may end this browser's session, and only on purpose.
			confirmed := r.Method == http.MethodPost && q.Get("confirm") == "yes" && logoutCSRF.Check(r) == nil
			if !confirmed {
				p.confirmLogout(w, portal, q)
				return
			}
		}
		if sess != nil {
			m := authn.Meta{IP: clientIP(r), UserAgent: wellformed.UserAgent(r)}
			if err := p.endSession(ctx, portal, sess, clientID, m); err != nil {
				p.cfg.Logger.Error("oidc: end_session", "err", err)
				plainError(w, http.StatusInternalServerError, "An internal error has occurred. Please try again later.")
				return
			}
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// logoutCSRF refuses a cross-site POST of the logout confirmation, so that
// another site cannot press LOG OUT for the person.
var logoutCSRF = http.NewCrossOriginProtection()

// browserSession returns the portal's sign-in session whose cookie the
// request carries, nil when there is none (see sameBrowser for the cookie).
func (p *Provider) browserSession(ctx context.Context, r *http.Request, portal milogin.PortalID) (*milogin.Session, error) {
	for _, name := range authn.SessionCookieNames(portal) {
		c, err := r.Cookie(name)
		if err != nil || c.Value == "" {
			continue
		}
		var sess *milogin.Session
		err = p.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
			sess, err = tx.Sessions().Get(ctx, authn.TokenID(c.Value))
			return err
		})
		if milogin.IsKind(err, milogin.ENOTFOUND) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if sess.Portal == portal {
			return sess, nil
		}
	}
	return nil, nil
}

var confirmLogoutPage = template.Must(template.New("confirm").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Log out of MILogin?</title></head>
<body>
<main>
<h1>Log out of MILogin?</h1>
<p>An application asked MILogin to log out a different person from the one signed in on this browser. Nobody is logged out unless you choose to.</p>
<form method="post" action="/{{.Portal}}/end_session">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<input type="hidden" name="confirm" value="yes">
<button type="submit">LOG OUT</button>
</form>
<p><a href="/{{.Portal}}/home">STAY SIGNED IN</a></p>
</main>
</body>
</html>
`))

// confirmLogout asks the person signed in on this browser whether to log
// out, when the application's hint names someone else.
func (p *Provider) confirmLogout(w http.ResponseWriter, portal milogin.PortalID, q url.Values) {
	params := map[string]string{}
	for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if v := q.Get(k); v != "" {
			params[k] = v
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = confirmLogoutPage.Execute(w, map[string]any{"Portal": string(portal), "Params": params})
}

// clientIP is the address the audit events record (see package clientip:
// X-Forwarded-For only from trusted proxies).
func clientIP(r *http.Request) string { return clientip.From(r) }

// idTokenClaims is what end_session reads from an ID token.
type idTokenClaims struct {
	Iss string       `json:"iss"`
	Sub string       `json:"sub"`
	Aud jsonAudience `json:"aud"`
	AZP string       `json:"azp"`
	SID string       `json:"sid"`
}

type jsonAudience []string

func (a *jsonAudience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// verifyIDToken checks that token was signed by one of our published keys
// for portal's issuer. An expired token is accepted: as a hint it only
// names the person and the session.
func (p *Provider) verifyIDToken(ctx context.Context, portal milogin.PortalID, token string) (*idTokenClaims, error) {
	if len(token) > 16<<10 {
		return nil, errors.New("token too long")
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errors.New("not a signed token")
	}
	kid := jws.Signatures[0].Header.KeyID
	pubs, err := p.cfg.Keys.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range pubs {
		if k.ID() != kid || string(k.Algorithm()) != jws.Signatures[0].Header.Algorithm {
			continue
		}
		payload, err := jws.Verify(k.Key())
		if err != nil {
			return nil, err
		}
		var c idTokenClaims
		if err := json.Unmarshal(payload, &c); err != nil {
			return nil, err
		}
		if c.Iss != p.Issuer(portal) || c.Sub == "" {
			return nil, errors.New("wrong issuer")
		}
		return &c, nil
	}
	return nil, errors.New("unknown key")
}

// endSession ends sess, this browser's own sign-in session, with its audit
// event and back-channel logouts. A session already gone is not an error.
func (p *Provider) endSession(ctx context.Context, portal milogin.PortalID, sess *milogin.Session, clientID string, m authn.Meta) error {
	now := p.now()
	return p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
		if _, err := tx.Sessions().Get(ctx, sess.ID); milogin.IsKind(err, milogin.ENOTFOUND) {
			return nil // already ended
		} else if err != nil {
			return err
		}
		if err := tx.Sessions().Delete(ctx, sess.ID); err != nil {
			return err
		}
		if err := p.SessionsEnded(ctx, tx, sess.AccountID, []string{sess.ID}); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, &milogin.AuditEvent{
			Time: now, Type: milogin.EventOAuthLogout, Portal: portal, ActorID: clientID, SubjectID: sess.AccountID,
			IP: m.IP, UserAgent: m.UserAgent, Detail: map[string]string{"client_id": clientID},
		})
	})
}

// logoutClaims is what a back-channel message carries until it is sent;
// the logout token is signed at sending time, so that a retried message
// does not carry an expired token.
type logoutClaims struct {
	Iss string `json:"iss"`
	Aud string `json:"aud"`
	Sub string `json:"sub"`
	SID string `json:"sid"`
	Alg string `json:"alg"`
}

// SessionsEnded is authn.Service's hook: inside the transaction that ends
// sessions, it queues a back-channel logout for every application those
// sessions signed in to (OpenID Connect Back-Channel Logout 1.0), and
// forgets the links.
func (p *Provider) SessionsEnded(ctx context.Context, tx milogin.Tx, accountID string, sessionIDs []string) error {
	links, err := tx.SessionClients().ListBySessions(ctx, sessionIDs)
	if err != nil || len(links) == 0 {
		return err
	}
	acct, err := tx.Accounts().Get(ctx, accountID)
	if err != nil {
		return err
	}
	now := p.now()
	queued := 0
	for _, l := range links {
		app, err := tx.Apps().GetByClientID(ctx, l.ClientID)
		if milogin.IsKind(err, milogin.ENOTFOUND) {
			continue
		}
		if err != nil {
			return err
		}
		if app.Client.BackchannelLogoutURI == "" {
			continue
		}
		body, err := json.Marshal(logoutClaims{Iss: p.Issuer(acct.Portal), Aud: l.ClientID, Sub: accountID, SID: l.SID, Alg: idTokenAlg(app)})
		if err != nil {
			return err
		}
		if err := tx.Outbox().Enqueue(ctx, &milogin.Message{
			Channel: milogin.ChannelBackchannel, To: app.Client.BackchannelLogoutURI,
			Subject: "Back-channel logout: " + l.ClientID, Text: string(body),
			CreatedAt: now, NextAttemptAt: now,
		}); err != nil {
			return err
		}
		queued++
	}
	if _, err := tx.SessionClients().DeleteBySessions(ctx, sessionIDs); err != nil {
		return err
	}
	if queued > 0 && p.cfg.Kick != nil {
		p.cfg.Kick()
	}
	return nil
}

// BackchannelSender delivers ChannelBackchannel messages: it signs the
// logout token and POSTs it to the application. It implements
// notify.Sender.
type BackchannelSender struct {
	Keys   *keys.Manager
	Client *http.Client // nil: a client with a 10 s timeout that follows no redirect
}

// NewBackchannelSender returns a sender signing with k.
func NewBackchannelSender(k *keys.Manager) *BackchannelSender {
	return &BackchannelSender{Keys: k}
}

func (s *BackchannelSender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Send signs a fresh logout token and POSTs it as logout_token. Any 2xx
// answer is success; anything else is retried by the worker.
func (s *BackchannelSender) Send(ctx context.Context, m *milogin.Message) error {
	var c logoutClaims
	if err := json.Unmarshal([]byte(m.Text), &c); err != nil {
		return fmt.Errorf("back-channel message %d: %w", m.ID, err)
	}
	if c.Alg == "" {
		c.Alg = keys.RS256
	}
	now := time.Now()
	token, err := s.Keys.Sign(ctx, c.Alg, "logout+jwt", map[string]any{
		"iss": c.Iss, "aud": c.Aud, "sub": c.Sub, "sid": c.SID,
		"iat": now.Unix(), "exp": now.Add(logoutTokenLifetime).Unix(), "jti": authn.NewID(),
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	})
	if err != nil {
		return err
	}
	form := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.To, bytes.NewBufferString(form))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := s.client().Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("back-channel logout to %s: HTTP %d", c.Aud, res.StatusCode)
	}
	return nil
}

// Sweep deletes what has expired: parked requests, codes, tokens, and the
// links of sessions that ran out (they cannot be logged out any more).
func (p *Provider) Sweep(ctx context.Context) (int, error) {
	now := p.now()
	total := 0
	err := p.cfg.Store.Write(ctx, func(tx milogin.Tx) error {
		for _, f := range []func() (int, error){
			func() (int, error) { return tx.OAuthRequests().DeleteExpired(ctx, now) },
			func() (int, error) { return tx.OAuthTokens().DeleteExpired(ctx, now) },
			func() (int, error) { return tx.SessionClients().DeleteCreatedBefore(ctx, now.Add(-48*time.Hour)) },
		} {
			n, err := f()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, milogin.Wrap("oidc.Sweep", err)
}
