package waf

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the WAF's Prometheus metrics, registered once per process.
// Labels are bounded: route IDs from the configuration, actions and rule
// sets from fixed sets, rule IDs from the loaded rules.
type Metrics struct {
	decisions  *prometheus.CounterVec
	rules      *prometheus.CounterVec
	errors     *prometheus.CounterVec
	enforceNow *prometheus.CounterVec
	engines    prometheus.Gauge
}

// NewMetrics registers the WAF metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_waf_decisions_total",
			Help: "WAF decisions by route, action (block, detected, log) and rule set (enforced, pending, candidate).",
		}, []string{"route", "action", "ruleset"}),
		rules: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_waf_rule_matches_total",
			Help: "Matches of logging WAF rules, by rule ID and rule set.",
		}, []string{"rule", "ruleset"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_waf_errors_total",
			Help: "WAF failures during a transaction, by route; each one blocked its request (fail closed).",
		}, []string{"route"}),
		enforceNow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_waf_enforce_now_total",
			Help: "Configurations that made a route block before its detection period ended, through waf.enforce_now, by route.",
		}, []string{"route"}),
		engines: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulwark_waf_engines",
			Help: "Compiled WAF rule sets held in memory.",
		}),
	}
	reg.MustRegister(m.decisions, m.rules, m.errors, m.enforceNow, m.engines)
	return m
}

// EnforceNow counts a use of the enforce_now override for route.
func (m *Metrics) EnforceNow(route string) { m.enforceNow.WithLabelValues(route).Inc() }

// Engines sets the number of compiled engines.
func (m *Metrics) Engines(n int) { m.engines.Set(float64(n)) }
