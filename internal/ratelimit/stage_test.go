package ratelimit

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/request"
)

// metricValue reads one sample from reg: the counter or gauge named name
// whose labels include all of labels (name, value pairs). Missing is 0.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

// TestHeadersAllowedAndRefused checks the RateLimit fields on admitted
// responses and the whole 429: status, Retry-After, RateLimit fields,
// the one renderer's JSON body, the verdict on the State, the metrics.
func TestHeadersAllowedAndRefused(t *testing.T) {
	clk := newClock()
	reg := prometheus.NewRegistry()
	l := newMemoryLimiter(t, clk, reg)
	h := l.Stage("shop/api", limit(1, time.Minute, 2, 4)).Wrap(okHandler)
	const policy = `"default";q=2;w=120, "concurrency";q=4;qu="concurrent-requests"`

	for i, wantLimit := range []string{`"default";r=1;t=60`, `"default";r=0;t=60`} {
		w, s := send(h, "2001:db8::1")
		if w.Code != 200 || w.Header().Get("RateLimit-Policy") != policy || w.Header().Get("RateLimit") != wantLimit {
			t.Errorf("request %d: %d RateLimit-Policy %q RateLimit %q, want 200 %q %q", i+1, w.Code,
				w.Header().Get("RateLimit-Policy"), w.Header().Get("RateLimit"), policy, wantLimit)
		}
		if w.Header().Get("Retry-After") != "" || len(s.Verdicts) != 0 {
			t.Errorf("admitted request has Retry-After %q, verdicts %+v", w.Header().Get("Retry-After"), s.Verdicts)
		}
	}

	clk.Advance(15 * time.Second)
	w, s := send(h, "2001:db8::1", "Accept", "application/json")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", w.Code)
	}
	for k, want := range map[string]string{
		"Retry-After":      "45",
		"RateLimit-Policy": policy,
		"RateLimit":        `"default";r=0;t=45`,
		"Content-Type":     "application/json",
		"Cache-Control":    "no-store",
		"X-Request-ID":     "req-1",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	var body struct {
		Status    int    `json:"status"`
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Status != 429 || body.RequestID != "req-1" || body.Error == "" {
		t.Errorf("JSON body %q: %v", w.Body.String(), err)
	}
	if strings.Contains(w.Body.String(), "burst") {
		t.Errorf("the cause leaked into the body: %s", w.Body.String())
	}
	if len(s.Verdicts) != 1 {
		t.Fatalf("verdicts %+v, want one", s.Verdicts)
	}
	if v := s.Verdicts[0]; v.Layer != request.LayerRateLimit || v.Action != request.ActionThrottle || v.Status != 429 || v.Cause == "" || !v.Security() {
		t.Errorf("verdict %+v", v)
	}

	// A browser gets the HTML page with the same headers.
	w, _ = send(h, "2001:db8::1", "Accept", "text/html")
	if w.Code != 429 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || w.Header().Get("RateLimit") == "" {
		t.Errorf("HTML 429: %d %q RateLimit %q", w.Code, w.Header().Get("Content-Type"), w.Header().Get("RateLimit"))
	}

	if a, th := metricValue(t, reg, "bulwark_ratelimit_decisions_total", "route", "shop/api", "action", "allow"),
		metricValue(t, reg, "bulwark_ratelimit_decisions_total", "route", "shop/api", "action", "throttle"); a != 2 || th != 2 {
		t.Errorf("decisions: allow %v throttle %v, want 2 and 2", a, th)
	}
	if k := metricValue(t, reg, "bulwark_ratelimit_memory_keys"); k != 1 {
		t.Errorf("memory keys %v, want 1", k)
	}
}

// TestAllowlistedSkips: an allowlisted client passes however many requests
// it sends, gets no RateLimit fields, and uses nobody's budget.
func TestAllowlistedSkips(t *testing.T) {
	clk := newClock()
	reg := prometheus.NewRegistry()
	l := newMemoryLimiter(t, clk, reg)
	h := l.Stage("shop/web", limit(1, time.Hour, 1, 1)).Wrap(okHandler)
	for i := range 50 {
		r, s := newRequest("192.0.2.50")
		s.Allowlisted = true
		w := serve(h, r)
		if w.Code != 200 || w.Header().Get("RateLimit") != "" || s.RateUsage != 0 {
			t.Fatalf("allowlisted request %d: %d RateLimit %q usage %v", i, w.Code, w.Header().Get("RateLimit"), s.RateUsage)
		}
	}
	if w, _ := send(h, "192.0.2.50"); w.Code != 200 {
		t.Errorf("the same address not allowlisted: %d, want 200 (its budget untouched)", w.Code)
	}
	if w, _ := send(h, "192.0.2.50"); w.Code != 429 {
		t.Errorf("second request not allowlisted: %d, want 429", w.Code)
	}
	if n := metricValue(t, reg, "bulwark_ratelimit_decisions_total", "action", "allow"); n != 1 {
		t.Errorf("allow decisions %v, want 1 (allowlisted requests are not decisions)", n)
	}
}

// TestConcurrencyLimit holds requests in the handler and checks that the
// limit+1th request of the same client is refused while another client
// passes, and that a slot is free again once a request returns.
func TestConcurrencyLimit(t *testing.T) {
	clk := newClock()
	l := newMemoryLimiter(t, clk, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	h := l.Stage("shop/web", limit(1000, time.Second, 1000, 2)).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(200)
	}))
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	hold := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, _ := send(h, "198.51.100.9", "X-Hold", "1")
			codes <- w.Code
		}()
		<-entered
	}
	hold()
	hold()
	w, s := send(h, "198.51.100.9")
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" || !strings.HasSuffix(w.Header().Get("RateLimit"), `, "concurrency";r=0`) {
		t.Fatalf("third request in flight: %d Retry-After %q RateLimit %q", w.Code, w.Header().Get("Retry-After"), w.Header().Get("RateLimit"))
	}
	if len(s.Verdicts) != 1 || !strings.Contains(s.Verdicts[0].Cause, "concurrency") {
		t.Errorf("verdicts %+v", s.Verdicts)
	}
	if w, _ := send(h, "198.51.100.10"); w.Code != 200 {
		t.Errorf("another client: %d, want 200", w.Code)
	}
	release <- struct{}{}
	if c := <-codes; c != 200 {
		t.Errorf("held request: %d", c)
	}
	// The released request has returned (its code is sent after
	// ServeHTTP), so its slot is free: one more may be held, not two.
	hold()
	if w, _ := send(h, "198.51.100.9"); w.Code != 429 {
		t.Errorf("third in flight again: %d, want 429", w.Code)
	}
	close(release)
	wg.Wait()
	if w, _ := send(h, "198.51.100.9"); w.Code != 200 {
		t.Errorf("after all returned: %d, want 200", w.Code)
	}
	if n := inflight(l); n != 0 {
		t.Errorf("%d in-flight counters left after every request returned", n)
	}
}

func inflight(l *Limiter) int {
	n := 0
	for _, sh := range l.mem.shards {
		sh.mu.Lock()
		n += len(sh.inflight)
		sh.mu.Unlock()
	}
	return n
}

// TestMappedAddressIsOneClient: ::ffff:192.0.2.1 and 192.0.2.1 are one
// client with one budget.
func TestMappedAddressIsOneClient(t *testing.T) {
	l := newMemoryLimiter(t, newClock(), nil)
	h := l.Stage("shop/web", limit(1, time.Hour, 1, 0)).Wrap(okHandler)
	if w, _ := send(h, "192.0.2.1"); w.Code != 200 {
		t.Fatalf("first request: %d", w.Code)
	}
	if w, _ := send(h, "::ffff:192.0.2.1"); w.Code != 429 {
		t.Errorf("the same address IPv4-mapped: %d, want 429", w.Code)
	}
}

func TestClientKeyIPv6Prefix(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                "192.0.2.7",
		"::ffff:192.0.2.7":         "192.0.2.7",
		"2001:db8:1:2:aaaa::1":     "2001:db8:1:2::",
		"2001:db8:1:2:ffff:ffff::": "2001:db8:1:2::",
		"fe80::1%eth0":             "fe80::",
	} {
		if got := clientKey(netip.MustParseAddr(in)); got.String() != want {
			t.Errorf("clientKey(%s) = %s, want %s", in, got, want)
		}
	}
}
