// Package listener holds the connection side of the gateway: TLS policy,
// server timeouts, the HTTP→HTTPS redirect, and who the client is when
// proxies sit in front.
package listener

import (
	"net"
	"net/netip"
	"strings"
)

// Trusted is the set of proxies whose forwarding headers are believed.
type Trusted []netip.Prefix

// Contains reports whether a is a trusted proxy.
func (t Trusted) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// PeerAddr parses an http.Request.RemoteAddr ("ip:port").
func PeerAddr(remoteAddr string) netip.Addr {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// ClientIP returns the client's address. When the peer is a trusted proxy
// the X-Forwarded-For chain is walked from the right, skipping trusted
// proxies, and the first untrusted address is the client: entries left of
// it were written by the client itself and prove nothing. An untrusted
// peer's X-Forwarded-For is ignored entirely.
func (t Trusted) ClientIP(peer netip.Addr, xff []string) netip.Addr {
	if !t.Contains(peer) {
		return peer
	}
	client := peer
	hops := strings.Split(strings.Join(xff, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop ends what can be believed
		}
		client = a.Unmap()
		if !t.Contains(client) {
			break
		}
	}
	return client
}
