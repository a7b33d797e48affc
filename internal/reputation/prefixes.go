package reputation

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// u128 is an IPv6 address (or an IPv4 address in its IPv4-mapped form) as
// a number, for ordering.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	return u128{a.hi + 1, 0}, a.hi != ^uint64(0)
}

func toU128(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// span is the inclusive range of addresses a prefix (or several adjacent
// ones) covers.
type span struct{ first, last u128 }

// prefixSet answers "is this address in any of these CIDRs" in
// O(log n): the prefixes become address ranges, merged where they overlap
// or touch, sorted, and searched by binary search. IPv4 and IPv6 have
// separate tables so that ::/0 means every IPv6 address and not every
// IPv4 address as well; IPv4-mapped IPv6 prefixes (::ffff:0:0/96 and
// longer) and addresses count as IPv4.
type prefixSet struct {
	v4, v6  []span
	entries int // prefixes as listed, before merging
}

func newPrefixSet(ps []netip.Prefix) *prefixSet {
	s := &prefixSet{entries: len(ps)}
	for _, p := range ps {
		a := p.Addr().WithZone("")
		bits := p.Bits()
		if a.Is4() {
			a, bits = netip.AddrFrom16(a.As16()), bits+96
		}
		sp := prefixSpan(a, bits)
		if a.Is4In6() && bits >= 96 {
			s.v4 = append(s.v4, sp)
		} else {
			s.v6 = append(s.v6, sp)
		}
	}
	s.v4, s.v6 = mergeSpans(s.v4), mergeSpans(s.v6)
	return s
}

// prefixSpan is the range of the 128-bit prefix a/bits.
func prefixSpan(a netip.Addr, bits int) span {
	first := toU128(netip.PrefixFrom(a, bits).Masked().Addr())
	var mask u128
	switch host := 128 - bits; {
	case host >= 128:
		mask = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		mask = u128{1<<(host-64) - 1, ^uint64(0)}
	default:
		mask = u128{0, 1<<host - 1}
	}
	return span{first, u128{first.hi | mask.hi, first.lo | mask.lo}}
}

func mergeSpans(ss []span) []span {
	slices.SortFunc(ss, func(a, b span) int {
		switch {
		case a.first.less(b.first):
			return -1
		case b.first.less(a.first):
			return 1
		}
		return 0
	})
	out := ss[:0]
	for _, s := range ss {
		if n := len(out); n > 0 {
			after, ok := out[n-1].last.next()
			if !ok || !after.less(s.first) { // overlaps or touches the previous one
				if out[n-1].last.less(s.last) {
					out[n-1].last = s.last
				}
				continue
			}
		}
		out = append(out, s)
	}
	return slices.Clip(out)
}

// contains reports whether a is in the set.
func (s *prefixSet) contains(a netip.Addr) bool {
	if s == nil || !a.IsValid() {
		return false
	}
	a = a.WithZone("")
	table := s.v6
	if a.Is4() || a.Is4In6() {
		table, a = s.v4, netip.AddrFrom16(a.As16())
	}
	k := toU128(a)
	i, _ := slices.BinarySearchFunc(table, k, func(sp span, k u128) int {
		if sp.last.less(k) {
			return -1
		}
		return 1
	})
	return i < len(table) && !k.less(table[i].first)
}

// parseList reads a list of CIDRs: one per line, bare addresses meaning a
// single host, comments from # or ; to the end of the line (Spamhaus DROP
// uses ;). Any other line is an error naming name and the line. strict
// refuses prefixes with host bits set, as the configuration does; feeds,
// written by third parties, have them masked instead.
func parseList(name string, data []byte, strict bool) (*prefixSet, error) {
	var ps []netip.Prefix
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexAny(text, "#;"); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		p, err := parsePrefix(text, strict)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		ps = append(ps, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return newPrefixSet(ps), nil
}

// parsePrefix reads "10.0.0.0/8", "2001:db8::/32" or a bare address.
func parsePrefix(s string, strict bool) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("expected an IP address or CIDR such as 10.0.0.0/8, got %q", s)
	}
	if p.Masked() != p {
		if strict {
			return netip.Prefix{}, fmt.Errorf("%s has host bits set; did you mean %s?", s, p.Masked())
		}
		p = p.Masked()
	}
	return p, nil
}
