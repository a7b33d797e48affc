package reputation

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// maxBanClients bounds the in-memory ban store: clients being counted and
// clients banned, each. At about 200 bytes a client (plus threshold
// timestamps of 24 bytes) the store stays within a few tens of MiB under
// an attack from many addresses; beyond it the least recently seen
// counters and the oldest bans are dropped.
const maxBanClients = 100_000

// banPolicy is the ban part of one configuration. Threshold 0 disables
// bans.
type banPolicy struct {
	threshold int
	window    time.Duration
	duration  time.Duration
	redis     bool
}

// banKey is what bans count and apply to: the address for IPv4, the /64
// for IPv6, since one IPv6 subscriber usually holds a whole /64 and can
// change address at will within it.
func banKey(a netip.Addr) netip.Addr {
	a = a.WithZone("").Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// memoryBans counts and bans clients in this process. Counting uses a
// sliding window: the times of a client's last threshold counted
// responses are kept, and the client is banned when threshold of them
// fall within window.
type memoryBans struct {
	mu    sync.Mutex
	max   int
	hits  *lru[netip.Addr, []time.Time]
	bans  map[netip.Addr]time.Time // until when
	clock func() time.Time
}

func newMemoryBans(max int, now func() time.Time) *memoryBans {
	return &memoryBans{max: max, hits: newLRU[netip.Addr, []time.Time](max), bans: map[netip.Addr]time.Time{}, clock: now}
}

// banned reports whether k is banned now.
func (b *memoryBans) banned(k netip.Addr) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.bans[k]
	if ok && !b.clock().Before(until) {
		delete(b.bans, k)
		return false
	}
	return ok
}

// hit counts a 4xx response for k and reports whether it banned k.
func (b *memoryBans) hit(k netip.Addr, p banPolicy) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock()
	times, _ := b.hits.get(k, now)
	kept := times[:0]
	for _, t := range times {
		if now.Sub(t) < p.window {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	if len(kept) > p.threshold {
		kept = kept[len(kept)-p.threshold:]
	}
	if len(kept) < p.threshold {
		b.hits.put(k, kept, now.Add(p.window))
		return false
	}
	b.hits.remove(k) // the ban takes over
	b.banLocked(k, now.Add(p.duration), now)
	return true
}

// ban bans k until until, as when another replica's ban is learnt.
func (b *memoryBans) ban(k netip.Addr, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.banLocked(k, until, b.clock())
}

func (b *memoryBans) banLocked(k netip.Addr, until, now time.Time) {
	if _, ok := b.bans[k]; !ok && len(b.bans) >= b.max {
		b.pruneLocked(now)
		for len(b.bans) >= b.max { // still full of live bans: drop the one ending first
			var first netip.Addr
			var at time.Time
			for a, t := range b.bans {
				if at.IsZero() || t.Before(at) {
					first, at = a, t
				}
			}
			delete(b.bans, first)
		}
	}
	if until.After(b.bans[k]) {
		b.bans[k] = until
	}
}

func (b *memoryBans) pruneLocked(now time.Time) {
	for a, until := range b.bans {
		if !now.Before(until) {
			delete(b.bans, a)
		}
	}
}

// active is the number of bans in force, for the bans_active gauge.
func (b *memoryBans) active() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(b.clock())
	return float64(len(b.bans))
}

// bans is the ban store of the stage: memory always, Redis in front of it
// when the policy says so and Redis answers.
type bans struct {
	mem   *memoryBans
	redis *redisBans // nil without redis.address
}

// banned reports whether k is banned: in this process, or in Redis when
// the policy shares bans. A Redis failure falls back to memory alone.
func (b *bans) banned(ctx context.Context, k netip.Addr, p banPolicy) bool {
	if b.mem.banned(k) {
		return true
	}
	if !p.redis || b.redis == nil {
		return false
	}
	until, ok, err := b.redis.banned(ctx, k)
	if err != nil || !ok {
		return false
	}
	b.mem.ban(k, until) // remembered locally: later requests skip Redis
	return true
}

// hit counts a 4xx response of k and reports whether it banned k.
func (b *bans) hit(ctx context.Context, k netip.Addr, p banPolicy) bool {
	if p.redis && b.redis != nil {
		banned, err := b.redis.hit(ctx, k, p)
		if err == nil {
			if banned {
				b.mem.ban(k, b.mem.clock().Add(p.duration))
			}
			return banned
		}
	}
	return b.mem.hit(k, p)
}
