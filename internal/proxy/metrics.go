package proxy

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the proxy's Prometheus metrics. They are created once per
// process and shared by every configuration generation, so a reload does
// not reset them.
type Metrics struct {
	upstreamErrors *prometheus.CounterVec
	ejections      *prometheus.CounterVec
}

// NewMetrics registers the proxy metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_proxy_upstream_errors_total",
			Help: "Requests that failed on the backend side, by route and kind (connect, timeout, protocol).",
		}, []string{"route", "kind"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_proxy_backend_ejections_total",
			Help: "Backends taken out of rotation after refusing a connection, by route.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.upstreamErrors, m.ejections)
	return m
}
