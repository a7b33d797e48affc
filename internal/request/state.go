// Package request holds what the gateway knows about one request: its typed
// per-request State, the Verdict a stage returns when it stops a request, and
// the one responder that renders every denial and error to the client.
//
// Stages never write their own error pages. They call Deny with a Verdict;
// the cause goes to the event log, the client sees a status, a short message
// and the request ID it can quote to support.
package request

import (
	"context"
	"net/netip"
	"time"
)

// State is computed once per request by the outermost handler and shared by
// every stage through the request context. Fields are filled in as the
// request moves down the pipeline: the route stage sets Route, a stage that
// stops the request appends to Verdicts.
type State struct {
	// ID is the request ID: the one a trusted proxy sent, or a new one.
	ID string
	// Start is when the gateway began handling the request.
	Start time.Time
	// Peer is the address of the TCP peer.
	Peer netip.Addr
	// ClientIP is the client address: Peer, or taken from X-Forwarded-For
	// when Peer is a trusted proxy.
	ClientIP netip.Addr
	// PeerTrusted is true when Peer is one of the platform's trusted
	// proxies, whose X-Forwarded-For and X-Request-ID are believed.
	PeerTrusted bool
	// TLS is true when the request arrived over TLS.
	TLS bool
	// Route is the matched route; nil until the route stage has run, and nil
	// for requests that matched no route.
	Route *Route
	// Upstream is the backend that answered, when the request was proxied.
	Upstream string
	// Allowlisted is set by the reputation stage for clients on an allow
	// list: they skip rate limits and challenges, never the WAF (INV-1).
	Allowlisted bool
	// Greylisted is set by the reputation stage for clients on a greylist
	// feed or DNSBL; it counts towards the bot-challenge score.
	Greylisted bool
	// RateUsage is how much of its rate budget the client has used on this
	// route, from 0 (none) to 1 (exhausted), set by the rate-limit stage.
	RateUsage float64
	// Verdicts holds every decision a stage made about the request, in order.
	// Detection-only decisions appear here as well as blocking ones.
	Verdicts []Verdict
}

// Route is what the rest of the pipeline needs to know about the matched
// route, without importing the config package.
type Route struct {
	// ID is "tenant/name", unique across the configuration and bounded in
	// number, so it is safe as a metric label.
	ID     string
	Tenant string
	Name   string
}

type stateKey struct{}

// With returns a context carrying s.
func With(ctx context.Context, s *State) context.Context {
	return context.WithValue(ctx, stateKey{}, s)
}

// From returns the State of the request ctx belongs to. A request that
// reached a stage without a State is a wiring bug; From returns a fresh
// State rather than nil so the stage still fails closed instead of
// panicking, and the caller can detect it with s.ID == "".
func From(ctx context.Context) *State {
	if s, ok := ctx.Value(stateKey{}).(*State); ok {
		return s
	}
	return &State{}
}

// Add records a verdict on the request.
func (s *State) Add(v Verdict) { s.Verdicts = append(s.Verdicts, v) }
