package proxy

import (
	"net/url"
	"sync/atomic"
	"time"
)

// Pool is a route's backends with round-robin selection and passive health:
// a backend that refuses a connection is ejected for a cooldown, and comes
// back on its own when the cooldown ends. No active probing: the traffic is
// the probe.
type Pool struct {
	backends []*backend
	next     atomic.Uint64
	cooldown time.Duration
	now      func() time.Time
}

type backend struct {
	url          *url.URL
	ejectedUntil atomic.Int64 // unix nanoseconds; 0 = healthy
}

// NewPool returns a pool over urls. now is the clock (time.Now in
// production, a fake in tests).
func NewPool(urls []*url.URL, cooldown time.Duration, now func() time.Time) *Pool {
	p := &Pool{cooldown: cooldown, now: now}
	for _, u := range urls {
		p.backends = append(p.backends, &backend{url: u})
	}
	return p
}

// order returns the backends in the order to try them for one request:
// the healthy ones round-robin from the next position, then the ejected
// ones. Trying ejected backends last, rather than never, means that when
// every backend is ejected the gateway still tries instead of failing
// requests until a cooldown ends.
func (p *Pool) order() []*backend {
	n := len(p.backends)
	start := int(p.next.Add(1)-1) % n
	now := p.now().UnixNano()
	out := make([]*backend, 0, n)
	var ejected []*backend
	for i := range n {
		b := p.backends[(start+i)%n]
		if b.ejectedUntil.Load() > now {
			ejected = append(ejected, b)
			continue
		}
		out = append(out, b)
	}
	return append(out, ejected...)
}

// eject takes b out of rotation for the cooldown. It reports whether b was
// healthy before, so an ejection is counted once.
func (p *Pool) eject(b *backend) bool {
	until := p.now().Add(p.cooldown).UnixNano()
	prev := b.ejectedUntil.Swap(until)
	return prev <= p.now().UnixNano()
}

// restore puts b back into rotation after it answered.
func (p *Pool) restore(b *backend) {
	if b.ejectedUntil.Load() != 0 {
		b.ejectedUntil.Store(0)
	}
}

// Healthy returns the number of backends not ejected, for tests and status.
func (p *Pool) Healthy() int {
	now := p.now().UnixNano()
	n := 0
	for _, b := range p.backends {
		if b.ejectedUntil.Load() <= now {
			n++
		}
	}
	return n
}
