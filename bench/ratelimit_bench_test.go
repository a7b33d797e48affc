package bench

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/ratelimit"
	"github.com/bulwark-sec/bulwark/internal/ratelimit/redistest"
	"github.com/bulwark-sec/bulwark/internal/request"
)

// Issue #4's rate-limit benchmark: decisions per second and bytes per key
// of the memory store holding 1M clients, and the cost of one decision
// against a real local redis-server. Each decision goes through the
// route's stage (decision, RateUsage, RateLimit fields), as in the
// gateway, into a handler that does nothing.
//
//	go test ./bench -run '^$' -bench RateLimit -benchtime 3s

const benchKeys = 1_000_000

// The bounds of the default platform: a limit no benchmark client reaches.
var benchLimit = config.RouteLimit{Rate: config.Rate{N: 1000, Per: time.Second}, Burst: 2000}

// nopWriter is the cheapest ResponseWriter: one header map, reused.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

var nopHandler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// client is one benchmark goroutine's reusable request.
type client struct {
	w *nopWriter
	r *http.Request
	s *request.State
}

func newClient() *client {
	s := &request.State{ID: "bench"}
	r := httptest.NewRequest("GET", "https://bench.test/", nil)
	return &client{w: &nopWriter{h: http.Header{}}, r: r.WithContext(request.With(r.Context(), s)), s: s}
}

// do sends one request from the i-th address of the benchmark's clients.
func (c *client) do(h http.Handler, i int) {
	c.s.ClientIP = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	h.ServeHTTP(c.w, c.r)
}

// memoryFixture is a limiter with max_memory_keys 1M that has seen 1M
// clients, built once: the fill is measured and not repeated for every
// b.N. It returns the route's handler, the keys held (a little under 1M:
// the bound is split evenly over 64 shards and the addresses are not, so
// the fullest shards evicted a few) and the heap they take per key.
var memoryFixture = sync.OnceValues(func() (http.Handler, [2]float64) {
	reg := prometheus.NewRegistry()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	l, err := ratelimit.New(ratelimit.Options{Policy: config.RateLimitPolicy{Store: "memory", MaxMemoryKeys: benchKeys}, Registerer: reg})
	if err != nil {
		panic(err)
	}
	h := l.Stage("bench/web", benchLimit).Wrap(nopHandler)
	c := newClient()
	for i := range benchKeys {
		c.do(h, i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	keys := gaugeValue(reg, "bulwark_ratelimit_memory_keys")
	runtime.KeepAlive(l)
	return h, [2]float64{keys, float64(after.HeapAlloc-before.HeapAlloc) / keys}
})

func gaugeValue(reg *prometheus.Registry, name string) float64 {
	fams, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	panic("no gauge " + name)
}

// BenchmarkRateLimitMemory: decisions over 1M known clients, in
// parallel on every core, in an order that defeats the CPU cache.
func BenchmarkRateLimitMemory(b *testing.B) {
	h, m := memoryFixture()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := newClient()
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			i = (i + 104_729) % benchKeys // a prime stride: every key, scattered
			c.do(h, i)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(m[0], "keys")
	b.ReportMetric(m[1], "bytes/key")
}

// BenchmarkRateLimitRedis: the cost of a decision on the Redis store
// against a local redis-server over loopback TCP: one client at a time
// (the latency a request pays) and 16 per core at once (throughput).
func BenchmarkRateLimitRedis(b *testing.B) {
	srv := redistest.Start(b)
	l, err := ratelimit.New(ratelimit.Options{
		Policy: config.RateLimitPolicy{Store: "redis", MaxMemoryKeys: benchKeys},
		Redis:  config.Redis{Address: srv.Addr(), Timeout: config.Duration(time.Second), KeyPrefix: "bench:"},
		OnFallback: func(down bool, err error) {
			if down {
				b.Errorf("Redis fallback during the benchmark: %v", err)
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	h := l.Stage("bench/web", benchLimit).Wrap(nopHandler)
	b.Run("sequential", func(b *testing.B) {
		c := newClient()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i = (i + 1) % 10_000
			c.do(h, i)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.SetParallelism(16)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c := newClient()
			i := int(next.Add(1)) * 1000
			for pb.Next() {
				i = (i + 1) % 100_000
				c.do(h, i)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	})
}
