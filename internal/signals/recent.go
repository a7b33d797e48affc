// Package signals remembers what the gateway learned about a client from
// one request for use in the next: the WAF runs after the bot challenge in
// the pipeline, so "this client recently sent something the WAF scored" is
// only known from earlier requests. The memory is bounded and forgets.
package signals

import (
	"net/netip"
	"sync"
	"time"
)

// Recent is a bounded memory of the last WAF anomaly score seen per client
// address, kept for a time-to-live. Safe for concurrent use.
type Recent struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	now   func() time.Time
	byIP  map[netip.Addr]entry
	order []netip.Addr // insertion order, for eviction
}

type entry struct {
	score int
	at    time.Time
}

// NewRecent returns a memory of at most max clients, each remembered for
// ttl. now is the clock (time.Now in production).
func NewRecent(max int, ttl time.Duration, now func() time.Time) *Recent {
	return &Recent{ttl: ttl, max: max, now: now, byIP: map[netip.Addr]entry{}}
}

// NoteWAFScore records a WAF anomaly score for a client. Zero scores are
// not recorded: only what the WAF found matters.
func (r *Recent) NoteWAFScore(ip netip.Addr, score int) {
	if score <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byIP[ip]; !ok {
		r.order = append(r.order, ip)
	}
	r.byIP[ip] = entry{score: score, at: r.now()}
	for len(r.byIP) > r.max && len(r.order) > 0 {
		delete(r.byIP, r.order[0])
		r.order = r.order[1:]
	}
	if len(r.order) > 2*r.max { // compact keys already deleted or overwritten
		kept := r.order[:0]
		for _, a := range r.order {
			if _, ok := r.byIP[a]; ok {
				kept = append(kept, a)
			}
		}
		r.order = kept
	}
}

// WAFScore returns the client's last WAF anomaly score within the TTL, or 0.
func (r *Recent) WAFScore(ip netip.Addr) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byIP[ip]
	if !ok || r.now().Sub(e.at) > r.ttl {
		return 0
	}
	return e.score
}
