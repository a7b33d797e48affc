package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/redisconn"
)

// Options configure the process-lifetime Limiter. It outlives
// configuration reloads: Reconfigure changes the store and its bound,
// Stage builds the stages of each generation's routes.
type Options struct {
	Policy config.RateLimitPolicy
	// Redis is used when Policy.Store is "redis".
	Redis config.Redis
	// Files reads a relative redis.password_file from the configuration
	// directory (config.Config.ReadFile); nil reads it from the working
	// directory.
	Files func(string) ([]byte, error)
	// Now is the clock of every decision. Nil means time.Now for the
	// memory store and Redis's own clock (TIME, shared by all replicas,
	// so their clock skew does not move the budget) for the Redis store.
	Now func() time.Time
	// Log receives the Redis outage and recovery messages; nil discards.
	Log *slog.Logger
	// Registerer gets the metrics (see metrics.go); nil registers nothing.
	Registerer prometheus.Registerer
	// OnFallback is called once when Redis becomes unreachable (redisDown
	// true, with the error) and once when it answers again. It is called
	// on a request's goroutine or the prober's and must not block.
	OnFallback func(redisDown bool, err error)
}

// Limiter holds every client's rate-limit state for the process: the
// memory store, the Redis connection, the route index and the metrics.
type Limiter struct {
	now      func() time.Time
	redisNow bool // Options.Now was nil: the Redis script uses TIME
	log      *slog.Logger
	fallback func(bool, error)
	files    func(string) ([]byte, error)
	m        *metrics
	mem      *memoryStore

	mu     sync.Mutex // serializes Reconfigure and Close; guards routes
	routes map[string]uint32
	remote atomic.Pointer[redisStore] // nil unless Store is "redis"
	closed bool
}

// New returns a Limiter for policy o.Policy. With the Redis store it
// connects without waiting for Redis: an unreachable server starts the
// Limiter in fallback (OnFallback is called) rather than failing.
func New(o Options) (*Limiter, error) {
	l := &Limiter{now: o.Now, redisNow: o.Now == nil, log: o.Log, fallback: o.OnFallback, files: o.Files, routes: map[string]uint32{}}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if err := checkPolicy(o.Policy, o.Redis); err != nil {
		return nil, err
	}
	l.mem = newMemoryStore(o.Policy.MaxMemoryKeys)
	m, err := newMetrics(o.Registerer, func() float64 { return float64(l.mem.keys.Load()) })
	if err != nil {
		return nil, err
	}
	l.m = m
	if err := l.Reconfigure(o.Policy, o.Redis); err != nil {
		return nil, err
	}
	return l, nil
}

func checkPolicy(p config.RateLimitPolicy, r config.Redis) error {
	switch p.Store {
	case "memory":
	case "redis":
		if r.Address == "" {
			return errors.New("ratelimit: store redis needs redis.address")
		}
	default:
		return fmt.Errorf("ratelimit: store: expected memory or redis, got %q", p.Store)
	}
	if p.MaxMemoryKeys < 1 {
		return fmt.Errorf("ratelimit: max_memory_keys: expected at least 1, got %d", p.MaxMemoryKeys)
	}
	return nil
}

// Reconfigure applies a reloaded policy. Counters survive: the memory
// store keeps its clients (evicting down to a smaller bound at once),
// Redis keeps its keys, and a route keeps its counters across reloads as
// long as its ID stays the same (a changed rate or burst reinterprets the
// stored state under the new limit). The Redis connection is replaced
// only when the address, database, timeout, key prefix or password
// changed; on error the previous configuration stays in force.
func (l *Limiter) Reconfigure(p config.RateLimitPolicy, r config.Redis) error {
	if err := checkPolicy(p, r); err != nil {
		return err
	}
	password := ""
	if p.Store == "redis" {
		var err error
		if password, err = redisconn.Password(r, l.files); err != nil {
			return fmt.Errorf("ratelimit: %w", err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("ratelimit: limiter closed")
	}
	l.mem.resize(p.MaxMemoryKeys, l.now().UnixMicro())
	old := l.remote.Load()
	if p.Store == "redis" && old != nil && old.same(r, password) {
		return nil
	}
	var next *redisStore
	if p.Store == "redis" {
		next = newRedisStore(l, r, password)
	}
	l.remote.Store(next)
	l.m.fallback.Set(0)
	if next != nil && next.down.Load() {
		l.m.fallback.Set(1)
	}
	if old != nil {
		_ = old.close()
	}
	return nil
}

// Close stops probing Redis and closes its connections. Decisions after
// Close use the memory store.
func (l *Limiter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	old := l.remote.Swap(nil)
	l.m.fallback.Set(0)
	if old == nil {
		return nil
	}
	return old.close()
}

// routeIndex numbers route IDs for the memory store's compact keys. The
// numbers are never reused, so a route keeps its counters across reloads;
// the map grows only with distinct route IDs in the configuration.
func (l *Limiter) routeIndex(id string) uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.routes[id]
	if !ok {
		i = uint32(len(l.routes))
		l.routes[id] = i
	}
	return i
}

func (l *Limiter) onFallback(down bool, err error) {
	if l.fallback != nil {
		l.fallback(down, err)
	}
}

// decide makes the decision for one request of client ip on stage s:
// by Redis when the store is redis and Redis answers, otherwise by the
// memory store. Redis's answer is copied into the memory store, so a
// fallback continues from the shared budget instead of granting a fresh
// one.
func (l *Limiter) decide(s *Stage, ip netip.Addr) outcome {
	k := newMemKey(s.index, ip)
	if rs := l.remote.Load(); rs != nil && !rs.down.Load() {
		now := int64(-1)
		if !l.redisNow {
			now = l.now().UnixMicro()
		}
		allowed, tat, at, err := rs.decide(s.redisKey(rs.cfg.KeyPrefix, ip), s.g, now)
		if err == nil {
			l.mem.store(k, tat, at)
			return s.g.outcome(allowed, tat, at)
		}
		rs.fail(err)
	}
	now := l.now().UnixMicro()
	allowed, tat := l.mem.decide(k, s.g, now)
	return s.g.outcome(allowed, tat, now)
}
