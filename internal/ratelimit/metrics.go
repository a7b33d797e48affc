package ratelimit

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the rate limiter's Prometheus metrics, registered once per
// process with the Limiter. Labels are bounded: route IDs from the
// configuration and a fixed set of actions; never a client address.
type metrics struct {
	decisions   *prometheus.CounterVec
	redisErrors prometheus.Counter
	fallback    prometheus.Gauge
	memoryKeys  prometheus.GaugeFunc
}

// Actions of bulwark_ratelimit_decisions_total.
const (
	actionAllow    = "allow"
	actionThrottle = "throttle"
)

func newMetrics(reg prometheus.Registerer, keys func() float64) (*metrics, error) {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_ratelimit_decisions_total",
			Help: "Rate-limit decisions by route and action (allow, throttle); throttle includes the concurrency limit.",
		}, []string{"route", "action"}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bulwark_ratelimit_redis_errors_total",
			Help: "Failed or timed-out Redis commands of the rate limiter, probes included; each failed decision fell back to the memory store.",
		}),
		fallback: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulwark_ratelimit_fallback",
			Help: "1 while ratelimit.store is redis and Redis is unreachable, so this process limits on its own memory store.",
		}),
		memoryKeys: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bulwark_ratelimit_memory_keys",
			Help: "Client keys held by the memory store (bounded by ratelimit.max_memory_keys).",
		}, keys),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.decisions, m.redisErrors, m.fallback, m.memoryKeys} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ratelimit metrics: %w", err)
		}
	}
	return m, nil
}
