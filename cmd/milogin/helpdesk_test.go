package main

import (
	"io"
	"net"
	"testing"

	"milogin"
	"milogin/internal/mfa"
)

// TestHelpDeskFlags: the shared flags set every portal, a portal's own
// flags win, the URL is each portal's Need Help? page, and the demo fills
// in the FAQ's number where none is configured.
func TestHelpDeskFlags(t *testing.T) {
	portals := func() map[milogin.PortalID]milogin.Portal {
		m := map[milogin.PortalID]milogin.Portal{}
		for _, p := range milogin.DefaultPortals() {
			m[p.ID] = p
		}
		return m
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		demo bool
		want map[milogin.PortalID]milogin.HelpDesk
	}{
		{"defaults", nil, nil, false, map[milogin.PortalID]milogin.HelpDesk{
			milogin.ThirdParty: {Name: "MILogin Help Desk", URL: "https://id.example.gov/thirdparty/help"},
			milogin.Citizen:    {Name: "MiLogin Help Desk", URL: "https://id.example.gov/citizen/help"},
		}},
		{"demo", nil, nil, true, map[milogin.PortalID]milogin.HelpDesk{
			milogin.ThirdParty: {Name: "MILogin Help Desk", Phone: "888-767-6424", URL: "https://id.example.gov/thirdparty/help"},
		}},
		{"shared and per portal", []string{"--help-desk-phone", "517-555-0111", "--help-desk-hours", "Weekdays",
			"--thirdparty-help-desk-name", "Third Party Desk", "--thirdparty-help-desk-phone", "517-555-0122", "--thirdparty-help-desk-email", "tp@example.gov"},
			nil, true, map[milogin.PortalID]milogin.HelpDesk{
				milogin.ThirdParty: {Name: "Third Party Desk", Phone: "517-555-0122", Hours: "Weekdays", Email: "tp@example.gov", URL: "https://id.example.gov/thirdparty/help"},
				milogin.Workforce:  {Name: "MILogin Help Desk", Phone: "517-555-0111", Hours: "Weekdays", URL: "https://id.example.gov/workforce/help"},
			}},
		{"environment", nil, map[string]string{"MILOGIN_CITIZEN_HELP_DESK_PHONE": "888-767-6424"}, false, map[milogin.PortalID]milogin.HelpDesk{
			milogin.Citizen:    {Name: "MiLogin Help Desk", Phone: "888-767-6424", URL: "https://id.example.gov/citizen/help"},
			milogin.ThirdParty: {Name: "MILogin Help Desk", URL: "https://id.example.gov/thirdparty/help"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFlagSet("test", io.Discard)
			h := registerHelpDesk(fs)
			if err := parse(fs, tc.args, func(k string) string { return tc.env[k] }); err != nil {
				t.Fatal(err)
			}
			ps := portals()
			if err := h.apply(ps, "https://id.example.gov", tc.demo); err != nil {
				t.Fatal(err)
			}
			for id, want := range tc.want {
				if got := ps[id].HelpDesk; got != want {
					t.Errorf("%s: %+v, want %+v", id, got, want)
				}
			}
		})
	}
	fs := newFlagSet("test", io.Discard)
	h := registerHelpDesk(fs)
	if err := parse(fs, []string{"--help-desk-email", "not an address"}, noEnv); err != nil {
		t.Fatal(err)
	}
	if err := h.apply(portals(), "https://id.example.gov", false); err == nil {
		t.Error("a help desk email that is not an address was accepted")
	}
}

// TestDefaultBaseURL: a loopback listener is named localhost (WebAuthn
// accepts it, an IP address it does not); another keeps its address.
func TestDefaultBaseURL(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://localhost:8080"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 18120}, "http://localhost:18120"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "http://localhost:8080"},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 8080}, "http://192.0.2.7:8080"},
	} {
		if got := defaultBaseURL(tc.addr); got != tc.want {
			t.Errorf("defaultBaseURL(%v) = %q, want %q", tc.addr, got, tc.want)
		}
		if _, err := mfa.NewWebAuthn(defaultBaseURL(tc.addr)); tc.want != "http://192.0.2.7:8080" && err != nil {
			t.Errorf("WebAuthn refuses the default base URL %s: %v", tc.want, err)
		}
	}
}
