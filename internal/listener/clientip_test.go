package listener

import (
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := Trusted{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer, no header", "203.0.113.7", nil, "203.0.113.7"},
		{"untrusted peer, spoofed header ignored", "203.0.113.7", []string{"1.2.3.4"}, "203.0.113.7"},
		{"trusted peer, client in header", "10.0.0.2", []string{"198.51.100.9"}, "198.51.100.9"},
		{"trusted chain skipped from the right", "10.0.0.2", []string{"198.51.100.9, 10.1.1.1"}, "198.51.100.9"},
		{"client-written left entries ignored", "10.0.0.2", []string{"1.2.3.4, 198.51.100.9"}, "198.51.100.9"},
		{"several header lines", "10.0.0.2", []string{"1.2.3.4", "198.51.100.9"}, "198.51.100.9"},
		{"trusted peer, no header", "10.0.0.2", nil, "10.0.0.2"},
		{"malformed hop stops the walk", "10.0.0.2", []string{"198.51.100.9, junk"}, "10.0.0.2"},
		{"all trusted", "10.0.0.2", []string{"10.9.9.9"}, "10.9.9.9"},
		{"ipv6", "2001:db8::1", []string{"2001:db9::5"}, "2001:db9::5"},
		{"mapped ipv4 peer", "::ffff:10.0.0.2", []string{"198.51.100.9"}, "198.51.100.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := trusted.ClientIP(netip.MustParseAddr(c.peer).Unmap(), c.xff)
			if got.String() != c.want {
				t.Errorf("ClientIP(%s, %q) = %s, want %s", c.peer, c.xff, got, c.want)
			}
		})
	}
}
