package reputation

import "github.com/prometheus/client_golang/prometheus"

// metrics are the stage's Prometheus metrics, registered once per process.
// Labels are bounded: routes from the configuration, actions and sources
// from fixed sets, feeds by a label derived from the configured URL's host.
// No label carries a client address.
type metrics struct {
	decisions    *prometheus.CounterVec
	feedErrors   *prometheus.CounterVec
	feedEntries  *prometheus.GaugeVec
	dnsblEntries prometheus.Gauge
	dnsblLookups *prometheus.CounterVec
	redisErrors  prometheus.Counter
}

// Decision sources, the source label of bulwark_reputation_decisions_total.
const (
	sourceAllowlist = "allowlist"
	sourceDenylist  = "denylist"
	sourceFeed      = "feed"
	sourceDNSBL     = "dnsbl"
	sourceBan       = "ban"
)

// Actions, the action label. Block matches request.ActionBlock.
const (
	actionBlock    = "block"
	actionAllow    = "allow"
	actionGreylist = "greylist"
)

func newMetrics(reg prometheus.Registerer, bansActive func() float64) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_reputation_decisions_total",
			Help: "IP-reputation decisions by route, action (block, allow, greylist) and source (allowlist, denylist, feed, dnsbl, ban).",
		}, []string{"route", "action", "source"}),
		feedErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_reputation_feed_errors_total",
			Help: "Failed fetches of a reputation feed (status, network or parse errors); the last good list stays in use.",
		}, []string{"feed"}),
		feedEntries: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bulwark_reputation_feed_entries",
			Help: "CIDRs in the list of a reputation feed now in use.",
		}, []string{"feed"}),
		dnsblEntries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulwark_reputation_dnsbl_cache_entries",
			Help: "DNSBL answers held in the cache (listed, not listed and brief error entries).",
		}),
		dnsblLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_reputation_dnsbl_lookups_total",
			Help: "DNS queries sent to DNSBL zones, by result (listed, not_listed, error); cache hits are not counted.",
		}, []string{"result"}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bulwark_reputation_redis_errors_total",
			Help: "Failed Redis commands of the ban store; each one fell back to the in-memory store.",
		}),
	}
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bulwark_reputation_bans_active",
		Help: "Clients banned now in the in-memory ban store (with store: redis, the bans this process made or saw fail over).",
	}, bansActive)
	reg.MustRegister(m.decisions, m.feedErrors, m.feedEntries, m.dnsblEntries, m.dnsblLookups, m.redisErrors, active)
	return m
}

func (m *metrics) decision(route, action, source string) {
	m.decisions.WithLabelValues(route, action, source).Inc()
}
