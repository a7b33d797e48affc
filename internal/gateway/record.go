package gateway

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/bulwark-sec/bulwark/internal/events"
	"github.com/bulwark-sec/bulwark/internal/listener"
	"github.com/bulwark-sec/bulwark/internal/request"
)

// record is the outermost handler of both listeners. It computes the
// request's State once (ID, peer, client IP), runs the rest of the chain
// on the generation current at arrival, and afterwards writes exactly one
// access record, one security event per security verdict, and the request
// metrics. A panic below it fails closed: the client gets a 500 from the
// one renderer, the log gets the panic.
func (g *Gateway) record(tlsListener bool, next func(gen *generation, w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gen := g.gen.Load()
		peer := listener.PeerAddr(r.RemoteAddr)
		s := &request.State{
			Start:       g.now(),
			Peer:        peer,
			PeerTrusted: gen.trusted.Contains(peer),
			TLS:         tlsListener,
		}
		s.ClientIP = gen.trusted.ClientIP(peer, r.Header.Values("X-Forwarded-For"))
		s.ID = requestID(s.PeerTrusted, r.Header.Get("X-Request-ID"))
		r = r.WithContext(request.With(r.Context(), s))
		rw := &responseRecorder{ResponseWriter: w, status: http.StatusOK}
		rw.Header().Set("X-Request-ID", s.ID)
		if tlsListener && gen.hsts != "" {
			rw.Header().Set("Strict-Transport-Security", gen.hsts)
		}
		defer g.finish(gen, rw, r, s)
		next(gen, rw, r)
	})
}

// finish recovers a panic into a 500 and emits the request's records.
func (g *Gateway) finish(gen *generation, rw *responseRecorder, r *http.Request, s *request.State) {
	if p := recover(); p != nil {
		if p == http.ErrAbortHandler {
			g.observe(gen, rw, r, s)
			panic(p) // the server aborts the connection, as intended
		}
		g.log.Error("panic in request path", "request_id", s.ID, "panic", fmt.Sprint(p))
		if !rw.wrote {
			request.Deny(rw, r, request.Verdict{Layer: request.LayerGateway, Action: request.ActionError,
				Status: http.StatusInternalServerError, Cause: fmt.Sprint(p)})
		}
	}
	g.observe(gen, rw, r, s)
}

func (g *Gateway) observe(gen *generation, rw *responseRecorder, r *http.Request, s *request.State) {
	end := g.now()
	uri := events.RedactURI(r.RequestURI)
	routeID, tenant := "", ""
	if s.Route != nil {
		routeID, tenant = s.Route.ID, s.Route.Tenant
	}
	g.metrics.observe(routeID, rw.status, end.Sub(s.Start))
	for _, v := range s.Verdicts {
		if v.Security() {
			g.events.Emit("security", events.Security{
				Time: end, Type: "security", RequestID: s.ID, SrcIP: s.ClientIP.String(),
				Host: r.Host, Method: r.Method, URI: uri, Route: routeID, Tenant: tenant,
				Layer: v.Layer, Action: v.Action, Mode: v.Mode, Rules: v.Rules, Score: v.Score,
				RuleSet: v.RuleSet, Candidate: v.RuleSet == "candidate", Status: rw.status, Reason: v.Cause,
			})
		}
	}
	if !gen.cfg.Platform.Events.Access {
		return
	}
	a := events.Access{
		Time: end, Type: "access", RequestID: s.ID, SrcIP: s.ClientIP.String(),
		Host: r.Host, Method: r.Method, URI: uri, Proto: r.Proto,
		Route: routeID, Tenant: tenant, Status: rw.status, Bytes: rw.bytes,
		DurationMS: float64(end.Sub(s.Start).Microseconds()) / 1000,
		Upstream:   s.Upstream, UserAgent: r.UserAgent(),
	}
	if r.TLS != nil {
		a.TLSVersion = listener.VersionName(r.TLS.Version)
	}
	g.events.Emit("access", a)
}

// requestID keeps a trusted proxy's X-Request-ID when it is a sane token,
// and otherwise makes a new one: a client must not be able to choose the
// ID that support will search the logs for.
func requestID(trusted bool, inbound string) string {
	if trusted && validRequestID(inbound) {
		return inbound
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// responseRecorder notes the status and size of a response. Unwrap lets
// http.ResponseController reach the connection for flushing, deadlines and
// WebSocket hijacking.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (rw *responseRecorder) WriteHeader(code int) {
	if !rw.wrote || code < 200 {
		rw.status = code
		rw.wrote = code >= 200 || code == http.StatusSwitchingProtocols
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *responseRecorder) Write(p []byte) (int, error) {
	rw.wrote = true
	n, err := rw.ResponseWriter.Write(p)
	rw.bytes += int64(n)
	return n, err
}

func (rw *responseRecorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// Flush is here because httputil.ReverseProxy and streaming handlers look
// for http.Flusher directly.
func (rw *responseRecorder) Flush() { _ = http.NewResponseController(rw.ResponseWriter).Flush() }

// Hijack records the switch to another protocol (the 101 is written on
// the hijacked connection, not through WriteHeader).
func (rw *responseRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	rw.status, rw.wrote = http.StatusSwitchingProtocols, true
	return http.NewResponseController(rw.ResponseWriter).Hijack()
}

var (
	_ http.Flusher  = (*responseRecorder)(nil)
	_ http.Hijacker = (*responseRecorder)(nil)
)

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}
