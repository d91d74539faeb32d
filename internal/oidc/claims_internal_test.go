package oidc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"milogin"
)

// TestPhoneNumberVerifiedOnlyForAProvenMobile: the phone scope releases the
// mobile number, or else the work phone, and says it is verified only when
// a PIN sent to that mobile was confirmed.
func TestPhoneNumberVerifiedOnlyForAProvenMobile(t *testing.T) {
	for _, c := range []struct {
		name         string
		acct         milogin.Account
		wantNumber   string
		wantVerified any // nil: no claim
	}{
		{"proven mobile", milogin.Account{Mobile: "(517) 555-0123", MobileVerified: true}, "+15175550123", true},
		{"unproven mobile", milogin.Account{Mobile: "(517) 555-0123"}, "+15175550123", false},
		{"work phone only", milogin.Account{WorkPhone: "517-555-0199", MobileVerified: true}, "+15175550199", false},
		{"no number", milogin.Account{}, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := c.acct
			info := &oidc.UserInfo{}
			fillClaims(info, &a, []string{oidc.ScopeOpenID, oidc.ScopePhone}, nil, "")
			b, err := json.Marshal(info)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if n, _ := got["phone_number"].(string); n != c.wantNumber {
				t.Errorf("phone_number = %q, want %q", n, c.wantNumber)
			}
			if n := strings.Count(string(b), `"phone_number_verified"`); n > 1 {
				t.Errorf("phone_number_verified appears %d times: %s", n, b)
			}
			if v := got["phone_number_verified"]; v != c.wantVerified {
				t.Errorf("phone_number_verified = %v, want %v (claims %s)", v, c.wantVerified, b)
			}
		})
	}
}

// TestEncodeUserInfoMatchesTheLibrary: the userinfo endpoint encodes the
// claims in one pass (encodeUserInfo); the result must hold exactly what
// the library's own encoding holds, for every scope combination.
func TestEncodeUserInfoMatchesTheLibrary(t *testing.T) {
	acct := &milogin.Account{ID: "acct-1", UserID: "smithj0001", FirstName: "Jane", LastName: "Smith <&>",
		Email: "jane@example.com", EmailVerified: true, Mobile: "(517) 555-0123", MobileVerified: true}
	for _, c := range []struct {
		name   string
		scopes []string
		amr    []string
	}{
		{"openid only", []string{oidc.ScopeOpenID}, nil},
		{"profile email", []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail}, []string{"pwd"}},
		{"everything with mfa", []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone}, []string{"pwd", "otp", "mfa"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			info := &oidc.UserInfo{}
			fillClaims(info, acct, c.scopes, c.amr, "")
			lib, err := json.Marshal(info)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := encodeUserInfo(info)
			if err != nil {
				t.Fatal(err)
			}
			var want, got map[string]any
			if err := json.Unmarshal(lib, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(ours, &got); err != nil {
				t.Fatalf("ours is not JSON: %v: %s", err, ours)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("claims differ:\nours %s\nlib  %s", ours, lib)
			}
		})
	}
	// No extra claims at all: the registered ones alone.
	if b, err := encodeUserInfo(&oidc.UserInfo{Subject: "x"}); err != nil || string(b) != `{"sub":"x"}` {
		t.Errorf("encodeUserInfo without extras = %s, %v", b, err)
	}
}
