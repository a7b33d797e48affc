// Package proxy forwards requests to a route's backends: round-robin with
// passive health, body-size limit, forwarding headers, and every failure
// rendered through request.Deny so a client never sees a backend's or Go's
// error text.
package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/challenge"
	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/request"
)

// Options configure one route's proxy.
type Options struct {
	Route         *config.Route
	EjectCooldown time.Duration
	MaxIdleConns  int
	Metrics       *Metrics
	// Now is the clock for passive health; nil means time.Now.
	Now func() time.Time
	// Log receives upstream failures and ejections; the client only ever
	// sees a status and a request ID.
	Log *slog.Logger
}

// Handler proxies requests of one route. It is the last stage of the
// pipeline.
type Handler struct {
	route     *config.Route
	pool      *Pool
	transport *http.Transport
	rp        *httputil.ReverseProxy
	metrics   *Metrics
	log       *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// New builds the proxy for opts.Route.
func New(opts Options) *Handler {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := opts.Route
	h := &Handler{route: r, metrics: opts.Metrics, log: log}
	h.pool = NewPool(r.Backends, opts.EjectCooldown, now)
	h.transport = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: r.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: r.ResponseTimeout,
		TLSHandshakeTimeout:   r.ConnectTimeout,
		MaxIdleConnsPerHost:   opts.MaxIdleConns,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Backends speak HTTP/1.1; the client side may be HTTP/2.
		ForceAttemptHTTP2: false,
	}
	bal := &balancer{pool: h.pool, rt: h.transport, onEject: func(backend string, err error) {
		h.metrics.ejections.WithLabelValues(r.ID).Inc()
		log.Warn("backend ejected", "route", r.ID, "backend", backend, "cooldown", opts.EjectCooldown.String(), "error", err.Error())
	}}
	h.rp = &httputil.ReverseProxy{
		Rewrite:        h.rewrite,
		Transport:      bal,
		ErrorHandler:   h.fail,
		ModifyResponse: h.modifyResponse,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return h
}

// ServeHTTP forwards the request. The route stage has already bounded its
// body to the route's max_body_size.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isUpgrade(r) {
		// A WebSocket outlives the server's read and write timeouts, which
		// are meant for request/response exchanges.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
	}
	h.rp.ServeHTTP(w, r)
}

// Close releases the proxy's idle backend connections; in-flight requests
// finish. The gateway calls it on the previous generation after a reload.
func (h *Handler) Close() { h.transport.CloseIdleConnections() }

// Pool exposes the backend pool, for status and tests.
func (h *Handler) Pool() *Pool { return h.pool }

func (h *Handler) rewrite(pr *httputil.ProxyRequest) {
	s := request.From(pr.In.Context())
	out := pr.Out
	peer := s.Peer.String()
	if prior := pr.In.Header.Values("X-Forwarded-For"); s.PeerTrusted && len(prior) > 0 {
		out.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+peer)
	} else {
		out.Header.Set("X-Forwarded-For", peer)
	}
	proto := "http"
	if s.TLS {
		proto = "https"
	}
	out.Header.Set("X-Forwarded-Proto", proto)
	out.Header.Set("X-Forwarded-Host", pr.In.Host)
	out.Header.Set("X-Request-ID", s.ID)
	challenge.StripPassCookies(out.Header)
	out.Host = pr.In.Host
}

// modifyResponse keeps the headers the gateway sets on every response
// authoritative: a backend's own Strict-Transport-Security (the platform's
// HSTS policy) and X-Request-ID (the ID the access record carries; the
// backend received it in the request) are dropped, since ReverseProxy adds
// the backend's values to the gateway's rather than replacing them.
func (h *Handler) modifyResponse(resp *http.Response) error {
	resp.Header.Del("Strict-Transport-Security")
	resp.Header.Del("X-Request-ID")
	return nil
}

// fail turns a proxy error into a verdict: 413 for an over-long body, 504
// for a timeout, 502 for anything else.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	v := request.Verdict{Layer: request.LayerProxy, Action: request.ActionError, Status: http.StatusBadGateway, Cause: err.Error()}
	var maxBytes *http.MaxBytesError
	var netErr net.Error
	kind := "protocol"
	switch {
	case errors.As(err, &maxBytes):
		v.Action, v.Status, kind = request.ActionReject, http.StatusRequestEntityTooLarge, ""
	case r.Context().Err() != nil:
		// The client went away; nothing reaches it, 499 marks it in logs.
		v.Status, kind = 499, ""
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		v.Status, kind = http.StatusGatewayTimeout, "timeout"
	case isConnectError(err):
		kind = "connect"
	}
	if kind != "" {
		h.metrics.upstreamErrors.WithLabelValues(h.route.ID, kind).Inc()
		h.log.Warn("upstream error", "route", h.route.ID, "request_id", request.From(r.Context()).ID, "kind", kind, "error", err.Error())
	}
	request.Deny(w, r, v)
}

func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}
