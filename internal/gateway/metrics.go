package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's own metrics: requests, reloads, certificates.
// Labels are bounded: route IDs come from the configuration, never from
// the request, and requests matching no route are labelled "none".
type metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	reloads    *prometheus.CounterVec
	lastReload prometheus.Gauge
	certExpiry *prometheus.GaugeVec
	generation prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_http_requests_total",
			Help: "Requests handled, by route and status class.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bulwark_http_request_duration_seconds",
			Help:    "Time from request arrival to the end of the response, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_config_reloads_total",
			Help: "Configuration reloads, by result (success, failure).",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulwark_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last configuration that was loaded and made live.",
		}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bulwark_tls_certificate_expiry_timestamp_seconds",
			Help: "Unix time at which each served certificate expires.",
		}, []string{"certificate", "source"}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulwark_config_generation",
			Help: "Number of the configuration generation being served; increases on every successful reload.",
		}),
	}
	for _, r := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(r)
	}
	reg.MustRegister(m.requests, m.duration, m.reloads, m.lastReload, m.certExpiry, m.generation)
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "none"
	}
	m.requests.WithLabelValues(route, statusClass(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// served records a generation going live.
func (m *metrics) served(gen *generation) {
	m.generation.Set(float64(gen.n))
	m.lastReload.Set(float64(gen.loadedAt.UnixNano()) / 1e9)
	m.certExpiry.Reset()
	for _, c := range gen.certs.Certs() {
		m.certExpiry.WithLabelValues(c.Name, c.Source).Set(float64(c.NotAfter.Unix()))
	}
}
