package waf

import (
	"fmt"
	"time"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// Plan is how a route's WAF runs under INV-4, decided from its
// configuration and the ledger.
type Plan struct {
	// Enforced is the rule set that decides (block) or detects (detect).
	Enforced RuleSet
	// Pending is a new rule set serving its detection period while
	// Enforced keeps blocking; it takes over at PendingFrom.
	Pending     *RuleSet
	PendingFrom time.Time
	// EnforceNow is set when the platform's enforce_now override let the
	// route block before the detection period ended.
	EnforceNow bool
	// Changes are what the ledger records when the configuration serves.
	Changes []LedgerChange
}

// RefusedError is a block mode the ledger does not allow yet.
type RefusedError struct {
	Route       string
	Fingerprint string
	Since       time.Time // zero if it never served in detection
	Earliest    time.Time
	Period      time.Duration
}

func (e *RefusedError) Error() string {
	served := "has not served in detection yet"
	if !e.Since.IsZero() {
		served = "has served in detection since " + e.Since.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("block refused: rule set %s of route %s %s, and the detection period is %s (INV-4); block is accepted from %s, or earlier if the security team lists %s in waf.enforce_now",
		e.Fingerprint, e.Route, served, config.Duration(e.Period), e.Earliest.UTC().Format(time.RFC3339), e.Route)
}

// PlanRoute decides how route runs rule set rs in mode at time now.
//
//   - detect: rs detects; its detection clock starts if it had not.
//   - block, rs has served in detection for period (or the route already
//     enforces rs): rs blocks.
//   - block, enforce_now: rs blocks at once; the use is reported.
//   - block, the route enforced another rule set before: that one keeps
//     blocking and rs serves its detection period beside it, taking over
//     when the period ends.
//   - otherwise the configuration is refused, with the earliest time.
func PlanRoute(l *Ledger, route string, rs RuleSet, mode string, period time.Duration, enforceNow bool, now time.Time) (Plan, error) {
	fp := rs.Fingerprint()
	detect := LedgerChange{Route: route, DetectionStart: fp, At: now}
	if mode != "block" {
		return Plan{Enforced: rs, Changes: []LedgerChange{detect}}, nil
	}
	enforce := LedgerChange{Route: route, Enforce: &EnforcedSet{Fingerprint: fp, CRSVersion: rs.CRSVersion, Directives: rs.Directives()}, At: now}
	since, served := l.detectionSince(route, fp)
	prev := l.enforced(route)
	switch {
	case served && !now.Before(since.Add(period)), prev != nil && prev.Fingerprint == fp:
		return Plan{Enforced: rs, Changes: []LedgerChange{enforce}}, nil
	case enforceNow:
		return Plan{Enforced: rs, EnforceNow: true, Changes: []LedgerChange{enforce}}, nil
	}
	start := now
	if served {
		start = since
	}
	if prev != nil && prev.CRSVersion == rs.CRSVersion && rs.RulesDir == nil {
		old := RuleSet{CRSVersion: prev.CRSVersion, Raw: prev.Directives}
		p := rs
		return Plan{Enforced: old, Pending: &p, PendingFrom: start.Add(period), Changes: []LedgerChange{detect}}, nil
	}
	return Plan{}, &RefusedError{Route: route, Fingerprint: fp, Since: since, Earliest: start.Add(period), Period: period}
}
