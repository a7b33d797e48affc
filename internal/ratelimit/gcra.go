package ratelimit

import (
	"strconv"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// µs per second: time in this package is int64 microseconds since the Unix
// epoch, the same unit the Redis script uses (Lua numbers are doubles,
// exact for integers below 2^53; microseconds since 1970 stay below that
// until the year 2255, nanoseconds do not).
const second = 1_000_000

// gcra is one limit of the Generic Cell Rate Algorithm. A client's whole
// state is its theoretical arrival time (TAT): the time at which its
// budget would be full again if it sent nothing more. Each admitted
// request pushes the TAT one emission interval further; a request is
// refused when that would put the TAT more than the tolerance ahead of
// now. With tolerance = burst × interval, a fresh client may send exactly
// burst requests at once and then one every interval.
type gcra struct {
	interval  int64 // T: µs between requests at the sustained rate, rounded up
	tolerance int64 // τ = burst × T
	burst     int64
}

// newGCRA derives the algorithm's parameters from a route's limit. The
// interval is rounded up to the microsecond, so the enforced rate is never
// above the configured one (at most 0.1% below it at 1000/s, the default
// bound).
func newGCRA(l config.RouteLimit) gcra {
	n := max(l.Rate.N, 1)
	per := l.Rate.Per.Microseconds()
	if per <= 0 {
		per = second
	}
	t := max((per+n-1)/n, 1)
	b := int64(max(l.Burst, 1))
	return gcra{interval: t, tolerance: b * t, burst: b}
}

// decide is one decision at now for a client whose stored TAT is tat (0
// or any past time for a client with no state). It returns whether the
// request is admitted and the TAT to store. The Redis script is this
// function in Lua; keep them the same.
func (g gcra) decide(tat, now int64) (bool, int64) {
	tat = max(tat, now)
	next := tat + g.interval
	if next-now > g.tolerance {
		return false, tat
	}
	return true, next
}

// outcome is what a decision means for the client.
type outcome struct {
	allowed bool
	// remaining is how many more requests would be admitted right now.
	remaining int64
	// usage is how much of the burst is used, 0 to 1 (State.RateUsage).
	usage float64
	// retryAfter is the whole seconds, rounded up, until the next request
	// is admitted; only meaningful when remaining is 0.
	retryAfter int64
	// reset is the RateLimit field's effective window t: the seconds,
	// rounded up, until the whole burst is available again, or, when
	// nothing is left, until the next request is admitted (so t never
	// ends after Retry-After; draft §6).
	reset int64
}

// outcome interprets the TAT after a decision made at now.
func (g gcra) outcome(allowed bool, tat, now int64) outcome {
	ahead := max(tat-now, 0)
	o := outcome{allowed: allowed, remaining: max((g.tolerance-ahead)/g.interval, 0)}
	o.usage = min(float64(ahead)/float64(g.tolerance), 1)
	if !allowed {
		o.usage = 1
	}
	if o.remaining > 0 {
		o.reset = ceilSeconds(ahead)
		return o
	}
	o.retryAfter = max(ceilSeconds(tat+g.interval-g.tolerance-now), 1)
	o.reset = o.retryAfter
	return o
}

// window is the RateLimit-Policy window w: the seconds an exhausted budget
// takes to fill up completely, rounded up, so that q/w is never above the
// sustained rate.
func (g gcra) window() int64 { return max(ceilSeconds(g.tolerance), 1) }

func ceilSeconds(us int64) int64 {
	if us <= 0 {
		return 0
	}
	return (us + second - 1) / second
}

// policyName names the GCRA policy in the RateLimit fields; concurrencyName
// the concurrency limit.
const (
	policyName      = `"default"`
	concurrencyName = `"concurrency"`
)

// policyField is the RateLimit-Policy value of a route: the burst as the
// quota over the refill window, and the concurrency limit in the draft's
// concurrent-requests unit when the route has one.
func policyField(g gcra, concurrent int) string {
	v := policyName + ";q=" + strconv.FormatInt(g.burst, 10) + ";w=" + strconv.FormatInt(g.window(), 10)
	if concurrent > 0 {
		v += ", " + concurrencyName + `;q=` + strconv.Itoa(concurrent) + `;qu="concurrent-requests"`
	}
	return v
}

// limitField is the RateLimit value after a decision; concurrencyFull adds
// the concurrency item with nothing available.
func limitField(o outcome, concurrencyFull bool) string {
	b := make([]byte, 0, 64)
	b = append(b, policyName...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, o.remaining, 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, o.reset, 10)
	if concurrencyFull {
		b = append(b, ", "+concurrencyName+";r=0"...)
	}
	return string(b)
}
