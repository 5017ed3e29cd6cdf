package gate

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP finds a request's client address. X-Forwarded-For is read only
// when the peer is one of the trusted proxies, and then from the right: the
// first address that is not itself a trusted proxy is the client. Anything
// a client writes into the header further left is ignored.
type ClientIP struct {
	trusted []*net.IPNet
}

// NewClientIP trusts the proxies in list (IPs or CIDRs, comma-separated).
func NewClientIP(list string) (*ClientIP, error) {
	c := &ClientIP{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			if strings.Contains(s, ":") {
				s += "/128"
			} else {
				s += "/32"
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, err
		}
		c.trusted = append(c.trusted, n)
	}
	return c, nil
}

// Of returns the client IP of r.
func (c *ClientIP) Of(r *http.Request) string {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	if !c.isTrusted(peer) {
		return canonical(peer)
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if net.ParseIP(h) == nil {
			return peer // a malformed hop: trust nothing past it
		}
		if !c.isTrusted(h) {
			return canonical(h)
		}
	}
	return canonical(peer)
}

// AddrKey is the key under which the per-address rate limit and the
// blacklist count a client address ip: an IPv4 address, or an IPv4-mapped
// IPv6 one (::ffff:a.b.c.d), as the dotted IPv4 address; any other IPv6
// address as its /64 ("2001:db8:1:2::/64"), the block one subscriber is
// commonly given, so that the addresses of one /64 share a limit and a
// blacklist entry and moving between them gains nothing. A string that is
// no IP address is its own key.
func AddrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil:
		return ip
	case a.Is4():
		return ip // ParseAddr takes only the dotted form: ip is that already
	case a.Is4In6():
		return a.Unmap().String()
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

// canonical writes an IP the one way the blacklist stores it.
func canonical(ip string) string {
	if p := net.ParseIP(ip); p != nil {
		return p.String()
	}
	return ip
}

func (c *ClientIP) isTrusted(ip string) bool {
	p := net.ParseIP(ip)
	for _, n := range c.trusted {
		if p != nil && n.Contains(p) {
			return true
		}
	}
	return false
}
