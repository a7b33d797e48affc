package audit

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// Ports and addresses, cut where a rule's condition may change.

var protocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}

// cuts are, per protocol, the ports where a new elementary range starts.
type cuts map[corev1.Protocol]map[int32]bool

// add cuts at lo and after hi; no protocol means every one.
func (c cuts) add(proto corev1.Protocol, lo, hi int32) {
	list := []corev1.Protocol{proto}
	if proto == "" {
		list = protocols
	}
	for _, p := range list {
		if c[p] == nil {
			c[p] = map[int32]bool{}
		}
		c[p][max(lo, 1)] = true
		if hi < 65535 {
			c[p][hi+1] = true
		}
	}
}

func (c cuts) merge(o cuts) cuts {
	out := cuts{}
	for _, src := range []cuts{c, o} {
		for p, set := range src {
			for v := range set {
				out.add(p, v, v-1) // a cut only at v
			}
		}
	}
	return out
}

// portRange is lo..hi of one protocol.
type portRange struct {
	proto  corev1.Protocol
	lo, hi int32
}

func (r portRange) String() string {
	if r.lo == r.hi {
		return fmt.Sprintf("%s/%d", r.proto, r.lo)
	}
	if r.lo == 1 && r.hi == 65535 {
		return fmt.Sprintf("%s (every port)", r.proto)
	}
	return fmt.Sprintf("%s/%d-%d", r.proto, r.lo, r.hi)
}

func (r portRange) port() netpol.Port { return netpol.Port{Protocol: r.proto, Port: r.lo} }

// ranges are the elementary ranges of every protocol, in order.
func (c cuts) ranges() []portRange {
	var out []portRange
	for _, p := range protocols {
		starts := []int32{1}
		for v := range c[p] {
			if v > 1 && v <= 65535 {
				starts = append(starts, v)
			}
		}
		slices.Sort(starts)
		for i, lo := range starts {
			hi := int32(65535)
			if i+1 < len(starts) {
				hi = starts[i+1] - 1
			}
			out = append(out, portRange{p, lo, hi})
		}
	}
	return out
}

// selectRanges returns the ranges whose flag is set, adjacent ones merged.
func selectRanges(rs []portRange, ok []bool) []portRange {
	var out []portRange
	for i, r := range rs {
		if !ok[i] {
			continue
		}
		if last := len(out) - 1; last >= 0 && out[last].proto == r.proto && out[last].hi+1 == r.lo {
			out[last].hi = r.hi
			continue
		}
		out = append(out, r)
	}
	return out
}

// intersectRanges returns the ports in both a and b (each sorted by
// protocol order, then port).
func intersectRanges(a, b []portRange) []portRange {
	var out []portRange
	for _, x := range a {
		for _, y := range b {
			if x.proto == y.proto && max(x.lo, y.lo) <= min(x.hi, y.hi) {
				out = append(out, portRange{x.proto, max(x.lo, y.lo), min(x.hi, y.hi)})
			}
		}
	}
	return out
}

// subtractPorts removes single ports from rs.
func subtractPorts(rs []portRange, ports []netpol.Port) []portRange {
	for _, p := range ports {
		var next []portRange
		for _, r := range rs {
			if r.proto != p.Protocol || p.Port < r.lo || p.Port > r.hi {
				next = append(next, r)
				continue
			}
			if r.lo < p.Port {
				next = append(next, portRange{r.proto, r.lo, p.Port - 1})
			}
			if p.Port < r.hi {
				next = append(next, portRange{r.proto, p.Port + 1, r.hi})
			}
		}
		rs = next
	}
	return rs
}

func joinRanges[T fmt.Stringer](rs []T, limit int) string { return joinLimit(rs, limit, ", ") }

// joinLimit renders the first limit items and counts the rest.
func joinLimit[T fmt.Stringer](rs []T, limit int, sep string) string {
	var parts []string
	for i, r := range rs {
		if i == limit {
			parts = append(parts, fmt.Sprintf("and %d more", len(rs)-limit))
			break
		}
		parts = append(parts, r.String())
	}
	return strings.Join(parts, sep)
}

// addrRange is lo..hi of one address family.
type addrRange struct{ lo, hi netip.Addr }

func (r addrRange) String() string {
	for bits := 0; bits <= r.lo.BitLen(); bits++ {
		if p := netip.PrefixFrom(r.lo, bits); p.Masked().Addr() == r.lo && lastAddr(p) == r.hi {
			return p.String()
		}
	}
	return r.lo.String() + "-" + r.hi.String()
}

func (r addrRange) within(p netip.Prefix) bool { return p.Contains(r.lo) && p.Contains(r.hi) }

// addrRanges cuts both families at every boundary of nets.
func addrRanges(nets []netip.Prefix) []addrRange {
	var out []addrRange
	for _, zero := range []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()} {
		starts := []netip.Addr{zero}
		for _, p := range nets {
			if p.Addr().Is4() != zero.Is4() {
				continue
			}
			starts = append(starts, p.Masked().Addr())
			if next := lastAddr(p).Next(); next.IsValid() {
				starts = append(starts, next)
			}
		}
		slices.SortFunc(starts, netip.Addr.Compare)
		starts = slices.Compact(starts)
		for i, lo := range starts {
			hi := lastAddr(netip.PrefixFrom(zero, 0))
			if i+1 < len(starts) {
				hi = starts[i+1].Prev()
			}
			out = append(out, addrRange{lo, hi})
		}
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := range b {
		keep := max(0, min(8, p.Bits()-8*i))
		b[i] |= byte(0xff >> keep)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// parseNet reads a CIDR or a bare address.
func parseNet(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
