package reputation

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// maxErrorTTL is how long a failed lookup (timeout, SERVFAIL, network
// error) is remembered. A failure counts as not listed, so it must not be
// cached for a whole negative_ttl: a blip of the resolver would let a
// listed client through for ten minutes. Not caching it at all would make
// every request of every client wait for the timeout while the resolver is
// down. A few seconds bounds that cost to one timeout per address per
// maxErrorTTL and retries soon after the resolver recovers.
const maxErrorTTL = 5 * time.Second

// dnsblPolicy is the DNSBL part of one configuration.
type dnsblPolicy struct {
	zones    []string // fully qualified, with the trailing dot
	server   string   // host:port
	deny     bool     // action deny; greylist otherwise
	timeout  time.Duration
	positive time.Duration
	negative time.Duration
}

func newDNSBLPolicy(d config.DNSBL) (*dnsblPolicy, error) {
	if len(d.Zones) == 0 {
		return nil, nil
	}
	p := &dnsblPolicy{server: d.Resolver, deny: d.Action != "greylist", timeout: d.Timeout.D(),
		positive: d.PositiveTTL.D(), negative: d.NegativeTTL.D()}
	for _, z := range d.Zones {
		p.zones = append(p.zones, dns.Fqdn(strings.ToLower(z)))
	}
	if p.server == "" {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(cc.Servers) == 0 {
			return nil, fmt.Errorf("reputation.dnsbl: no resolver set and none in /etc/resolv.conf: %v", err)
		}
		p.server = net.JoinHostPort(cc.Servers[0], cc.Port)
	}
	if p.timeout <= 0 {
		p.timeout = 300 * time.Millisecond
	}
	return p, nil
}

// errorTTL is how long a failed lookup is cached.
func (p *dnsblPolicy) errorTTL() time.Duration { return min(p.negative, maxErrorTTL) }

// dnsblAnswer is what a zone said about an address.
type dnsblAnswer struct {
	listed bool
	code   netip.Addr // the 127.0.0.x answer of a listing
	err    error      // a failed lookup, which counts as not listed
}

// dnsbl looks addresses up in DNS blocklists, with a bounded cache of
// answers and one query at a time per zone and address.
type dnsbl struct {
	m     *metrics
	now   func() time.Time
	cache *lru[string, dnsblAnswer]

	mu       sync.Mutex
	inflight map[string]*lookupCall
	joined   func() // test hook: a lookup joined one in flight
}

type lookupCall struct {
	done chan struct{}
	ans  dnsblAnswer
}

func newDNSBL(m *metrics, now func() time.Time, maxEntries int) *dnsbl {
	return &dnsbl{m: m, now: now, cache: newLRU[string, dnsblAnswer](maxEntries), inflight: map[string]*lookupCall{}}
}

// check looks a up in every zone, in parallel, and returns the first zone
// (in configuration order) that lists it. Addresses that cannot be on a
// public blocklist (loopback, private, link-local…) are not looked up:
// the answer would be meaningless and the query would leak internal
// addresses to the DNSBL operator.
func (d *dnsbl) check(ctx context.Context, p *dnsblPolicy, a netip.Addr) (zone string, ans dnsblAnswer) {
	a = a.WithZone("").Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return "", dnsblAnswer{}
	}
	answers := make([]dnsblAnswer, len(p.zones))
	if len(p.zones) == 1 {
		answers[0] = d.lookup(ctx, p, p.zones[0], a)
	} else {
		var wg sync.WaitGroup
		for i, z := range p.zones {
			wg.Go(func() { answers[i] = d.lookup(ctx, p, z, a) })
		}
		wg.Wait()
	}
	for i, ans := range answers {
		if ans.listed {
			return p.zones[i], ans
		}
	}
	return "", dnsblAnswer{}
}

// lookup answers from the cache, joins a query already in flight for the
// same zone and address, or queries. The query runs with its own timeout
// and is not cancelled by the request that started it, since others may
// be waiting for it; a request whose context ends stops waiting.
func (d *dnsbl) lookup(ctx context.Context, p *dnsblPolicy, zone string, a netip.Addr) dnsblAnswer {
	key := zone + " " + a.String()
	d.mu.Lock()
	if ans, ok := d.cache.get(key, d.now()); ok {
		d.mu.Unlock()
		return ans
	}
	if c, ok := d.inflight[key]; ok {
		d.mu.Unlock()
		if d.joined != nil {
			d.joined()
		}
		select {
		case <-c.done:
			return c.ans
		case <-ctx.Done():
			return dnsblAnswer{err: ctx.Err()}
		}
	}
	c := &lookupCall{done: make(chan struct{})}
	d.inflight[key] = c
	d.mu.Unlock()

	c.ans = query(p, queryName(a, zone))
	ttl, result := p.negative, "not_listed"
	switch {
	case c.ans.err != nil:
		ttl, result = p.errorTTL(), "error"
	case c.ans.listed:
		ttl, result = p.positive, "listed"
	}
	d.m.dnsblLookups.WithLabelValues(result).Inc()
	d.mu.Lock()
	delete(d.inflight, key)
	if ttl > 0 {
		d.cache.put(key, c.ans, d.now().Add(ttl))
	}
	d.m.dnsblEntries.Set(float64(d.cache.len()))
	d.mu.Unlock()
	close(c.done)
	return c.ans
}

// query asks p's resolver for the A records of name. Any 127.0.0.x answer
// is a listing; other 127/8 answers are operators' error codes (Spamhaus
// answers 127.255.255.x to refused queries), not listings.
func query(p *dnsblPolicy, name string) dnsblAnswer {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: p.timeout}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	in, _, err := c.ExchangeContext(ctx, m, p.server)
	if err != nil {
		return dnsblAnswer{err: fmt.Errorf("dnsbl %s: %w", name, err)}
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return dnsblAnswer{}
	default:
		return dnsblAnswer{err: fmt.Errorf("dnsbl %s: %s", name, dns.RcodeToString[in.Rcode])}
	}
	for _, rr := range in.Answer {
		if rec, ok := rr.(*dns.A); ok {
			if ip, ok := netip.AddrFromSlice(rec.A.To4()); ok && isListingCode(ip) {
				return dnsblAnswer{listed: true, code: ip}
			}
		}
	}
	return dnsblAnswer{}
}

func isListingCode(ip netip.Addr) bool {
	b := ip.As4()
	return b[0] == 127 && b[1] == 0 && b[2] == 0
}

// queryName is the DNSBL query for a in zone: the IPv4 octets reversed
// (1.2.3.4 → 4.3.2.1.zone.) or the 32 nibbles of an IPv6 address
// reversed (RFC 5782 §2.4).
func queryName(a netip.Addr, zone string) string {
	var b strings.Builder
	if a.Is4() {
		o := a.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.", o[3], o[2], o[1], o[0])
	} else {
		const hex = "0123456789abcdef"
		o := a.As16()
		for i := 15; i >= 0; i-- {
			b.WriteByte(hex[o[i]&0xf])
			b.WriteByte('.')
			b.WriteByte(hex[o[i]>>4])
			b.WriteByte('.')
		}
	}
	b.WriteString(zone)
	return b.String()
}
