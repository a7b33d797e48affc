package reputation

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/redisconn"
)

// redisRetryAfter is how long the ban store leaves Redis alone after a
// failure, using memory only: without it, every request would wait for
// redis.timeout while Redis is down.
const redisRetryAfter = time.Second

// hitScript counts a 4xx response and bans at the threshold, atomically:
// INCR with a PEXPIRE of the window on the first count (a fixed window
// from the first counted response), then at the threshold a SET … PX of
// the ban and the counter's deletion.
var hitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// redisBans shares bans between replicas through Redis. Keys:
// <key_prefix>ban:<client> for a ban, <key_prefix>ban:count:<client> for
// the count within the window.
type redisBans struct {
	c       *redis.Client
	prefix  string
	timeout time.Duration
	m       *metrics
	log     *slog.Logger
	now     func() time.Time

	mu        sync.Mutex
	downUntil time.Time // after a failure: memory only until then
	down      bool      // logged as down; the next success logs recovery
}

func newRedisBans(r config.Redis, files func(string) ([]byte, error), m *metrics, log *slog.Logger, now func() time.Time) (*redisBans, error) {
	if r.Address == "" {
		return nil, nil
	}
	password, err := redisconn.Password(r, files)
	if err != nil {
		return nil, err
	}
	timeout := redisconn.Timeout(r)
	c := redisconn.New(r, password)
	return &redisBans{c: c, prefix: r.KeyPrefix + "ban:", timeout: timeout, m: m, log: log, now: now}, nil
}

func (b *redisBans) banKey(k netip.Addr) string   { return b.prefix + k.String() }
func (b *redisBans) countKey(k netip.Addr) string { return b.prefix + "count:" + k.String() }

// available reports whether Redis may be asked now.
func (b *redisBans) available() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.now().Before(b.downUntil)
}

// done records the outcome of a command: a failure is counted, logged
// when Redis goes from up to down, and keeps Redis out of use for
// redisRetryAfter.
func (b *redisBans) done(err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		if b.down {
			b.down = false
			b.log.Info("reputation: redis reachable again; bans are shared")
		}
		return nil
	}
	b.m.redisErrors.Inc()
	b.downUntil = b.now().Add(redisRetryAfter)
	if !b.down {
		b.down = true
		b.log.Warn("reputation: redis failed; bans fall back to this process's memory", "error", err.Error())
	}
	return err
}

var errRedisBackoff = errors.New("redis left alone after a recent failure")

// banned reports whether k is banned in Redis, and until when.
func (b *redisBans) banned(ctx context.Context, k netip.Addr) (time.Time, bool, error) {
	if !b.available() {
		return time.Time{}, false, errRedisBackoff
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.timeout) // a client that left is no Redis failure
	defer cancel()
	ttl, err := b.c.PTTL(ctx, b.banKey(k)).Result()
	if b.done(err) != nil {
		return time.Time{}, false, err
	}
	if ttl <= 0 { // -2: no ban; -1 cannot happen, bans are always SET with PX
		return time.Time{}, false, nil
	}
	return b.now().Add(ttl), true, nil
}

// hit counts a 4xx response of k in Redis and reports whether it banned k.
func (b *redisBans) hit(ctx context.Context, k netip.Addr, p banPolicy) (bool, error) {
	if !b.available() {
		return false, errRedisBackoff
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.timeout) // a client that left is no Redis failure
	defer cancel()
	n, err := hitScript.Run(ctx, b.c, []string{b.countKey(k), b.banKey(k)},
		ms(p.window), p.threshold, ms(p.duration)).Int()
	if b.done(err) != nil {
		return false, err
	}
	return n == 1, nil
}

func ms(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }

func (b *redisBans) close() error {
	if b == nil {
		return nil
	}
	return b.c.Close()
}
