// Package clientip gives the one answer to "which address is this request
// from?" that every per-address limit, log line and audit event uses.
//
// Behind a load balancer every request arrives from the balancer's address,
// so the client's own address has to come from X-Forwarded-For. That header
// is written by whoever sends the request, so it is believed only when the
// TCP peer is a configured trusted proxy, and only up to the first hop that
// is not itself trusted: the list is read from the right (the hop nearest to
// us, appended by our own proxy) to the left, trusted proxies are skipped,
// and the first address that is not a trusted proxy is the client. Anything
// to the left of it was written by the client and is ignored.
package clientip

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client address. The zero Resolver trusts no
// proxy: every request's address is its TCP peer.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that believes X-Forwarded-For from peers in the
// given prefixes.
func New(trusted ...netip.Prefix) *Resolver {
	r := &Resolver{}
	for _, p := range trusted {
		r.trusted = append(r.trusted, p.Masked())
	}
	return r
}

// ParseTrusted parses a comma-separated list of CIDR prefixes or single
// addresses ("10.0.0.0/8, 192.0.2.7, fd00::/8"), the form of
// --trusted-proxies. An empty list trusts nobody.
func ParseTrusted(list string) (*Resolver, error) {
	var prefixes []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			prefixes = append(prefixes, p)
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR prefix", f)
		}
		a = a.Unmap()
		prefixes = append(prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return New(prefixes...), nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	if r == nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client address of req: its TCP peer, unless that peer
// is a trusted proxy, in which case the right-most X-Forwarded-For entry that
// is not a trusted proxy. An entry that does not parse ends the walk at the
// last trusted hop: nothing to its left can be checked.
func (r *Resolver) Resolve(req *http.Request) string {
	peer, ok := parseHost(req.RemoteAddr, true)
	if !ok {
		// Not an IP peer (a test, a Unix socket): keep what there is.
		return req.RemoteAddr
	}
	if !r.isTrusted(peer) {
		return peer.String()
	}
	client := peer
	hops := forwarded(req.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHost(hops[i], false)
		if !ok {
			break
		}
		client = a
		if !r.isTrusted(a) {
			break
		}
	}
	return client.String()
}

// forwarded returns every X-Forwarded-For entry, the headers in order.
func forwarded(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, f := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(f))
		}
	}
	return hops
}

// parseHost parses "addr", "[v6]" or, when withPort, "addr:port" and
// "[v6]:port" (what RemoteAddr holds). Proxies do not agree on ports in
// X-Forwarded-For, so both forms are accepted there.
func parseHost(s string, withPort bool) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if withPort {
		if host, _, err := net.SplitHostPort(s); err == nil {
			s = host
		}
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

type ctxKey struct{}

// Middleware resolves every request's client address once and keeps it in
// the request's context for From.
func (r *Resolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ip := r.Resolve(req)
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), ctxKey{}, ip)))
	})
}

// From returns the client address of req: the one Middleware resolved or,
// for a request that did not pass through it (a handler tested alone), the
// TCP peer, never a header.
func From(req *http.Request) string {
	if ip, ok := req.Context().Value(ctxKey{}).(string); ok {
		return ip
	}
	return (*Resolver)(nil).Resolve(req)
}
