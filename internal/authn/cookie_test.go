package authn

import (
	"testing"

	"milogin"
)

// The session cookie's names are what browsers hold: changing them signs
// everyone out. The pages set them and the OpenID provider reads them.
func TestSessionCookieNames(t *testing.T) {
	for _, tt := range []struct {
		portal milogin.PortalID
		secure bool
		want   string
	}{
		{milogin.ThirdParty, true, "__Host-milogin-thirdparty"},
		{milogin.ThirdParty, false, "milogin-thirdparty"},
		{milogin.Citizen, true, "__Host-milogin-citizen"},
	} {
		if got := SessionCookieName(tt.portal, tt.secure); got != tt.want {
			t.Errorf("SessionCookieName(%s, %v) = %q, want %q", tt.portal, tt.secure, got, tt.want)
		}
	}
	if got := SessionCookieNames(milogin.Workforce); got != [2]string{"__Host-milogin-workforce", "milogin-workforce"} {
		t.Errorf("SessionCookieNames = %q", got)
	}
}
