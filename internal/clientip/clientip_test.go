package clientip_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"milogin/internal/clientip"
)

func TestResolve(t *testing.T) {
	lb, err := clientip.ParseTrusted("10.0.0.0/8, 192.0.2.7,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	none, _ := clientip.ParseTrusted("")
	cases := []struct {
		name   string
		r      *clientip.Resolver
		remote string
		xff    []string // one entry per header line
		want   string
	}{
		{"no proxy trusted: peer", none, "203.0.113.5:4242", nil, "203.0.113.5"},
		{"no proxy trusted: spoofed header ignored", none, "203.0.113.5:4242", []string{"1.2.3.4"}, "203.0.113.5"},
		{"untrusted peer: spoofed header ignored", lb, "203.0.113.5:4242", []string{"10.1.1.1, 198.51.100.9"}, "203.0.113.5"},
		{"untrusted peer claiming to be a trusted proxy", lb, "203.0.113.5:4242", []string{"192.0.2.7"}, "203.0.113.5"},
		{"trusted peer, one hop", lb, "10.0.0.2:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"trusted peer, client-written entries left of the real one", lb, "10.0.0.2:80", []string{"1.1.1.1, 2.2.2.2, 198.51.100.9"}, "198.51.100.9"},
		{"two trusted proxies skipped", lb, "10.0.0.2:80", []string{"198.51.100.9, 192.0.2.7, 10.9.9.9"}, "198.51.100.9"},
		{"several header lines read in order", lb, "10.0.0.2:80", []string{"6.6.6.6, 198.51.100.9", "10.3.3.3"}, "198.51.100.9"},
		{"trusted peer without header", lb, "10.0.0.2:80", nil, "10.0.0.2"},
		{"all hops trusted: left-most", lb, "10.0.0.2:80", []string{"10.7.7.7, 10.8.8.8"}, "10.7.7.7"},
		{"garbage entry stops at the last trusted hop", lb, "10.0.0.2:80", []string{"198.51.100.9, not-an-ip, 10.5.5.5"}, "10.5.5.5"},
		{"garbage right-most entry: the proxy itself", lb, "10.0.0.2:80", []string{"1.2.3.4, <script>"}, "10.0.0.2"},
		{"NUL in header", lb, "10.0.0.2:80", []string{"198.51.100.9\x00"}, "10.0.0.2"},
		{"empty entry", lb, "10.0.0.2:80", []string{"198.51.100.9, "}, "10.0.0.2"},
		{"entry with a port", lb, "10.0.0.2:80", []string{"198.51.100.9:5555"}, "198.51.100.9"},
		{"IPv6 peer and entries", lb, "[fd00::1]:443", []string{"2001:db8::5, fd00::2"}, "2001:db8::5"},
		{"bracketed IPv6 entry", lb, "[fd00::1]:443", []string{"[2001:db8::5]:1234"}, "2001:db8::5"},
		{"IPv4-mapped peer is matched as IPv4", lb, "[::ffff:10.0.0.2]:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"IPv4-mapped client is written as IPv4", lb, "10.0.0.2:80", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
		{"zone in entry refused", lb, "10.0.0.2:80", []string{"fe80::1%eth0"}, "10.0.0.2"},
		{"IPv6 peer untrusted", lb, "[2001:db8::9]:443", []string{"198.51.100.9"}, "2001:db8::9"},
		{"peer that is not an address kept as is", lb, "pipe", []string{"198.51.100.9"}, "pipe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.remote
			for _, v := range c.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := c.r.Resolve(req); got != c.want {
				t.Errorf("Resolve = %q, want %q", got, c.want)
			}
			var seen string
			c.r.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = clientip.From(r) })).ServeHTTP(httptest.NewRecorder(), req)
			if seen != c.want {
				t.Errorf("From behind Middleware = %q, want %q", seen, c.want)
			}
		})
	}
}

func TestFromWithoutMiddlewareIgnoresHeaders(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "203.0.113.5:1"
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	if got := clientip.From(req); got != "203.0.113.5" {
		t.Errorf("From = %q, want the peer", got)
	}
}

func TestParseTrusted(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/8/2", "1.2.3"} {
		if _, err := clientip.ParseTrusted(bad); err == nil {
			t.Errorf("ParseTrusted(%q) accepted", bad)
		}
	}
	// A prefix with host bits set is accepted and masked.
	r, err := clientip.ParseTrusted("10.1.2.3/8")
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.200.0.1:1"
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	if got := r.Resolve(req); got != "198.51.100.9" {
		t.Errorf("Resolve = %q", got)
	}
}
