package ratelimit

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/request"
)

// Header names in canonical form (http.Header keys), as the draft spells
// them case-insensitively.
const (
	headerPolicy     = "Ratelimit-Policy"
	headerLimit      = "Ratelimit"
	headerRetryAfter = "Retry-After"
)

// Stage is the rate-limit stage of one route: GCRA per client IP, and a
// limit on the client's requests in flight when the route sets one.
type Stage struct {
	l          *Limiter
	route      string
	index      uint32
	lim        config.RouteLimit
	g          gcra
	concurrent int32
	policy     []string // the RateLimit-Policy value, shared read-only
	allow      prometheus.Counter
	throttle   prometheus.Counter
	next       http.Handler
}

var _ http.Handler = (*Stage)(nil)

// Stage returns the rate-limit stage of route routeID with limit lim (the
// route's effective limit: the platform's defaults with the tenant's
// overrides within bounds). Stages of the same route ID share counters,
// across reloads too.
func (l *Limiter) Stage(routeID string, lim config.RouteLimit) *Stage {
	g := newGCRA(lim)
	p := policyField(g, lim.Concurrent)
	return &Stage{
		l: l, route: routeID, index: l.routeIndex(routeID), lim: lim, g: g,
		concurrent: int32(max(lim.Concurrent, 0)),
		policy:     []string{p}[:1:1], // a downstream Add must copy, not write into it
		allow:      l.m.decisions.WithLabelValues(routeID, actionAllow),
		throttle:   l.m.decisions.WithLabelValues(routeID, actionThrottle),
	}
}

// Wrap returns the stage in front of next.
func (s *Stage) Wrap(next http.Handler) http.Handler {
	c := *s
	c.next = next
	return &c
}

// ServeHTTP decides, sets State.RateUsage for the challenge stage and the
// RateLimit fields on the response, and either passes the request on or
// answers 429 through the one renderer. Allowlisted clients pass without
// a decision, without headers and without using any budget.
func (s *Stage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := request.From(r.Context())
	if st.Allowlisted {
		s.next.ServeHTTP(w, r)
		return
	}
	ip := clientKey(st.ClientIP)
	o := s.l.decide(s, ip)
	st.RateUsage = o.usage
	if !o.allowed {
		s.deny(w, r, o, false)
		return
	}
	if s.concurrent > 0 {
		k := newMemKey(s.index, ip)
		if !s.l.mem.acquire(k, s.concurrent) {
			s.deny(w, r, o, true)
			return
		}
		defer s.l.mem.release(k)
	}
	s.allow.Inc()
	h := w.Header()
	h[headerPolicy] = s.policy
	h[headerLimit] = []string{limitField(o, false)}
	s.next.ServeHTTP(w, r)
}

// deny answers 429. Retry-After is the time until the next request is
// admitted; for the concurrency limit, which frees a slot whenever a
// request in flight ends, it is 1 second.
func (s *Stage) deny(w http.ResponseWriter, r *http.Request, o outcome, concurrency bool) {
	s.throttle.Inc()
	retry, cause := o.retryAfter, fmt.Sprintf("rate limit %s burst %d exceeded on %s", s.lim.Rate, s.g.burst, s.route)
	if concurrency {
		retry, cause = 1, fmt.Sprintf("concurrency limit of %d requests in flight reached on %s", s.concurrent, s.route)
	}
	request.Deny(w, r, request.Verdict{
		Layer:  request.LayerRateLimit,
		Action: request.ActionThrottle,
		Status: http.StatusTooManyRequests,
		Mode:   "block",
		Cause:  cause,
		Header: http.Header{
			headerRetryAfter: {strconv.FormatInt(retry, 10)},
			headerPolicy:     s.policy,
			headerLimit:      {limitField(o, concurrency)},
		},
	})
}

// redisKey is the client's key in Redis: prefix + "rl:" + route + ":" + ip.
func (s *Stage) redisKey(prefix string, ip netip.Addr) string {
	return prefix + "rl:" + s.route + ":" + ip.String()
}

// clientKey is the address a budget belongs to: one key per address
// however it is written (an IPv4-mapped IPv6 address is the IPv4 address,
// a zone is not part of it), and one per IPv6 /64, the block a single
// subscriber is routinely given: keying by /128 would let one client
// rotate through its /64 for fresh budgets and churn the store.
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
