package waf

import (
	"bufio"
	"bytes"
	"net"
	"net/http"

	"github.com/corazawaf/coraza/v3/types"

	"github.com/bulwark-sec/bulwark/internal/request"
)

// responseInspector runs the response phases on the backend's response.
// Headers are always inspected (cheap). With response body inspection on,
// a body of an inspectable type is held back, up to the limit, until it has
// been inspected: in block mode a response the rules refuse never reaches
// the client. Beyond the limit the rest streams uninspected.
type responseInspector struct {
	http.ResponseWriter
	f    *Firewall
	r    *http.Request
	tx   types.Transaction
	skip bool // the request phase already interrupted (detect mode)

	state   int // one of the states below
	status  int
	buf     bytes.Buffer
	decided bool
}

const (
	stateNew = iota
	statePass
	stateBuffer
	stateDenied
)

func (ri *responseInspector) WriteHeader(code int) {
	if ri.state != stateNew {
		if ri.state == statePass {
			ri.ResponseWriter.WriteHeader(code)
		}
		return
	}
	if code < 200 || ri.skip {
		if code == http.StatusSwitchingProtocols || ri.skip {
			ri.state = statePass
		}
		ri.ResponseWriter.WriteHeader(code)
		return
	}
	for k, vs := range ri.Header() {
		for _, v := range vs {
			ri.tx.AddResponseHeader(k, v)
		}
	}
	if it := ri.tx.ProcessResponseHeaders(code, ri.r.Proto); it != nil && ri.interrupted(it) {
		return
	}
	if ri.tx.IsResponseBodyAccessible() && ri.tx.IsResponseBodyProcessable() {
		ri.state, ri.status = stateBuffer, code
		return
	}
	ri.state = statePass
	ri.ResponseWriter.WriteHeader(code)
}

func (ri *responseInspector) Write(p []byte) (int, error) {
	if ri.state == stateNew {
		ri.WriteHeader(http.StatusOK)
	}
	switch ri.state {
	case stateDenied:
		return len(p), nil
	case stateBuffer:
		it, _, err := ri.tx.WriteResponseBody(p)
		ri.buf.Write(p)
		if err != nil || it != nil || int64(ri.buf.Len()) > ri.f.o.limit() {
			ri.flushBuffered(it)
		}
		return len(p), nil
	}
	return ri.ResponseWriter.Write(p)
}

// finish completes the response phases once the handler has returned.
func (ri *responseInspector) finish() {
	if ri.state == stateBuffer {
		it, _ := ri.tx.ProcessResponseBody()
		ri.flushBuffered(it)
	}
}

// flushBuffered ends buffering: with an interruption in block mode the
// held response is replaced by a denial, otherwise it is sent as it was.
func (ri *responseInspector) flushBuffered(it *types.Interruption) {
	if ri.state != stateBuffer {
		return
	}
	if it != nil && ri.interrupted(it) {
		return
	}
	ri.state = statePass
	ri.ResponseWriter.WriteHeader(ri.status)
	_, _ = ri.ResponseWriter.Write(ri.buf.Bytes())
	ri.buf.Reset()
}

// interrupted handles an interruption in a response phase. In block mode
// the backend's headers are dropped and the denial is written instead; it
// reports whether the response was replaced.
func (ri *responseInspector) interrupted(it *types.Interruption) bool {
	if ri.decided {
		return false
	}
	ri.decided = true
	s := request.From(ri.r.Context())
	v := request.Verdict{Layer: request.LayerWAF, Mode: ri.f.o.Mode, Score: outboundScore(ri.tx),
		RuleSet: "enforced", Cause: "response refused by the WAF"}
	if ri.f.o.Mode != "block" {
		v.Action = request.ActionDetect
		ri.f.o.Metrics.decisions.WithLabelValues(ri.f.o.RouteID, string(v.Action), v.RuleSet).Inc()
		s.Add(v)
		return false
	}
	v.Action, v.Status = request.ActionBlock, http.StatusForbidden
	ri.f.o.Metrics.decisions.WithLabelValues(ri.f.o.RouteID, string(v.Action), v.RuleSet).Inc()
	h := ri.Header()
	for k := range h {
		delete(h, k)
	}
	ri.state = stateDenied
	request.Deny(ri.ResponseWriter, ri.r, v)
	return true
}

// Flush is a no-op while the body is held back for inspection.
func (ri *responseInspector) Flush() {
	if ri.state == stateBuffer {
		return
	}
	_ = http.NewResponseController(ri.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (ri *responseInspector) Unwrap() http.ResponseWriter { return ri.ResponseWriter }

// Hijack passes a protocol switch (WebSocket) through; an upgraded
// connection is outside HTTP and outside the WAF, after its handshake
// request was inspected.
func (ri *responseInspector) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	ri.state = statePass
	return http.NewResponseController(ri.ResponseWriter).Hijack()
}
