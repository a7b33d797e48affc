package ratelimit

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
)

// shardCount splits the memory store so that decisions for different
// clients rarely wait on the same lock.
const shardCount = 64

// memKey identifies one client on one route: 20 bytes, no pointers, so the
// map holding it is never scanned by the garbage collector.
type memKey struct {
	ip    [16]byte // IPv4 as IPv4-mapped IPv6
	route uint32   // index from Limiter.routeIndex
}

func newMemKey(route uint32, ip netip.Addr) memKey {
	return memKey{ip: ip.As16(), route: route}
}

// hash picks the key's shard: the address's two halves and the route,
// mixed (the murmur3 finalizer) so that neighbouring addresses spread.
func (k memKey) hash() uint64 {
	h := binary.LittleEndian.Uint64(k.ip[:8]) ^ binary.LittleEndian.Uint64(k.ip[8:])*0x9e3779b97f4a7c15 ^ uint64(k.route)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// slot is one client's state: its TAT and the CLOCK reference bit.
type slot struct {
	k   memKey
	ref bool
	tat int64
}

// shard holds up to limit clients. Eviction is CLOCK (second chance): the
// hand skips a slot used since it last passed and clears its bit, and
// evicts the first slot not used since. A slot whose TAT has passed holds
// no information (a client without state gets the same decision), so it
// is evicted whatever its bit. New clients enter with the bit clear: a
// flood of one-time addresses evicts itself before it evicts clients that
// keep coming back.
type shard struct {
	mu    sync.Mutex
	index map[memKey]int32
	slots []slot
	hand  int
	limit int
	// inflight counts each client's requests in progress, for the
	// concurrency limit; an entry exists only while the count is above 0.
	inflight map[memKey]int32
}

// memoryStore is the process-local store: the store of Policy.Store
// "memory", the fallback while Redis is unreachable, and the home of the
// concurrency counters.
type memoryStore struct {
	shards [shardCount]*shard
	keys   atomic.Int64
}

func newMemoryStore(maxKeys int) *memoryStore {
	m := &memoryStore{}
	for i := range m.shards {
		m.shards[i] = &shard{index: map[memKey]int32{}, inflight: map[memKey]int32{}}
	}
	m.resize(maxKeys, 0)
	return m
}

func (m *memoryStore) shard(k memKey) *shard { return m.shards[k.hash()%shardCount] }

// resize sets the total bound, split evenly over the shards (each holds at
// least one key), and evicts down to it at once.
func (m *memoryStore) resize(maxKeys int, now int64) {
	base, extra := maxKeys/shardCount, maxKeys%shardCount
	for i, sh := range m.shards {
		limit := base
		if i < extra {
			limit++
		}
		sh.mu.Lock()
		sh.limit = max(limit, 1)
		for len(sh.slots) > sh.limit {
			sh.remove(sh.victim(now))
			m.keys.Add(-1)
		}
		sh.mu.Unlock()
	}
}

// decide makes one GCRA decision for k at now.
func (m *memoryStore) decide(k memKey, g gcra, now int64) (bool, int64) {
	sh := m.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := sh.index[k]
	var tat int64
	if ok {
		sh.slots[i].ref = true
		tat = sh.slots[i].tat
	}
	allowed, tat := g.decide(tat, now)
	switch {
	case ok:
		sh.slots[i].tat = tat
	case allowed:
		m.insert(sh, k, tat, now)
	}
	return allowed, tat
}

// store records a TAT decided elsewhere (by Redis), so that the fallback
// starts from the shared budget rather than a fresh one.
func (m *memoryStore) store(k memKey, tat, now int64) {
	sh := m.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if i, ok := sh.index[k]; ok {
		sh.slots[i].tat, sh.slots[i].ref = tat, true
		return
	}
	if tat > now {
		m.insert(sh, k, tat, now)
	}
}

// insert adds k to a shard, evicting one client when the shard is full.
// The caller holds sh.mu.
func (m *memoryStore) insert(sh *shard, k memKey, tat, now int64) {
	if len(sh.slots) >= sh.limit {
		i := sh.victim(now)
		delete(sh.index, sh.slots[i].k)
		sh.slots[i] = slot{k: k, tat: tat}
		sh.index[k] = int32(i)
		return
	}
	if len(sh.slots) == cap(sh.slots) {
		// Grow by doubling, never past the limit: the slice is part of
		// the documented memory ceiling.
		grown := make([]slot, len(sh.slots), min(max(2*cap(sh.slots), 16), sh.limit))
		copy(grown, sh.slots)
		sh.slots = grown
	}
	sh.slots = append(sh.slots, slot{k: k, tat: tat})
	sh.index[k] = int32(len(sh.slots) - 1)
	m.keys.Add(1)
}

// victim advances the CLOCK hand to the slot to evict and returns its
// index. Two turns at most: the first clears every bit it passes.
func (sh *shard) victim(now int64) int {
	for {
		if sh.hand >= len(sh.slots) {
			sh.hand = 0
		}
		i := sh.hand
		sh.hand++
		s := &sh.slots[i]
		if s.ref && s.tat > now {
			s.ref = false
			continue
		}
		return i
	}
}

// remove deletes slot i, moving the last slot into its place.
func (sh *shard) remove(i int) {
	delete(sh.index, sh.slots[i].k)
	last := len(sh.slots) - 1
	if i != last {
		sh.slots[i] = sh.slots[last]
		sh.index[sh.slots[i].k] = int32(i)
	}
	sh.slots = sh.slots[:last]
}

// acquire takes one of limit concurrency slots for k; false when all are
// taken.
func (m *memoryStore) acquire(k memKey, limit int32) bool {
	sh := m.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	n := sh.inflight[k]
	if n >= limit {
		return false
	}
	sh.inflight[k] = n + 1
	return true
}

// release gives back a slot taken by acquire.
func (m *memoryStore) release(k memKey) {
	sh := m.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if n := sh.inflight[k]; n > 1 {
		sh.inflight[k] = n - 1
	} else {
		delete(sh.inflight, k)
	}
}
