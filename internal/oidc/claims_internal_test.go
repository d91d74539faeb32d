package oidc

import (
	"encoding/json"
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
