package reputation

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// dnsServer is a DNSBL on loopback: it answers 127.0.0.2 for listed names
// and NXDOMAIN otherwise, and counts the queries it gets by name.
type dnsServer struct {
	addr string

	mu      sync.Mutex
	listed  map[string]string // query name → A answer
	queries map[string]int
	gate    chan struct{} // when set, every answer waits for it to close
}

func newDNSServer(t *testing.T, listed map[string]string) *dnsServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dnsServer{addr: pc.LocalAddr().String(), listed: listed, queries: map[string]int{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve), NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return d
}

func (d *dnsServer) serve(w dns.ResponseWriter, q *dns.Msg) {
	name := strings.ToLower(q.Question[0].Name)
	d.mu.Lock()
	d.queries[name]++
	answer, ok := d.listed[name]
	gate := d.gate
	d.mu.Unlock()
	if gate != nil {
		<-gate
	}
	m := new(dns.Msg)
	m.SetReply(q)
	if !ok {
		m.Rcode = dns.RcodeNameError
	} else {
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A: net.ParseIP(answer)})
	}
	_ = w.WriteMsg(m)
}

func (d *dnsServer) count(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[name]
}

func zonePolicy(resolver, action string) config.ReputationPolicy {
	p := basePolicy()
	p.DNSBL.Zones = []string{"bl.test"}
	p.DNSBL.Resolver = resolver
	p.DNSBL.Action = action
	return p
}

func TestQueryName(t *testing.T) {
	cases := []struct{ ip, want string }{
		{"192.0.2.99", "99.2.0.192.bl.test."},
		{"::ffff:192.0.2.99", "99.2.0.192.bl.test."},
		{"2001:db8:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test."},
	}
	for _, c := range cases {
		if got := queryName(netip.MustParseAddr(c.ip).Unmap(), "bl.test."); got != c.want {
			t.Errorf("queryName(%s) = %s, want %s", c.ip, got, c.want)
		}
	}
}

func TestDNSBLBlocksAndCaches(t *testing.T) {
	listed4, listed6 := "9.113.0.203.bl.test.", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test."
	unlisted := "10.113.0.203.bl.test."
	d := newDNSServer(t, map[string]string{
		listed4:                 "127.0.0.2",
		listed6:                 "127.0.0.4",
		"11.113.0.203.bl.test.": "127.255.255.254", // a Spamhaus-style error code, not a listing
	})
	h := newHarness(t, Options{Policy: zonePolicy(d.addr, "deny")})

	res := h.do("203.0.113.9")
	if res.status != 403 || res.reached || res.blockCause() != "dnsbl bl.test lists the address (127.0.0.2)" {
		t.Fatalf("listed: status %d reached %v cause %q", res.status, res.reached, res.blockCause())
	}
	if res := h.do("2001:db8::1"); res.status != 403 {
		t.Fatalf("listed IPv6: status %d", res.status)
	}
	if res := h.do("203.0.113.10"); res.status != 200 || !res.reached {
		t.Fatalf("unlisted: status %d reached %v", res.status, res.reached)
	}
	if res := h.do("203.0.113.11"); res.status != 200 {
		t.Fatalf("an 127.255.255.x error code is not a listing: status %d", res.status)
	}

	// Served from the cache: no new queries.
	h.clock.Advance(9 * time.Minute)
	if h.do("203.0.113.9").status != 403 || h.do("203.0.113.10").status != 200 {
		t.Fatal("cached answers changed")
	}
	if d.count(listed4) != 1 || d.count(unlisted) != 1 || d.count(listed6) != 1 {
		t.Fatalf("queries %d %d %d; want one per address", d.count(listed4), d.count(unlisted), d.count(listed6))
	}
	if got := metric(t, h.reg, "bulwark_reputation_dnsbl_cache_entries"); got != 4 {
		t.Errorf("dnsbl_cache_entries %v, want 4", got)
	}

	// The negative entry expires after negative_ttl (10m), the positive
	// one stays for positive_ttl (1h).
	h.clock.Advance(time.Minute)
	if h.do("203.0.113.10").status != 200 || d.count(unlisted) != 2 {
		t.Errorf("after negative_ttl: %d queries for the unlisted address, want 2", d.count(unlisted))
	}
	if h.do("203.0.113.9").status != 403 || d.count(listed4) != 1 {
		t.Errorf("within positive_ttl: %d queries for the listed address, want 1", d.count(listed4))
	}
	h.clock.Advance(50 * time.Minute)
	if h.do("203.0.113.9").status != 403 || d.count(listed4) != 2 {
		t.Errorf("after positive_ttl: %d queries for the listed address, want 2", d.count(listed4))
	}
	if got := metric(t, h.reg, "bulwark_reputation_decisions_total", "route", "shop/web", "action", "block", "source", "dnsbl"); got != 5 {
		t.Errorf("decisions{block,dnsbl} = %v, want 5", got)
	}

	// Addresses no public blocklist can hold are not looked up at all.
	for _, ip := range []string{"10.1.2.3", "127.0.0.1", "192.168.1.1", "fe80::1", "fd00::1"} {
		if res := h.do(ip); res.status != 200 {
			t.Errorf("%s: status %d", ip, res.status)
		}
	}
	if got := metric(t, h.reg, "bulwark_reputation_dnsbl_lookups_total", "result", "not_listed"); got != 3 {
		t.Errorf("lookups{not_listed} = %v, want 3 (no query for private addresses)", got)
	}
}

func TestDNSBLGreylist(t *testing.T) {
	d := newDNSServer(t, map[string]string{"9.113.0.203.bl.test.": "127.0.0.2"})
	h := newHarness(t, Options{Policy: zonePolicy(d.addr, "greylist")})
	res := h.do("203.0.113.9")
	if res.status != 200 || !res.reached || !res.state.Greylisted {
		t.Fatalf("status %d reached %v greylisted %v; want a greylisted pass", res.status, res.reached, res.state.Greylisted)
	}
	if h.do("203.0.113.10").state.Greylisted {
		t.Error("an unlisted address was greylisted")
	}
}

// TestDNSBLTimeout asks a server that never answers: the request passes
// within the timeout, and the failure is cached only briefly.
func TestDNSBLTimeout(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	got := make(chan struct{}, 8)
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			got <- struct{}{}
		}
	}()
	p := zonePolicy(pc.LocalAddr().String(), "deny")
	p.DNSBL.Timeout = config.Duration(150 * time.Millisecond)
	h := newHarness(t, Options{Policy: p})

	start := time.Now()
	res := h.do("203.0.113.9")
	elapsed := time.Since(start)
	if res.status != 200 || !res.reached {
		t.Fatalf("status %d reached %v; a timeout counts as not listed", res.status, res.reached)
	}
	if elapsed > time.Second {
		t.Errorf("the request took %s with a timeout of 150ms", elapsed)
	}
	select {
	case <-got:
	default:
		t.Fatal("the silent server got no query")
	}
	if got := metric(t, h.reg, "bulwark_reputation_dnsbl_lookups_total", "result", "error"); got != 1 {
		t.Fatalf("lookups{error} = %v, want 1", got)
	}
	// Within maxErrorTTL the failure is remembered: no second wait.
	h.clock.Advance(maxErrorTTL - time.Second)
	if h.do("203.0.113.9").status != 200 || metric(t, h.reg, "bulwark_reputation_dnsbl_lookups_total", "result", "error") != 1 {
		t.Error("a fresh failure was not cached")
	}
	// After it, the resolver is asked again (not after negative_ttl).
	h.clock.Advance(time.Second)
	if h.do("203.0.113.9").status != 200 || metric(t, h.reg, "bulwark_reputation_dnsbl_lookups_total", "result", "error") != 2 {
		t.Error("a failure was cached beyond maxErrorTTL")
	}
}

func TestDNSBLCoalesces(t *testing.T) {
	name := "9.113.0.203.bl.test."
	d := newDNSServer(t, map[string]string{name: "127.0.0.2"})
	gate := make(chan struct{})
	d.mu.Lock()
	d.gate = gate
	d.mu.Unlock()
	p := zonePolicy(d.addr, "deny")
	p.DNSBL.Timeout = config.Duration(10 * time.Second) // the gate, not the timeout, releases the answer
	h := newHarness(t, Options{Policy: p})
	joined := make(chan struct{}, 8)
	h.r.dnsbl.joined = func() { joined <- struct{}{} }

	const n = 5
	statuses := make(chan int, n)
	for range n {
		go func() { statuses <- h.do("203.0.113.9").status }()
	}
	for i := range n - 1 { // all but the one that asks join it
		select {
		case <-joined:
		case <-time.After(10 * time.Second): // a deadline for a broken test, not a wait
			close(gate)
			t.Fatalf("only %d of %d concurrent lookups joined the one in flight", i, n-1)
		}
	}
	close(gate)
	for range n {
		if s := <-statuses; s != 403 {
			t.Errorf("status %d, want 403", s)
		}
	}
	if got := d.count(name); got != 1 {
		t.Errorf("%d queries for %d concurrent requests, want 1", got, n)
	}
}

func TestDNSBLCacheBounded(t *testing.T) {
	d := newDNSServer(t, nil)
	p := zonePolicy(d.addr, "deny")
	p.DNSBL.MaxEntries = 2
	h := newHarness(t, Options{Policy: p})
	for _, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		h.do(ip)
	}
	if got := metric(t, h.reg, "bulwark_reputation_dnsbl_cache_entries"); got != 2 {
		t.Errorf("dnsbl_cache_entries %v, want 2", got)
	}
	h.do("203.0.113.3") // most recent: cached
	h.do("203.0.113.1") // the least recently used: evicted, asked again
	if d.count("3.113.0.203.bl.test.") != 1 || d.count("1.113.0.203.bl.test.") != 2 {
		t.Errorf("queries %d and %d, want 1 and 2", d.count("3.113.0.203.bl.test."), d.count("1.113.0.203.bl.test."))
	}
	// Shrinking max_entries on reload evicts at once.
	p.DNSBL.MaxEntries = 1
	if err := h.r.Reconfigure(p, nil); err != nil {
		t.Fatal(err)
	}
	if got := metric(t, h.reg, "bulwark_reputation_dnsbl_cache_entries"); got != 1 {
		t.Errorf("after shrinking: dnsbl_cache_entries %v, want 1", got)
	}
}
