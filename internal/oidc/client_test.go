package oidc_test

import (
	"testing"

	"milogin"
	"milogin/internal/oidc"
)

// A confidential client with an http loopback redirect is refused by
// ValidateClient (production) and accepted only by
// ValidateClientAllowingLoopbackHTTP (development), never for a
// non-loopback host; HasInsecureRedirect tells such a client apart.
func TestLoopbackHTTPForConfidentialClients(t *testing.T) {
	client := func(redirect, postLogout string, public bool) *milogin.Client {
		c := &milogin.Client{ID: "osmis", RedirectURIs: []string{redirect}, Public: public,
			GrantTypes: oidc.DefaultGrantTypes(public)}
		if postLogout != "" {
			c.PostLogoutURIs = []string{postLogout}
		}
		if !public {
			c.SecretHash = "hash"
		}
		return c
	}
	for _, tc := range []struct {
		name               string
		c                  *milogin.Client
		prod, dev, flagged bool
	}{
		{"https", client("https://osmis.example.gov/callback", "", false), true, true, false},
		{"loopback http, confidential", client("http://127.0.0.1:8081/callback", "", false), false, true, true},
		{"localhost http, confidential", client("http://localhost:8081/callback", "http://localhost:8081/signed-out", false), false, true, true},
		{"http post-logout only", client("https://osmis.example.gov/callback", "http://127.0.0.1:8081/out", false), false, true, true},
		{"non-loopback http", client("http://osmis.example.gov/callback", "", false), false, false, true},
		{"loopback http, public", client("http://127.0.0.1:8081/callback", "", true), true, true, false},
	} {
		if err := oidc.ValidateClient(tc.c); (err == nil) != tc.prod {
			t.Errorf("%s: ValidateClient = %v, want ok=%v", tc.name, err, tc.prod)
		}
		if err := oidc.ValidateClientAllowingLoopbackHTTP(tc.c); (err == nil) != tc.dev {
			t.Errorf("%s: ValidateClientAllowingLoopbackHTTP = %v, want ok=%v", tc.name, err, tc.dev)
		}
		if got := oidc.HasInsecureRedirect(tc.c); got != tc.flagged {
			t.Errorf("%s: HasInsecureRedirect = %v, want %v", tc.name, got, tc.flagged)
		}
	}
}
