package gateway

import (
	"github.com/bulwark-sec/bulwark/internal/challenge"
	"net/http"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/request"
)

// routed is a route's entry in the routing table: what the pipeline needs
// to know about it, and its chain.
type routed struct {
	info    *request.Route
	chain   http.Handler
	maxBody int64
}

// serveRoute is the route stage: it matches the request to a route of the
// current generation and hands it to that route's chain.
func (gen *generation) serveRoute(w http.ResponseWriter, r *http.Request) {
	s := request.From(r.Context())
	if r.Host == "" {
		request.Deny(w, r, request.Verdict{Layer: request.LayerRoute, Action: request.ActionReject,
			Status: http.StatusBadRequest, Message: "The request has no Host.", Cause: "no Host header"})
		return
	}
	if misdirected(gen, r) {
		request.Deny(w, r, request.Verdict{Layer: request.LayerRoute, Action: request.ActionReject,
			Status: http.StatusMisdirectedRequest, Cause: "Host is not covered by the certificate chosen for the TLS server name"})
		return
	}
	if r.URL.Path == challenge.SolutionPath && gen.routes.HasHost(r.Host) {
		// Solutions of the bot challenge come back to one path on every
		// host, whatever route the challenged page was on.
		gen.gw.challenger.ServeHTTP(w, r)
		return
	}
	rt, ok := gen.routes.Match(r.Host, r.URL.Path)
	if !ok {
		request.Deny(w, r, request.Verdict{Layer: request.LayerRoute, Action: request.ActionReject,
			Status: http.StatusNotFound, Cause: "no route for host and path"})
		return
	}
	s.Route = rt.info
	if r.ContentLength > rt.maxBody {
		request.Deny(w, r, request.Verdict{Layer: request.LayerRoute, Action: request.ActionReject,
			Status: http.StatusRequestEntityTooLarge, Cause: "Content-Length above the route's max_body_size"})
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		// Bounded before any stage reads it: the WAF buffers bodies.
		r.Body = http.MaxBytesReader(innermost(w), r.Body, rt.maxBody)
	}
	rt.chain.ServeHTTP(w, r)
}

// innermost unwraps w to the server's own ResponseWriter. MaxBytesReader
// tells that one, and only that one, to close the connection after a body
// over the limit, so the rest of the body is not read as a next request.
func innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// misdirected reports whether a TLS request's Host is served by a
// different certificate than the one its SNI selected. HTTP/2 may reuse a
// connection for every host its certificate covers; beyond that, a
// mismatch is a client sending one tenant's traffic on another's
// connection, and gets 421 (RFC 9110 §15.5.20).
func misdirected(gen *generation, r *http.Request) bool {
	if r.TLS == nil || r.TLS.ServerName == "" {
		return false
	}
	host := config.NormalizeHost(r.Host)
	if host == r.TLS.ServerName {
		return false
	}
	a, okA := gen.certs.Lookup(host)
	b, okB := gen.certs.Lookup(r.TLS.ServerName)
	return !okA || !okB || a != b
}
