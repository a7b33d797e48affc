package reputation

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/fakeclock"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/request"
)

// fakeClock is the injected clock: time moves only when a test says so.
type fakeClock = fakeclock.Clock

func newClock() *fakeClock { return fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }

// basePolicy is a policy with the configuration's defaults and nothing
// listed.
func basePolicy() config.ReputationPolicy {
	return config.ReputationPolicy{
		DNSBL: config.DNSBL{Action: "deny", Timeout: config.Duration(300 * time.Millisecond),
			PositiveTTL: config.Duration(time.Hour), NegativeTTL: config.Duration(10 * time.Minute), MaxEntries: 100_000},
		Bans: config.Bans{Window: config.Duration(time.Minute), Duration: config.Duration(10 * time.Minute), Store: "memory"},
	}
}

// files serves list files from a map, as config.Config.ReadFile would.
func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		s, ok := m[name]
		if !ok {
			return nil, &notFound{name}
		}
		return []byte(s), nil
	}
}

type notFound struct{ name string }

func (e *notFound) Error() string { return "open " + e.name + ": file does not exist" }

// harness is a Reputation with one route's stage in front of a backend
// that answers nextStatus and notes that it was reached.
type harness struct {
	t          *testing.T
	r          *Reputation
	reg        *prometheus.Registry
	clock      *fakeClock
	h          http.Handler
	mu         sync.Mutex
	reached    int
	nextStatus int
}

func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	h := &harness{t: t, reg: prometheus.NewRegistry(), clock: newClock(), nextStatus: http.StatusOK}
	o.Registerer, o.Now = h.reg, h.clock.Now
	if o.newTicker == nil {
		o.newTicker = func(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }
	}
	r, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	h.r = r
	h.h = r.Stage("shop/web").Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		h.reached++
		status := h.nextStatus
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	return h
}

func (h *harness) setNext(status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextStatus = status
}

// result is what one request through the stage did.
type result struct {
	status  int
	reached bool
	state   *request.State
}

// do sends a request from client ip through the stage.
func (h *harness) do(ip string) result {
	h.t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	st := &request.State{ID: "req-1", ClientIP: netip.MustParseAddr(ip)}
	r = r.WithContext(request.With(r.Context(), st))
	w := httptest.NewRecorder()
	h.mu.Lock()
	before := h.reached
	h.mu.Unlock()
	h.h.ServeHTTP(w, r)
	h.mu.Lock()
	defer h.mu.Unlock()
	return result{status: w.Code, reached: h.reached > before, state: st}
}

// blockCause returns the cause of the reputation block recorded on the
// request, or "".
func (res result) blockCause() string {
	for _, v := range res.state.Verdicts {
		if v.Layer == request.LayerReputation && v.Action == request.ActionBlock {
			return v.Cause
		}
	}
	return ""
}

// metric returns the value of the counter or gauge name with exactly the
// given labels, 0 if it is absent.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
