package rp

import (
	"context"
	"errors"
	"net/url"
	"testing"
)

// An issuer nothing listens on: the answers below must come without it,
// or say it is unreachable. (The whole sign-in against a real MILogin is
// walked by e2e/ and, against a signing test provider, by OSMIS's tests.)
const deadIssuer = "http://127.0.0.1:1/thirdparty"

func TestFinishJudgesTheAnswerBeforeTheExchange(t *testing.T) {
	c := New(Config{Issuer: deadIssuer + "/", ClientID: "app"})
	l := Login{State: "s", Nonce: "n", Verifier: "v"}
	for _, tt := range []struct {
		name string
		q    url.Values
		want error
	}{
		{"another issuer's answer (mix-up)", url.Values{"iss": {"https://evil.example/thirdparty"}, "state": {"s"}, "code": {"c"}}, ErrInvalid},
		{"another issuer's error", url.Values{"iss": {"https://evil.example/thirdparty"}, "state": {"s"}, "error": {"access_denied"}}, ErrInvalid},
		{"another sign-in's answer", url.Values{"iss": {deadIssuer}, "state": {"t"}, "code": {"c"}}, ErrInvalid},
		{"an answer without a state", url.Values{"iss": {deadIssuer}, "code": {"c"}}, ErrInvalid},
		{"another sign-in's error", url.Values{"iss": {deadIssuer}, "state": {"t"}, "error": {"access_denied"}}, ErrInvalid},
		{"the person cancelled", url.Values{"iss": {deadIssuer}, "state": {"s"}, "error": {"access_denied"}}, ErrDenied},
		{"another error", url.Values{"state": {"s"}, "error": {"server_error"}, "error_description": {"x"}}, ErrRefused},
		{"a code, but MILogin is down", url.Values{"iss": {deadIssuer}, "state": {"s"}, "code": {"c"}}, ErrUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			idt, raw, err := c.Finish(context.Background(), tt.q, l)
			if !errors.Is(err, tt.want) || idt != nil || raw != "" {
				t.Errorf("Finish = %v, %q, %v; want %v", idt, raw, err, tt.want)
			}
		})
	}
}

func TestUnreachableMILogin(t *testing.T) {
	c := New(Config{Issuer: deadIssuer, ClientID: "app"})
	ctx := context.Background()
	if u, _, err := c.Start(ctx); !errors.Is(err, ErrUnavailable) || u != "" {
		t.Errorf("Start = %q, %v", u, err)
	}
	if u := c.EndSessionURL(ctx, "a.b.c", "http://app.example/signed-out"); u != "" {
		t.Errorf("EndSessionURL = %q, want none", u)
	}
	if _, err := c.VerifyLogout(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("VerifyLogout of nothing: %v", err)
	}
	if _, err := c.VerifyLogout(ctx, "a.b.c"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("VerifyLogout with MILogin down: %v", err)
	}
}

func TestSameState(t *testing.T) {
	for _, tt := range []struct {
		got, want string
		ok        bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"", "", false}, // no state is never a match
		{"abc", "", false},
	} {
		if SameState(tt.got, tt.want) != tt.ok {
			t.Errorf("SameState(%q, %q) = %v", tt.got, tt.want, !tt.ok)
		}
	}
}
