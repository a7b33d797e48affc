package gateway

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// reloadStatus is what /readyz reports about configuration: the generation
// being served and the outcome of the last reload attempt.
type reloadStatus struct {
	mu         sync.Mutex
	generation int64
	loadedAt   time.Time
	routes     int
	last       *reloadAttempt
}

type reloadAttempt struct {
	Result string    `json:"result"`
	Time   time.Time `json:"time"`
	Error  string    `json:"error,omitempty"`
}

func (s *reloadStatus) succeeded(gen *generation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.generation, s.loadedAt, s.routes = gen.n, gen.loadedAt, len(gen.cfg.Routes)
	s.last = &reloadAttempt{Result: "success", Time: gen.loadedAt}
}

func (s *reloadStatus) failed(at time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = &reloadAttempt{Result: "failure", Time: at, Error: err.Error()}
}

type readiness struct {
	Status     string         `json:"status"`
	Generation int64          `json:"generation"`
	LoadedAt   time.Time      `json:"loaded_at"`
	Routes     int            `json:"routes"`
	LastReload *reloadAttempt `json:"last_reload,omitempty"`
}

func (s *reloadStatus) snapshot() readiness {
	s.mu.Lock()
	defer s.mu.Unlock()
	return readiness{Generation: s.generation, LoadedAt: s.loadedAt, Routes: s.routes, LastReload: s.last}
}

// adminHandler serves /metrics, /healthz (the process answers) and /readyz
// (it should receive traffic). A failed reload does not make the gateway
// unready, since it keeps serving the last good configuration, but /readyz
// says so in its detail; draining does make it unready.
func (g *Gateway) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rd := g.status.snapshot()
		code := http.StatusOK
		rd.Status = "ready"
		if rd.LastReload != nil && rd.LastReload.Result == "failure" {
			rd.Status = "ready, last reload failed: serving the previous configuration"
		}
		if g.draining.Load() {
			rd.Status, code = "draining", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rd)
	})
	return mux
}
