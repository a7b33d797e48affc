package gateway

import (
	"fmt"
	"net/http"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/proxy"
)

// The request path, in the order of the RFC's layer model. Only stages
// that exist are listed: a stage that is not built yet is absent, never a
// silent pass-through that would pretend to protect.
//
//	listener  TLS ≥ 1.2 (listener.TLSConfig), :80 → 308 (listener.Redirect)
//	record    request State, request ID, client IP; access record, events, metrics (record.go)
//	route     host + path → route; 404 if none, 421 if SNI and Host disagree (route.go)
//	reputation  allow/deny lists, feeds, DNSBL, bans (internal/reputation)
//	ratelimit   per-client GCRA budget and concurrency (internal/ratelimit)
//	challenge   proof-of-work bot challenge, for routes that ask (internal/challenge)
//	waf       Coraza + OWASP CRS v4, detect or block, INV-4 ledger (internal/waf)
//	proxy     the route's backends (internal/proxy)
//
// The front (record, route) is shared by all routes. The stages after it
// are built per route, back to front, so each route's chain is a plain
// sequence of handlers with its settings bound at build time.

// stage is one step of a route's chain: build returns its handler for route
// r, in front of next (nil for the last stage).
type stage struct {
	name  string
	build func(g *generation, r *config.Route, next http.Handler) (http.Handler, error)
}

// routeStages are the per-route stages, first to last.
var routeStages = []stage{
	{"reputation", buildReputation},
	{"ratelimit", buildRateLimit},
	{"challenge", buildChallenge},
	{"waf", buildWAF},
	{"proxy", buildProxy},
}

// buildChain builds route r's handler chain from routeStages, back to
// front.
func buildChain(g *generation, r *config.Route) (http.Handler, error) {
	var h http.Handler
	for i := len(routeStages) - 1; i >= 0; i-- {
		s := routeStages[i]
		next, err := s.build(g, r, h)
		if err != nil {
			return nil, fmt.Errorf("route %s: %s stage: %w", r.ID, s.name, err)
		}
		h = next
	}
	return h, nil
}

func buildProxy(g *generation, r *config.Route, _ http.Handler) (http.Handler, error) {
	p := proxy.New(proxy.Options{
		Route:         r,
		EjectCooldown: g.cfg.Platform.Proxy.EjectCooldown.D(),
		MaxIdleConns:  g.cfg.Platform.Proxy.MaxIdleConns,
		Metrics:       g.gw.proxyMetrics,
		Now:           g.gw.now,
		Log:           g.gw.log,
	})
	g.closers = append(g.closers, p.Close)
	g.proxies[r.ID] = p
	return p, nil
}
