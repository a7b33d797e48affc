package ratelimit

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/ratelimit/redistest"
)

// eventTimeout bounds the wait for an OnFallback call that must come; the
// test goes on as soon as it does.
const eventTimeout = 20 * time.Second

// fallbackLog records OnFallback calls.
type fallbackLog struct {
	mu    sync.Mutex
	calls []bool
	errs  []error
	ch    chan bool
}

func newFallbackLog() *fallbackLog { return &fallbackLog{ch: make(chan bool, 16)} }

func (f *fallbackLog) on(down bool, err error) {
	f.mu.Lock()
	f.calls, f.errs = append(f.calls, down), append(f.errs, err)
	f.mu.Unlock()
	f.ch <- down
}

func (f *fallbackLog) wait(t *testing.T, name string, want bool) {
	t.Helper()
	select {
	case got := <-f.ch:
		if got != want {
			t.Fatalf("%s: OnFallback(%v), want OnFallback(%v)", name, got, want)
		}
	case <-time.After(eventTimeout):
		t.Fatalf("%s: no OnFallback(%v) within %s", name, want, eventTimeout)
	}
}

func (f *fallbackLog) snapshot() ([]bool, []error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.calls...), append([]error(nil), f.errs...)
}

func redisConfig(addr string) config.Redis {
	// A generous timeout: these tests prove sharing and atomicity, and a
	// loaded test machine must not turn a slow answer into a fallback.
	return config.Redis{Address: addr, Timeout: config.Duration(2 * time.Second), KeyPrefix: "bulwark:"}
}

// gateway is one gateway process's limiter in the Redis tests.
type gateway struct {
	l   *Limiter
	reg *prometheus.Registry
	fb  *fallbackLog
}

func newGateway(t *testing.T, r config.Redis, now func() time.Time) *gateway {
	t.Helper()
	g := &gateway{reg: prometheus.NewRegistry(), fb: newFallbackLog()}
	l, err := New(Options{
		Policy: config.RateLimitPolicy{Store: "redis", MaxMemoryKeys: 10_000},
		Redis:  r, Now: now, Registerer: g.reg, OnFallback: g.fb.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	g.l = l
	return g
}

// codes sends n requests from ip and returns their statuses.
func codes(h http.Handler, ip string, n int) []int {
	var c []int
	for range n {
		w, _ := send(h, ip)
		c = append(c, w.Code)
	}
	return c
}

// wantBackOnRedis waits for g's recovery and checks that the next
// decision (route shop/web, a new client) is Redis's: its key exists.
func wantBackOnRedis(t *testing.T, g *gateway, addr string, h http.Handler, event string) {
	t.Helper()
	g.fb.wait(t, event, false)
	const ip = "192.0.2.250"
	if w, _ := send(h, ip); w.Code != 200 {
		t.Errorf("%s: new client got %d", event, w.Code)
	}
	key := "bulwark:rl:shop/web:" + ip
	if n, err := directClient(t, addr).Exists(context.Background(), key).Result(); err != nil || n != 1 {
		t.Errorf("%s: key %s not in Redis (exists=%d, %v): the decision was not Redis's", event, key, n, err)
	}
}

func directClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRedisSharedBudget: two gateway processes on one Redis enforce one
// budget: burst N in total across both, the refill seen by both.
func TestRedisSharedBudget(t *testing.T) {
	srv := redistest.Start(t)
	clk := newClock()
	a, b := newGateway(t, redisConfig(srv.Addr()), clk.Now), newGateway(t, redisConfig(srv.Addr()), clk.Now)
	lim := limit(10, time.Minute, 10, 0) // one request per 6 s
	ha, hb := a.l.Stage("shop/web", lim).Wrap(okHandler), b.l.Stage("shop/web", lim).Wrap(okHandler)
	const ip = "203.0.113.7"
	for i := range 10 {
		h := []http.Handler{ha, hb}[i%2]
		w, _ := send(h, ip)
		want := `"default";r=` + strconv.Itoa(9-i) + ";t=" + strconv.Itoa(6*(i+1))
		if i == 9 {
			want = `"default";r=0;t=6`
		}
		if w.Code != 200 || w.Header().Get("RateLimit") != want {
			t.Fatalf("request %d (gateway %c): %d RateLimit %q, want 200 %q", i+1, "ab"[i%2], w.Code, w.Header().Get("RateLimit"), want)
		}
	}
	for name, h := range map[string]http.Handler{"a": ha, "b": hb} {
		if w, _ := send(h, ip); w.Code != 429 || w.Header().Get("Retry-After") != "6" {
			t.Errorf("gateway %s after the shared burst: %d Retry-After %q, want 429 and 6", name, w.Code, w.Header().Get("Retry-After"))
		}
	}
	clk.Advance(6 * time.Second)
	if w, _ := send(ha, ip); w.Code != 200 {
		t.Errorf("gateway a one interval later: %d, want 200", w.Code)
	}
	if w, _ := send(hb, ip); w.Code != 429 {
		t.Errorf("gateway b right after a used the refill: %d, want 429", w.Code)
	}

	c := directClient(t, srv.Addr())
	key := "bulwark:rl:shop/web:" + ip
	ttl, err := c.PTTL(context.Background(), key).Result()
	if err != nil || ttl <= 0 || ttl > 60*time.Second+time.Millisecond {
		t.Errorf("key %s: PTTL %v (%v), want within (0, 60s]", key, ttl, err)
	}
	for _, g := range []*gateway{a, b} {
		if e := metricValue(t, g.reg, "bulwark_ratelimit_redis_errors_total"); e != 0 {
			t.Errorf("redis errors %v", e)
		}
		if calls, _ := g.fb.snapshot(); len(calls) != 0 {
			t.Errorf("OnFallback calls %v without an outage", calls)
		}
	}
}

// TestRedisScriptAtomic: many goroutines in two gateways race for one
// client's budget; the script admits exactly burst requests.
func TestRedisScriptAtomic(t *testing.T) {
	srv := redistest.Start(t)
	clk := newClock()
	lim := limit(1, time.Hour, 1000, 0)
	var handlers []http.Handler
	var gws []*gateway
	for range 2 {
		g := newGateway(t, redisConfig(srv.Addr()), clk.Now)
		gws = append(gws, g)
		handlers = append(handlers, g.l.Stage("shop/web", lim).Wrap(okHandler))
	}
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				w, _ := send(handlers[i%2], "198.51.100.77")
				switch w.Code {
				case 200:
					allowed.Add(1)
				case 429:
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 1000 || refused.Load() != 64*40-1000 {
		t.Errorf("%d admitted and %d refused of %d, want exactly 1000 admitted", allowed.Load(), refused.Load(), 64*40)
	}
	for _, g := range gws {
		if e := metricValue(t, g.reg, "bulwark_ratelimit_redis_errors_total"); e != 0 {
			t.Errorf("redis errors %v: some decisions were not Redis's", e)
		}
	}
}

// TestRedisServerClock: without an injected clock the script uses Redis's
// TIME, the one clock every replica shares.
func TestRedisServerClock(t *testing.T) {
	srv := redistest.Start(t)
	g := newGateway(t, redisConfig(srv.Addr()), nil)
	h := g.l.Stage("shop/web", limit(1, time.Hour, 3, 0)).Wrap(okHandler)
	for i := range 3 {
		if w, _ := send(h, "192.0.2.9"); w.Code != 200 {
			t.Fatalf("request %d: %d", i+1, w.Code)
		}
	}
	w, _ := send(h, "192.0.2.9")
	// The next admission is one hour after the first request, less the
	// time this test has taken so far; far more than 3000 s either way.
	if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); w.Code != 429 || ra <= 3000 || ra > 3600 {
		t.Errorf("4th request: %d Retry-After %q, want 429 and about 3600", w.Code, w.Header().Get("Retry-After"))
	}
	if e := metricValue(t, g.reg, "bulwark_ratelimit_redis_errors_total"); e != 0 {
		t.Errorf("redis errors %v", e)
	}
}

// TestRedisOutage kills redis-server under two gateways. Decisions fall
// back to each process's memory store with no unlimited window: a client
// that had spent the shared budget stays refused, a new client gets one
// burst per process and no more. OnFallback is called once per gateway,
// the metrics say so, and when Redis comes back on the same port the
// gateways share one budget again.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	clk := newClock()
	a, b := newGateway(t, redisConfig(srv.Addr()), clk.Now), newGateway(t, redisConfig(srv.Addr()), clk.Now)
	lim := limit(1, time.Hour, 5, 0)
	ha, hb := a.l.Stage("shop/web", lim).Wrap(okHandler), b.l.Stage("shop/web", lim).Wrap(okHandler)
	both := []http.Handler{ha, hb}
	const spent, fresh, later = "203.0.113.1", "203.0.113.2", "203.0.113.3"
	for i := range 5 {
		if w, _ := send(both[i%2], spent); w.Code != 200 {
			t.Fatalf("request %d: %d", i+1, w.Code)
		}
	}
	for _, h := range both {
		if w, _ := send(h, spent); w.Code != 429 {
			t.Fatalf("after the shared burst: %d", w.Code)
		}
	}

	srv.Kill()

	for i, g := range []*gateway{a, b} {
		w, _ := send(both[i], spent)
		if w.Code != 429 || w.Header().Get("Retry-After") == "" || w.Header().Get("RateLimit") == "" {
			t.Errorf("gateway %c, spent client, Redis down: %d Retry-After %q RateLimit %q; want 429 with headers (no fresh budget)",
				"ab"[i], w.Code, w.Header().Get("Retry-After"), w.Header().Get("RateLimit"))
		}
		g.fb.wait(t, "gateway "+string("ab"[i])+" after the kill", true)
		if _, errs := g.fb.snapshot(); errs[0] == nil {
			t.Error("OnFallback(true) without the error")
		}
		if e := metricValue(t, g.reg, "bulwark_ratelimit_redis_errors_total"); e < 1 {
			t.Errorf("redis errors %v, want at least 1", e)
		}
		if f := metricValue(t, g.reg, "bulwark_ratelimit_fallback"); f != 1 {
			t.Errorf("fallback gauge %v, want 1", f)
		}
	}
	// A new client: exactly one burst per process, then refused.
	for i, h := range both {
		admitted := 0
		for range 20 {
			if w, _ := send(h, fresh); w.Code == 200 {
				admitted++
			}
		}
		if admitted != 5 {
			t.Errorf("gateway %c on fallback admitted %d of 20 from a new client, want 5", "ab"[i], admitted)
		}
	}

	srv.Restart()
	a.fb.wait(t, "gateway a after the restart", false)
	b.fb.wait(t, "gateway b after the restart", false)
	admitted := 0
	for i := range 12 {
		if w, _ := send(both[i%2], later); w.Code == 200 {
			admitted++
		}
	}
	if admitted != 5 {
		t.Errorf("after Redis came back: %d of 12 admitted across both gateways, want 5 (one shared burst)", admitted)
	}
	for i, g := range []*gateway{a, b} {
		if calls, _ := g.fb.snapshot(); len(calls) != 2 || !calls[0] || calls[1] {
			t.Errorf("gateway %c OnFallback calls %v, want [true false]", "ab"[i], calls)
		}
		if f := metricValue(t, g.reg, "bulwark_ratelimit_fallback"); f != 0 {
			t.Errorf("fallback gauge %v after recovery, want 0", f)
		}
	}
}

// TestRedisUnreachableAtStart: a gateway that starts while Redis is down
// limits on its memory store at once and moves to Redis when it appears.
func TestRedisUnreachableAtStart(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	clk := newClock()
	g := newGateway(t, redisConfig(srv.Addr()), clk.Now)
	g.fb.wait(t, "start without Redis", true)
	h := g.l.Stage("shop/web", limit(1, time.Hour, 2, 0)).Wrap(okHandler)
	if c := codes(h, "192.0.2.1", 3); c[0] != 200 || c[1] != 200 || c[2] != 429 {
		t.Errorf("on fallback from the start: %v, want [200 200 429]", c)
	}
	srv.Restart()
	wantBackOnRedis(t, g, srv.Addr(), h, "Redis started")
}

// TestReconfigureRedisToMemory: leaving Redis for the memory store keeps
// the budgets this process saw (every Redis answer is copied to memory),
// and closes the Redis connection.
func TestReconfigureRedisToMemory(t *testing.T) {
	srv := redistest.Start(t)
	clk := newClock()
	g := newGateway(t, redisConfig(srv.Addr()), clk.Now)
	lim := limit(1, time.Hour, 2, 0)
	h := g.l.Stage("shop/web", lim).Wrap(okHandler)
	send(h, "192.0.2.4")
	send(h, "192.0.2.4")
	rs := g.l.remote.Load()
	if err := g.l.Reconfigure(memoryPolicy(10_000), config.Redis{}); err != nil {
		t.Fatal(err)
	}
	if !rs.isClosed() || g.l.remote.Load() != nil {
		t.Error("the Redis store is still in use")
	}
	if w, _ := send(g.l.Stage("shop/web", lim).Wrap(okHandler), "192.0.2.4"); w.Code != 429 {
		t.Errorf("spent client after the switch to memory: %d, want 429", w.Code)
	}
	if calls, _ := g.fb.snapshot(); len(calls) != 0 {
		t.Errorf("a reload is not an outage: OnFallback calls %v", calls)
	}
	// An unreadable password file is an error and keeps the old store.
	bad := redisConfig(srv.Addr())
	bad.PasswordFile = filepath.Join(t.TempDir(), "missing")
	if err := g.l.Reconfigure(config.RateLimitPolicy{Store: "redis", MaxMemoryKeys: 10_000}, bad); err == nil {
		t.Error("missing password file accepted")
	}
}

// TestRedisTimeout: a Redis that stops answering (SIGSTOP: connections
// open, no replies) counts as unreachable after redis.timeout; the
// decision falls back instead of waiting, and decisions return to Redis
// once it answers again.
func TestRedisTimeout(t *testing.T) {
	srv := redistest.Start(t)
	clk := newClock()
	r := redisConfig(srv.Addr())
	r.Timeout = config.Duration(50 * time.Millisecond) // the default
	g := newGateway(t, r, clk.Now)
	h := g.l.Stage("shop/web", limit(1, time.Hour, 2, 0)).Wrap(okHandler)
	send(h, "192.0.2.3")

	srv.Pause()
	c := codes(h, "192.0.2.3", 3)
	g.fb.wait(t, "Redis paused", true)
	if c[0] != 200 || c[1] != 429 || c[2] != 429 {
		t.Errorf("while Redis hangs: %v, want [200 429 429] (the fallback continues the client's budget)", c)
	}
	if e := metricValue(t, g.reg, "bulwark_ratelimit_redis_errors_total"); e < 1 {
		t.Errorf("redis errors %v, want at least 1", e)
	}
	srv.Resume()
	wantBackOnRedis(t, g, srv.Addr(), h, "Redis resumed")
}
