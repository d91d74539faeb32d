package web

import (
	"testing"

	"milogin"
)

// TestSafeNext: the way back after signing in is a path inside the portal,
// never another site (no open redirect), never the sign-in or sign-out page.
func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"/thirdparty/home", "/thirdparty/home"},
		{"/thirdparty/update-profile", "/thirdparty/update-profile"},
		{"/thirdparty/request-access?q=1#x", "/thirdparty/request-access?q=1#x"},
		{"/thirdparty/", "/thirdparty/"},
		{"", ""},
		{"home", ""},
		{"https://evil.example/thirdparty/home", ""},
		{"//evil.example/thirdparty/home", ""},
		{"///evil.example", ""},
		{"/thirdparty//evil.example", ""},
		{`/thirdparty/\evil.example`, ""},
		{`/\evil.example`, ""},
		{"/thirdparty/\t/evil.example", ""},
		{"/thirdparty/\r\nSet-Cookie: x=1", ""},
		{"/thirdparty/../citizen/home", ""},
		{"/thirdparty/./home", ""},
		{"/citizen/home", ""},
		{"/thirdpartyx/home", ""},
		{"/thirdparty/login", ""},
		{"/thirdparty/login?next=//evil.example", ""},
		{"/thirdparty/logout", ""},
		{"javascript:alert(1)", ""},
		{"/thirdparty/%2e%2e/citizen/home", ""}, // decoded, it leaves the portal
	} {
		if got := safeNext(milogin.ThirdParty, tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}
