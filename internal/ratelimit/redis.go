package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/redisconn"
)

// gcraScript is gcra.decide in Lua, run atomically by Redis: one script,
// one round trip per decision. KEYS[1] is the client's key; ARGV is now in
// µs (negative: take Redis's own clock, which every replica shares), the
// interval and the tolerance in µs. It returns {admitted (0 or 1), TAT,
// now}. The TAT is stored with %.0f because Redis turns a Lua number into
// a string with %.14g, which would round 16-digit microseconds. The key
// expires when the TAT passes: an expired key and a missing one mean the
// same thing, a full budget.
var gcraScript = redis.NewScript(`
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or 0) or 0
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > tolerance then
  return {0, tat, now}
end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
return {1, nxt, now}
`)

// Probing Redis while it is unreachable: the first probe after probeMin,
// then doubling up to probeMax. Real time, not the injected clock: the
// clock the limiter decides with may be frozen in a test.
var (
	probeMin = 100 * time.Millisecond
	probeMax = 10 * time.Second
)

// flapWindow: Redis failing again within this long of recovering starts
// probing where the last outage left off instead of at probeMin, so a
// flapping server does not produce an event every 100ms.
const flapWindow = time.Minute

// redisStore is the shared store. While Redis answers, every decision is
// one script run; when a command fails the store is marked down, the
// decision and all that follow use the memory store, and one goroutine
// probes Redis until it answers again.
type redisStore struct {
	cfg      config.Redis
	password string
	client   *redis.Client
	timeout  time.Duration
	l        *Limiter

	down   atomic.Bool
	closed chan struct{}
	once   sync.Once

	mu        sync.Mutex // guards the backoff state below
	backoff   time.Duration
	recovered time.Time
}

// newRedisStore connects lazily: it never blocks on an unreachable
// server. It pings once; a failure starts the store in fallback.
func newRedisStore(l *Limiter, r config.Redis, password string) *redisStore {
	rs := &redisStore{cfg: r, password: password, timeout: redisconn.Timeout(r), l: l, closed: make(chan struct{}), backoff: probeMin}
	rs.client = redisconn.New(r, password)
	if err := rs.ping(); err != nil {
		rs.fail(err)
	}
	return rs
}

// same reports whether the store already serves configuration r.
func (rs *redisStore) same(r config.Redis, password string) bool {
	return rs.cfg == r && rs.password == password
}

// decide runs the script for one key. now < 0 lets Redis use its clock.
func (rs *redisStore) decide(key string, g gcra, now int64) (allowed bool, tat, at int64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), rs.timeout)
	defer cancel()
	res, err := gcraScript.Run(ctx, rs.client, []string{key}, now, g.interval, g.tolerance).Int64Slice()
	if err == nil && len(res) != 3 {
		err = fmt.Errorf("ratelimit script returned %d values, want 3", len(res))
	}
	if err != nil {
		return false, 0, 0, err
	}
	return res[0] == 1, res[1], res[2], nil
}

// fail records a failed command and, on the first failure, switches to
// the fallback and starts probing.
func (rs *redisStore) fail(err error) {
	if rs.isClosed() {
		return // replaced by a reload or closed: not an outage
	}
	rs.l.m.redisErrors.Inc()
	if !rs.down.CompareAndSwap(false, true) {
		return
	}
	rs.mu.Lock()
	if !rs.recovered.IsZero() && time.Since(rs.recovered) > flapWindow {
		rs.backoff = probeMin
	}
	wait := rs.backoff
	rs.mu.Unlock()
	rs.l.m.fallback.Set(1)
	rs.l.log.Warn("redis unreachable: rate limits fall back to this process's memory store", "redis", rs.cfg.Address, "error", err.Error())
	rs.l.onFallback(true, err)
	go rs.probe(wait)
}

// probe pings Redis with a doubling backoff until it answers, then
// switches decisions back to it.
func (rs *redisStore) probe(wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-rs.closed:
			return
		case <-t.C:
		}
		if rs.ping() == nil {
			rs.resume(wait)
			return
		}
		if rs.isClosed() {
			return
		}
		rs.l.m.redisErrors.Inc()
		wait = min(2*wait, probeMax)
		t.Reset(wait)
	}
}

func (rs *redisStore) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), rs.timeout)
	defer cancel()
	return rs.client.Ping(ctx).Err()
}

// resume switches decisions back to Redis after a successful probe. The
// next outage, if it comes within flapWindow, probes from where this one
// ended.
func (rs *redisStore) resume(wait time.Duration) {
	rs.mu.Lock()
	rs.backoff = min(2*wait, probeMax)
	rs.recovered = time.Now()
	rs.mu.Unlock()
	if rs.isClosed() {
		return
	}
	rs.down.Store(false)
	rs.l.m.fallback.Set(0)
	rs.l.log.Info("redis reachable again: rate limits are shared again", "redis", rs.cfg.Address)
	rs.l.onFallback(false, nil)
}

func (rs *redisStore) isClosed() bool {
	select {
	case <-rs.closed:
		return true
	default:
		return false
	}
}

// close stops probing and closes the connections; commands in flight fail
// without counting as an outage.
func (rs *redisStore) close() error {
	var err error
	rs.once.Do(func() {
		close(rs.closed)
		err = rs.client.Close()
		if errors.Is(err, redis.ErrClosed) {
			err = nil
		}
	})
	return err
}
