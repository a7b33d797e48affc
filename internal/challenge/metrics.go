package challenge

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a solution is refused: a bounded label set.
const (
	reasonMAC     = "mac"     // the token's seal does not verify (forged, malformed, key retired)
	reasonExpired = "expired" // the challenge is older than challenge_ttl
	reasonReplay  = "replay"  // the nonce was used already
	reasonWork    = "work"    // the counter does not give enough leading zero bits
	reasonFull    = "full"    // the used-nonce set is full (503, Retry-After)
)

// Metrics are the challenge's Prometheus metrics, registered once per
// process. Labels are bounded: route IDs from the configuration ("none"
// for a solution whose seal did not verify on the gateway-level
// endpoint) and the reasons above.
type Metrics struct {
	issued *prometheus.CounterVec
	solved *prometheus.CounterVec
	failed *prometheus.CounterVec
	passes *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_challenge_issued_total",
			Help: "Challenge pages served (each with a new nonce), by route. JSON clients get a 403 and are not counted here.",
		}, []string{"route"}),
		solved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_challenge_solved_total",
			Help: "Solutions accepted (a pass cookie issued), by route.",
		}, []string{"route"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_challenge_failed_total",
			Help: "Solutions refused, by route and reason (mac, expired, replay, work, full); full also counts challenges not issued because the used-nonce set was full.",
		}, []string{"route", "reason"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_challenge_passes_total",
			Help: "Requests that would have been challenged and went through on a valid pass cookie, by route.",
		}, []string{"route"}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.issued, m.solved, m.failed, m.passes} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}
