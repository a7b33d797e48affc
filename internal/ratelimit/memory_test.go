package ratelimit

import (
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/config"
)

func addr(i int) string {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
}

// TestMemoryStoreBounded floods the store with ten times more clients
// than it may hold. The key count never passes the bound, while a client
// that keeps coming back keeps its (exhausted) state: CLOCK evicts the
// one-time addresses first.
func TestMemoryStoreBounded(t *testing.T) {
	clk := newClock()
	reg := prometheus.NewRegistry()
	l, err := New(Options{Policy: memoryPolicy(1000), Now: clk.Now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Stage("shop/web", limit(1, time.Hour, 3, 0)).Wrap(okHandler)
	const abuser = "192.0.2.66"
	for range 3 {
		send(h, abuser)
	}
	for i := range 10_000 {
		if w, _ := send(h, addr(i)); w.Code != 200 {
			t.Fatalf("new client %d: %d", i, w.Code)
		}
		if i%50 == 0 {
			if w, _ := send(h, abuser); w.Code != 429 {
				t.Fatalf("after %d new clients the exhausted client got %d: its state was evicted", i, w.Code)
			}
		}
		if n := l.mem.keys.Load(); n > 1000 {
			t.Fatalf("after %d new clients the store holds %d keys, bound 1000", i, n)
		}
	}
	if got := metricValue(t, reg, "bulwark_ratelimit_memory_keys"); got != 1000 {
		t.Errorf("bulwark_ratelimit_memory_keys %v, want 1000", got)
	}
	total := 0
	for _, sh := range l.mem.shards {
		if len(sh.slots) != len(sh.index) || len(sh.slots) > sh.limit || cap(sh.slots) > sh.limit {
			t.Errorf("shard: %d slots (cap %d), %d indexed, limit %d", len(sh.slots), cap(sh.slots), len(sh.index), sh.limit)
		}
		for i, s := range sh.slots {
			if j, ok := sh.index[s.k]; !ok || int(j) != i {
				t.Fatalf("slot %d not indexed at its position (%d, %v)", i, j, ok)
			}
		}
		total += len(sh.slots)
	}
	if total != 1000 {
		t.Errorf("shards hold %d keys, want 1000", total)
	}
}

// TestMemoryStoreExpiredFirst: a client whose budget is whole again holds
// no information, so it is evicted before a client that is still limited,
// even one used less recently.
func TestMemoryStoreExpiredFirst(t *testing.T) {
	m := newMemoryStore(2 * shardCount) // two keys per shard
	g := newGCRA(limit(1, time.Minute, 1, 0))
	keys := sameShard(m, 3)
	a, c, b := keys[0], keys[1], keys[2]
	t0 := int64(100 * second)
	m.decide(a, g, t0)
	m.decide(a, g, t0) // refused: a was used again, its bit is set
	m.decide(c, g, t0+30*second)
	now := t0 + 60*second // a's budget is whole again, c's is not
	if ok, _ := m.decide(b, g, now); !ok {
		t.Fatal("fresh key refused")
	}
	if _, ok := m.shard(a).index[a]; ok {
		t.Error("the expired key survived")
	}
	if ok, _ := m.decide(c, g, now); ok {
		t.Error("the limited key lost its state")
	}
}

// sameShard returns n keys that fall in one shard.
func sameShard(m *memoryStore, n int) []memKey {
	first := newMemKey(0, netip.MustParseAddr(addr(0)))
	keys := []memKey{first}
	for i := 1; len(keys) < n; i++ {
		if k := newMemKey(0, netip.MustParseAddr(addr(i))); m.shard(k) == m.shard(first) {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestReconfigureKeepsCountersAndShrinks: a reload keeps each client's
// state for a route ID that stays, and a smaller max_memory_keys evicts
// down to it at once.
func TestReconfigureKeepsCountersAndShrinks(t *testing.T) {
	clk := newClock()
	l, err := New(Options{Policy: memoryPolicy(5000), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	lim := limit(1, time.Hour, 2, 0)
	h := l.Stage("shop/web", lim).Wrap(okHandler)
	for i := range 10 {
		send(h, addr(i))
		send(h, addr(i))
	}
	if err := l.Reconfigure(memoryPolicy(5000), config.Redis{}); err != nil {
		t.Fatal(err)
	}
	h = l.Stage("shop/web", lim).Wrap(okHandler) // the next generation's stage
	for i := range 10 {
		if w, _ := send(h, addr(i)); w.Code != 429 {
			t.Errorf("client %d after the reload: %d, want 429 (its spent budget kept)", i, w.Code)
		}
	}

	for i := 10; i < 4000; i++ {
		send(h, addr(i))
	}
	if err := l.Reconfigure(memoryPolicy(2000), config.Redis{}); err != nil {
		t.Fatal(err)
	}
	if n := l.mem.keys.Load(); n != 2000 {
		t.Fatalf("after shrinking to 2000: %d keys", n)
	}
	for _, sh := range l.mem.shards {
		if len(sh.slots) != len(sh.index) || len(sh.slots) > sh.limit {
			t.Fatalf("shard: %d slots, %d indexed, limit %d", len(sh.slots), len(sh.index), sh.limit)
		}
		for i, s := range sh.slots {
			if j, ok := sh.index[s.k]; !ok || int(j) != i {
				t.Fatalf("slot %d not indexed at its position (%d, %v)", i, j, ok)
			}
		}
	}

	for _, bad := range []config.RateLimitPolicy{{Store: "bogus", MaxMemoryKeys: 1000}, {Store: "redis", MaxMemoryKeys: 1000}, {Store: "memory"}} {
		if err := l.Reconfigure(bad, config.Redis{}); err == nil {
			t.Errorf("policy %+v accepted", bad)
		}
	}
}
