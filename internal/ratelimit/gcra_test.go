package ratelimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/fakeclock"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/request"
)

// clock is the injected clock: time moves only when a test says so.
type clock = fakeclock.Clock

func newClock() *clock { return fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

func memoryPolicy(maxKeys int) config.RateLimitPolicy {
	return config.RateLimitPolicy{Store: "memory", MaxMemoryKeys: maxKeys}
}

func newMemoryLimiter(t *testing.T, c *clock, reg prometheus.Registerer) *Limiter {
	t.Helper()
	l, err := New(Options{Policy: memoryPolicy(10_000), Now: c.Now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func limit(n int64, per time.Duration, burst, concurrent int) config.RouteLimit {
	return config.RouteLimit{Rate: config.Rate{N: n, Per: per}, Burst: burst, Concurrent: concurrent}
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// send makes one request from ip through h, as the record stage would
// (a State in the context), and returns the response and the State.
func send(h http.Handler, ip string, header ...string) (*httptest.ResponseRecorder, *request.State) {
	r, s := newRequest(ip)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return serve(h, r), s
}

func newRequest(ip string) (*http.Request, *request.State) {
	r := httptest.NewRequest("GET", "https://shop.test/", nil)
	s := &request.State{ID: "req-1", ClientIP: netip.MustParseAddr(ip)}
	return r.WithContext(request.With(r.Context(), s)), s
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestGCRAExact checks the algorithm at the edges with an injected clock:
// a fresh client gets exactly burst requests at once, the next one is
// refused with Retry-After the emission interval rounded up, one interval
// less a microsecond later it is still refused, and after exactly one
// interval exactly one more request passes.
func TestGCRAExact(t *testing.T) {
	cases := []struct {
		name      string
		lim       config.RouteLimit
		interval  time.Duration
		retry     string
		policyVal string
	}{
		{"10/s burst 1", limit(10, time.Second, 1, 0), 100 * time.Millisecond, "1", `"default";q=1;w=1`},
		{"10/s burst 20", limit(10, time.Second, 20, 0), 100 * time.Millisecond, "1", `"default";q=20;w=2`},
		{"50/s burst 100 (defaults)", limit(50, time.Second, 100, 0), 20 * time.Millisecond, "1", `"default";q=100;w=2`},
		{"2/s burst 4", limit(2, time.Second, 4, 0), 500 * time.Millisecond, "1", `"default";q=4;w=2`},
		{"6/m burst 5", limit(6, time.Minute, 5, 0), 10 * time.Second, "10", `"default";q=5;w=50`},
		{"1/m burst 3", limit(1, time.Minute, 3, 0), time.Minute, "60", `"default";q=3;w=180`},
		{"3/h burst 2", limit(3, time.Hour, 2, 0), 20 * time.Minute, "1200", `"default";q=2;w=2400`},
		{"30/s burst 100: window rounds up", limit(30, time.Second, 100, 0), 33334 * time.Microsecond, "1", `"default";q=100;w=4`},
		{"1000/s burst 2000 (bounds)", limit(1000, time.Second, 2000, 0), time.Millisecond, "1", `"default";q=2000;w=2`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock()
			l := newMemoryLimiter(t, clk, nil)
			h := l.Stage("shop/web", c.lim).Wrap(okHandler)
			const ip = "203.0.113.7"
			for i := 1; i <= c.lim.Burst; i++ {
				w, s := send(h, ip)
				if w.Code != 200 {
					t.Fatalf("request %d of the burst: status %d", i, w.Code)
				}
				wantUsage := float64(i) / float64(c.lim.Burst)
				if d := s.RateUsage - wantUsage; d > 1e-9 || d < -1e-9 {
					t.Errorf("request %d: RateUsage %v, want %v", i, s.RateUsage, wantUsage)
				}
				if got, want := w.Header().Get("RateLimit-Policy"), c.policyVal; got != want {
					t.Errorf("RateLimit-Policy %q, want %q", got, want)
				}
			}
			w, s := send(h, ip)
			if w.Code != 429 || w.Header().Get("Retry-After") != c.retry {
				t.Fatalf("request burst+1: status %d Retry-After %q, want 429 and %q", w.Code, w.Header().Get("Retry-After"), c.retry)
			}
			if s.RateUsage != 1 {
				t.Errorf("refused request: RateUsage %v, want 1", s.RateUsage)
			}
			clk.Advance(c.interval - time.Microsecond)
			if w, _ := send(h, ip); w.Code != 429 {
				t.Fatalf("one interval less 1µs later: status %d, want 429", w.Code)
			}
			clk.Advance(time.Microsecond)
			if w, _ := send(h, ip); w.Code != 200 {
				t.Fatalf("one interval later: status %d, want 200", w.Code)
			}
			if w, _ := send(h, ip); w.Code != 429 {
				t.Fatalf("second request one interval later: status %d, want 429", w.Code)
			}
			// Another client and another route have budgets of their own.
			if w, _ := send(h, "203.0.113.8"); w.Code != 200 {
				t.Errorf("other client: status %d", w.Code)
			}
			if w, _ := send(l.Stage("shop/api", c.lim).Wrap(okHandler), ip); w.Code != 200 {
				t.Errorf("other route: status %d", w.Code)
			}
		})
	}
}

// TestGCRASustainedRate runs a client at exactly the configured rate for
// a simulated minute after its burst: every request passes; at a rate a
// little above it, the excess is refused, exactly.
func TestGCRASustainedRate(t *testing.T) {
	clk := newClock()
	l := newMemoryLimiter(t, clk, nil)
	h := l.Stage("shop/web", limit(10, time.Second, 5, 0)).Wrap(okHandler)
	for range 5 {
		send(h, "198.51.100.1")
	}
	for i := range 600 {
		clk.Advance(100 * time.Millisecond)
		if w, _ := send(h, "198.51.100.1"); w.Code != 200 {
			t.Fatalf("request %d at the sustained rate: %d", i, w.Code)
		}
	}
	// 20 requests per second for 10 s: 100 admitted (10/s), 100 refused.
	allowed := 0
	for range 200 {
		clk.Advance(50 * time.Millisecond)
		if w, _ := send(h, "198.51.100.1"); w.Code == 200 {
			allowed++
		}
	}
	if allowed != 100 {
		t.Errorf("at twice the rate for 10 s: %d admitted, want 100", allowed)
	}
}

// TestOutcome checks the RateLimit field's values through a burst and
// after a refusal: r counts down, t is the time until the burst is whole
// again and, with nothing left, the time until the next admission (never
// later than Retry-After).
func TestOutcome(t *testing.T) {
	g := newGCRA(limit(1, 10*time.Second, 3, 0)) // T = 10 s
	now := int64(1_000 * second)
	tat := int64(0)
	want := []string{`"default";r=2;t=10`, `"default";r=1;t=20`, `"default";r=0;t=10`}
	for i, w := range want {
		var ok bool
		ok, tat = g.decide(tat, now)
		o := g.outcome(ok, tat, now)
		if got := limitField(o, false); !ok || got != w {
			t.Errorf("request %d: admitted %v, RateLimit %q, want %q", i+1, ok, got, w)
		}
	}
	ok, tat := g.decide(tat, now+4*second)
	o := g.outcome(ok, tat, now+4*second)
	if ok || o.retryAfter != 6 || limitField(o, true) != `"default";r=0;t=6, "concurrency";r=0` {
		t.Errorf("refused 4 s later: admitted %v, Retry-After %d, RateLimit %q", ok, o.retryAfter, limitField(o, true))
	}
	if p := policyField(g, 8); p != `"default";q=3;w=30, "concurrency";q=8;qu="concurrent-requests"` {
		t.Errorf("RateLimit-Policy %q", p)
	}
}

func ExampleLimiter_Stage() {
	clk := newClock()
	l, _ := New(Options{Policy: memoryPolicy(1000), Now: clk.Now})
	h := l.Stage("demo/web", limit(10, time.Second, 2, 0)).Wrap(okHandler)
	for range 3 {
		w, _ := send(h, "192.0.2.1")
		fmt.Printf("%d RateLimit: %s Retry-After: %q\n", w.Code, w.Header().Get("RateLimit"), w.Header().Get("Retry-After"))
	}
	// Output:
	// 200 RateLimit: "default";r=1;t=1 Retry-After: ""
	// 200 RateLimit: "default";r=0;t=1 Retry-After: ""
	// 429 RateLimit: "default";r=0;t=1 Retry-After: "1"
}
