package waf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/corazawaf/coraza/v3/types"

	"github.com/bulwark-sec/bulwark/internal/request"
	"github.com/bulwark-sec/bulwark/internal/signals"
)

// errOverLimit is a request body larger than the inspection limit when the
// platform chose to reject such bodies.
var errOverLimit = errors.New("request body above the inspection limit")

// Options configure one route's WAF stage.
type Options struct {
	RouteID string
	// Mode is "detect" or "block".
	Mode string
	// Enforced is the rule set that decides (in block mode) or detects.
	Enforced *Engine
	// Pending is a new rule set serving its detection period beside the
	// enforced one; from PendingFrom on it replaces Enforced without a
	// reload. Nil when there is none.
	Pending     *Engine
	PendingFrom time.Time
	// Candidate is the platform's shadow rule set, run in detection.
	Candidate *Engine
	// ResponseBodyLimit bounds how much of a response is held back for
	// inspection.
	ResponseBodyLimit int64
	// Recent, if set, learns each client's anomaly score, for the bot
	// challenge of later requests.
	Recent  *signals.Recent
	Metrics *Metrics
	Now     func() time.Time
	Log     *slog.Logger
}

func (o *Options) limit() int64 { return o.ResponseBodyLimit }

// Firewall is the WAF stage of one route.
type Firewall struct {
	o    Options
	next http.Handler
}

var _ http.Handler = (*Firewall)(nil)

// New returns the stage; Wrap puts it in front of the next stage.
func New(o Options) *Firewall {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Firewall{o: o}
}

// Wrap returns the stage in front of next.
func (f *Firewall) Wrap(next http.Handler) http.Handler {
	c := *f
	c.next = next
	return &c
}

// ServeHTTP inspects the request, then the response, with the route's
// rule set. In block mode an interruption answers 403 (413 for a body
// over the inspection limit) through the one renderer; in detect mode the
// request passes and the decision is recorded. Any failure of the engine
// blocks: no request reaches a backend without passing the WAF (INV-1).
func (f *Firewall) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := request.From(r.Context())
	enforced, pending := f.o.Enforced, f.o.Pending
	if pending != nil && !f.o.PendingFrom.IsZero() && !f.o.Now().Before(f.o.PendingFrom) {
		enforced, pending = pending, nil // the new rule set has qualified
	}
	tx := enforced.waf.NewTransactionWithID(s.ID)
	defer f.end(tx, s, "enforced", len(s.Verdicts))
	it, body, err := inspectRequest(tx, r, s)
	if err != nil {
		f.failClosed(w, r, err)
		return
	}
	if pending != nil {
		f.shadow(pending, r, s, body, "pending")
	}
	if f.o.Candidate != nil {
		f.shadow(f.o.Candidate, r, s, body, "candidate")
	}
	if it != nil && f.decide(w, r, it, inboundScore(tx)) {
		return
	}
	ri := &responseInspector{ResponseWriter: w, f: f, r: r, tx: tx, skip: it != nil}
	f.next.ServeHTTP(ri, r)
	ri.finish()
}

// end closes a transaction: the logging phase runs (CRS correlation rules
// live there), then every verdict this transaction made since index first
// gets the full list of matched rules; a transaction that matched rules
// without deciding anything records them as a log verdict.
func (f *Firewall) end(tx types.Transaction, s *request.State, set string, first int) {
	tx.ProcessLogging()
	defer tx.Close()
	if f.o.Recent != nil && set == "enforced" {
		f.o.Recent.NoteWAFScore(s.ClientIP, inboundScore(tx))
	}
	rules := matches(tx)
	if len(rules) == 0 {
		return
	}
	f.count(rules, set)
	decided := false
	for i := first; i < len(s.Verdicts); i++ {
		if v := &s.Verdicts[i]; v.Layer == request.LayerWAF && v.RuleSet == set {
			v.Rules, decided = rules, true
		}
	}
	if !decided {
		f.o.Metrics.decisions.WithLabelValues(f.o.RouteID, string(request.ActionLog), set).Inc()
		s.Add(request.Verdict{Layer: request.LayerWAF, Action: request.ActionLog, Mode: f.o.Mode, Rules: rules,
			Score: inboundScore(tx), RuleSet: set})
	}
}

// decide turns an interruption into the route's verdict. It reports
// whether the request was stopped.
func (f *Firewall) decide(w http.ResponseWriter, r *http.Request, it *types.Interruption, score int) bool {
	v := request.Verdict{Layer: request.LayerWAF, Mode: f.o.Mode, Score: score, RuleSet: "enforced",
		Cause: fmt.Sprintf("rule %d: %s", it.RuleID, it.Action)}
	if f.o.Mode != "block" {
		v.Action = request.ActionDetect
		f.o.Metrics.decisions.WithLabelValues(f.o.RouteID, string(v.Action), v.RuleSet).Inc()
		request.From(r.Context()).Add(v)
		return false
	}
	v.Action, v.Status = request.ActionBlock, it.Status
	if v.Status < 400 || v.Status > 599 {
		v.Status = http.StatusForbidden
	}
	f.o.Metrics.decisions.WithLabelValues(f.o.RouteID, string(v.Action), v.RuleSet).Inc()
	request.Deny(w, r, v)
	return true
}

// shadow runs a rule set in detection on the same request, for its events
// only; it never changes the response.
func (f *Firewall) shadow(e *Engine, r *http.Request, s *request.State, body []byte, set string) {
	tx := e.waf.NewTransactionWithID(s.ID)
	defer f.end(tx, s, set, len(s.Verdicts))
	it := feedHeaders(tx, r, s)
	if it == nil && tx.IsRequestBodyAccessible() && len(body) > 0 {
		if it2, _, err := tx.WriteRequestBody(body); err == nil {
			it = it2
		}
	}
	if it == nil {
		it, _ = tx.ProcessRequestBody()
	}
	if it == nil {
		return
	}
	v := request.Verdict{Layer: request.LayerWAF, Action: request.ActionDetect, Mode: "detect",
		Score: inboundScore(tx), RuleSet: set, Cause: fmt.Sprintf("rule %d: %s (%s rule set, detection only)", it.RuleID, it.Action, set)}
	f.o.Metrics.decisions.WithLabelValues(f.o.RouteID, string(v.Action), set).Inc()
	s.Add(v)
}

func (f *Firewall) count(rules []request.Rule, set string) {
	for _, r := range rules {
		f.o.Metrics.rules.WithLabelValues(r.ID, set).Inc()
	}
}

// failClosed answers a request the WAF could not inspect. A body over the
// route's max_body_size is the client's doing (413); anything else is a
// failure of the engine, which blocks rather than lets through.
func (f *Firewall) failClosed(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	if errors.Is(err, errOverLimit) {
		// Above the inspection limit with request_body_over_limit:
		// reject. Not inspecting it is not an option in either mode.
		f.o.Metrics.decisions.WithLabelValues(f.o.RouteID, string(request.ActionBlock), "enforced").Inc()
		request.Deny(w, r, request.Verdict{Layer: request.LayerWAF, Action: request.ActionBlock, Mode: f.o.Mode, RuleSet: "enforced",
			Status: http.StatusRequestEntityTooLarge, Cause: "request body above waf.request_body_limit (request_body_over_limit: reject)"})
		return
	}
	if errors.As(err, &tooLarge) {
		request.Deny(w, r, request.Verdict{Layer: request.LayerProxy, Action: request.ActionReject,
			Status: http.StatusRequestEntityTooLarge, Cause: "body above the route's max_body_size"})
		return
	}
	f.o.Metrics.errors.WithLabelValues(f.o.RouteID).Inc()
	f.o.Log.Error("WAF failure; request blocked", "route", f.o.RouteID, "request_id", request.From(r.Context()).ID, "error", err)
	request.Deny(w, r, request.Verdict{Layer: request.LayerWAF, Action: request.ActionBlock, Mode: f.o.Mode,
		Status: http.StatusInternalServerError, Cause: "WAF failure, request blocked: " + err.Error()})
}

// feedHeaders runs the connection, URI and header phases.
func feedHeaders(tx types.Transaction, r *http.Request, s *request.State) *types.Interruption {
	cport := 0
	if _, p, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		cport, _ = strconv.Atoi(p)
	}
	saddr, sport := "", 0
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if h, p, err := net.SplitHostPort(a.String()); err == nil {
			saddr = h
			sport, _ = strconv.Atoi(p)
		}
	}
	tx.ProcessConnection(s.ClientIP.String(), cport, saddr, sport)
	tx.ProcessURI(r.RequestURI, r.Method, r.Proto)
	if r.Host != "" {
		tx.AddRequestHeader("Host", r.Host)
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			tx.SetServerName(h)
		} else {
			tx.SetServerName(r.Host)
		}
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	if len(r.TransferEncoding) > 0 {
		tx.AddRequestHeader("Transfer-Encoding", r.TransferEncoding[0])
	}
	return tx.ProcessRequestHeaders()
}

// inspectRequest runs the request phases on tx. The body is read up to
// the inspection limit and put back in front of whatever the client still
// has to send, so the backend receives it unchanged; the inspected bytes
// are returned for shadow rule sets.
func inspectRequest(tx types.Transaction, r *http.Request, s *request.State) (*types.Interruption, []byte, error) {
	if it := feedHeaders(tx, r, s); it != nil {
		return it, nil, nil
	}
	var body []byte
	if tx.IsRequestBodyAccessible() && r.Body != nil && r.Body != http.NoBody {
		it, _, err := tx.ReadRequestBodyFrom(r.Body)
		if err != nil {
			return nil, nil, fmt.Errorf("read request body: %w", err)
		}
		if it != nil && it.RuleID == 0 && it.Status == http.StatusRequestEntityTooLarge {
			return nil, nil, errOverLimit // request_body_over_limit: reject
		}
		rbr, err := tx.RequestBodyReader()
		if err != nil {
			return nil, nil, fmt.Errorf("buffered request body: %w", err)
		}
		if body, err = io.ReadAll(rbr); err != nil {
			return nil, nil, fmt.Errorf("buffered request body: %w", err)
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		if it != nil {
			// With partial inspection Coraza evaluates the body phase itself
			// when the limit is reached; a rule decided. The body is back in
			// place, so a detect-mode request still reaches the backend whole.
			return it, body, nil
		}
	}
	it, err := tx.ProcessRequestBody()
	if err != nil {
		return nil, nil, fmt.Errorf("request body phase: %w", err)
	}
	return it, body, nil
}
