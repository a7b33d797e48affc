package reputation

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/request"
)

func bansAt(threshold int) config.ReputationPolicy {
	p := basePolicy()
	p.Bans.Threshold = threshold
	return p
}

func TestBanTriggersAndExpires(t *testing.T) {
	h := newHarness(t, Options{Policy: bansAt(3)})
	h.setNext(http.StatusNotFound)
	for i := range 3 {
		if res := h.do("203.0.113.5"); res.status != 404 || !res.reached {
			t.Fatalf("response %d: status %d reached %v; the ban must not come before the threshold", i+1, res.status, res.reached)
		}
	}
	res := h.do("203.0.113.5")
	if res.status != 403 || res.reached || !strings.HasPrefix(res.blockCause(), "banned after 3 blocked or 4xx responses within 1m") {
		t.Fatalf("after 3 4xx: status %d reached %v cause %q; want a ban", res.status, res.reached, res.blockCause())
	}
	if h.do("203.0.113.6").status != 404 {
		t.Error("another client was banned")
	}
	if got := metric(t, h.reg, "bulwark_reputation_bans_active"); got != 1 {
		t.Errorf("bans_active %v, want 1", got)
	}
	h.clock.Advance(10*time.Minute - time.Second)
	if h.do("203.0.113.5").status != 403 {
		t.Error("the ban ended before its duration")
	}
	// Banned requests are not counted: the ban is not extended by them.
	h.setNext(http.StatusOK)
	h.clock.Advance(time.Second)
	if res := h.do("203.0.113.5"); res.status != 200 || !res.reached {
		t.Errorf("after the duration: status %d reached %v; want the ban lifted", res.status, res.reached)
	}
	if got := metric(t, h.reg, "bulwark_reputation_bans_active"); got != 0 {
		t.Errorf("bans_active %v, want 0", got)
	}
	if got := metric(t, h.reg, "bulwark_reputation_decisions_total", "route", "shop/web", "action", "block", "source", "ban"); got != 2 {
		t.Errorf("decisions{block,ban} = %v, want 2", got)
	}
}

func TestBanWindowSlides(t *testing.T) {
	h := newHarness(t, Options{Policy: bansAt(3)})
	ip := "203.0.113.5"
	step := func(at time.Duration, status, want int) {
		t.Helper()
		h.setNext(status)
		if res := h.do(ip); res.status != want {
			t.Fatalf("at +%s: status %d, want %d", at, res.status, want)
		}
	}
	step(0, 403, 403) // a later stage's block counts
	step(0, 200, 200) // a success does not
	h.clock.Advance(40 * time.Second)
	step(40*time.Second, 429, 429) // 2 within the window
	h.clock.Advance(30 * time.Second)
	step(70*time.Second, 401, 401) // the first one has left the window: still 2
	step(70*time.Second, 500, 500) // 5xx is the gateway's or backend's doing, not the client's
	h.clock.Advance(10 * time.Second)
	step(80*time.Second, 404, 404) // 40s, 70s, 80s: three within a minute
	step(80*time.Second, 200, 403) // banned
}

func TestBanIPv6Prefix(t *testing.T) {
	h := newHarness(t, Options{Policy: bansAt(2)})
	h.setNext(http.StatusNotFound)
	h.do("2001:db8:1:2::1")
	h.do("2001:db8:1:2:ffff::9") // same /64, another address
	if res := h.do("2001:db8:1:2::77"); res.status != 403 {
		t.Errorf("the /64 is not banned: status %d", res.status)
	}
	if res := h.do("2001:db8:1:3::1"); res.status != 404 {
		t.Errorf("another /64 was banned: status %d", res.status)
	}
}

func TestBansDisabled(t *testing.T) {
	h := newHarness(t, Options{Policy: bansAt(0)})
	h.setNext(http.StatusForbidden)
	for range 50 {
		if res := h.do("203.0.113.5"); !res.reached {
			t.Fatal("threshold 0 banned a client")
		}
	}
}

func TestMemoryBansBounded(t *testing.T) {
	clock := newClock()
	b := newMemoryBans(2, clock.Now)
	p := banPolicy{threshold: 1, window: time.Minute, duration: time.Hour}
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		clock.Advance(time.Second)
		b.hit(banKey(mustAddr(ip)), p)
	}
	if got := b.active(); got != 2 {
		t.Errorf("%v bans held, want the bound of 2", got)
	}
	if b.banned(banKey(mustAddr("192.0.2.1"))) || !b.banned(banKey(mustAddr("192.0.2.3"))) {
		t.Error("the ban ending first should have made room")
	}
}

// startRedis runs a redis-server of its own on a free loopback port and
// returns its address and a function that kills it.
func startRedis(t *testing.T) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed for this test: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(kill)
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("redis-server exited before it was ready")
		}
	case <-time.After(10 * time.Second): // a deadline for a broken setup, not a wait
		t.Fatal("redis-server did not start")
	}
	return "127.0.0.1:" + strconv.Itoa(port), kill
}

func redisPolicy(threshold int) config.ReputationPolicy {
	p := bansAt(threshold)
	p.Bans.Store = "redis"
	return p
}

func TestBansSharedThroughRedis(t *testing.T) {
	addr, kill := startRedis(t)
	rc := config.Redis{Address: addr, Timeout: config.Duration(time.Second), KeyPrefix: "bulwark-test:"}
	a := newHarness(t, Options{Policy: redisPolicy(3), Redis: rc})
	b := newHarness(t, Options{Policy: redisPolicy(3), Redis: rc})
	a.setNext(http.StatusNotFound)
	b.setNext(http.StatusNotFound)

	// The count is shared: two 4xx on one replica and one on the other.
	a.do("203.0.113.5")
	b.do("203.0.113.5")
	if res := a.do("203.0.113.5"); res.status != 404 {
		t.Fatalf("third 4xx: status %d", res.status)
	}
	// A fresh replica, which saw none of it, refuses the client.
	c := newHarness(t, Options{Policy: redisPolicy(3), Redis: rc})
	c.setNext(http.StatusNotFound)
	for name, h := range map[string]*harness{"a": a, "b": b, "c": c} {
		if res := h.do("203.0.113.5"); res.status != 403 || res.reached || !strings.HasPrefix(res.blockCause(), "banned") {
			t.Errorf("replica %s: status %d reached %v cause %q; want the shared ban", name, res.status, res.reached, res.blockCause())
		}
	}
	if res := c.do("203.0.113.6"); res.status != 404 {
		t.Errorf("another client: status %d", res.status)
	}
	// The keys: a ban with the duration as its expiry, the counter gone.
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	ttl, err := rdb.PTTL(ctx, "bulwark-test:ban:203.0.113.5").Result()
	if err != nil || ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Errorf("ban key PTTL %s (%v), want about 10m", ttl, err)
	}
	if n, _ := rdb.Exists(ctx, "bulwark-test:ban:count:203.0.113.5").Result(); n != 0 {
		t.Error("the counter outlived the ban it caused")
	}
	if ttl, _ := rdb.PTTL(ctx, "bulwark-test:ban:count:203.0.113.6").Result(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("counter PTTL %s, want the window", ttl)
	}
	if got := metric(t, a.reg, "bulwark_reputation_redis_errors_total"); got != 0 {
		t.Errorf("redis errors %v", got)
	}

	// Redis dies: bans this process knows stay, new ones are made in
	// memory, and the failures are counted.
	kill()
	if res := c.do("203.0.113.5"); res.status != 403 {
		t.Errorf("a ban learnt from Redis was forgotten when Redis went away: status %d", res.status)
	}
	for range 3 {
		c.do("203.0.113.7")
	}
	if res := c.do("203.0.113.7"); res.status != 403 {
		t.Errorf("with Redis down, bans fall back to memory: status %d", res.status)
	}
	if got := metric(t, c.reg, "bulwark_reputation_redis_errors_total"); got != 1 {
		t.Errorf("redis errors %v; want 1, then Redis left alone for %s", got, redisRetryAfter)
	}
	c.clock.Advance(redisRetryAfter)
	c.do("203.0.113.8")
	if got := metric(t, c.reg, "bulwark_reputation_redis_errors_total"); got != 2 {
		t.Errorf("redis errors %v; want a retry after %s", got, redisRetryAfter)
	}
}

func TestRedisStoreNeedsRedis(t *testing.T) {
	_, err := New(Options{Policy: redisPolicy(3)})
	if err == nil || !strings.Contains(err.Error(), "redis.address") {
		t.Errorf("error %v, want one naming redis.address", err)
	}
}

// TestChallengesDoNotBan: a browser that loads pages before its challenge
// is solved gets 403 challenge pages; those are not misbehaviour.
func TestChallengesDoNotBan(t *testing.T) {
	h := newHarness(t, Options{Policy: bansAt(3)})
	h.h = h.r.Stage("shop/web").Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		request.From(r.Context()).Add(request.Verdict{Layer: request.LayerBot, Action: request.ActionChallenge, Status: 403})
		w.WriteHeader(http.StatusForbidden)
	}))
	for i := range 6 {
		if res := h.do("203.0.113.5"); res.blockCause() != "" {
			t.Fatalf("challenge %d banned the client: %s", i+1, res.blockCause())
		}
	}
}
