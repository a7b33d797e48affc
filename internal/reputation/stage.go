package reputation

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/request"
)

// Stage is the reputation stage of one route. All routes share one
// Reputation; the route only labels the metrics.
type Stage struct {
	r     *Reputation
	route string
	next  http.Handler
}

var _ http.Handler = (*Stage)(nil)

// Stage returns the stage for routeID; Wrap puts it in front of the next
// stage. It follows the configuration of the latest Reconfigure.
func (r *Reputation) Stage(routeID string) *Stage { return &Stage{r: r, route: routeID} }

// Wrap returns the stage in front of next.
func (s *Stage) Wrap(next http.Handler) http.Handler {
	c := *s
	c.next = next
	return &c
}

// ServeHTTP judges the client address: see the package documentation for
// the order.
func (s *Stage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := request.From(r.Context())
	ip := st.ClientIP.WithZone("").Unmap()
	snap := s.r.snap.Load()
	if !ip.IsValid() || snap == nil { // no address to judge: a wiring bug, left to the stages after
		s.next.ServeHTTP(w, r)
		return
	}
	if _, ok := snap.allow.match(ip); ok {
		st.Allowlisted = true
		s.r.m.decision(s.route, actionAllow, sourceAllowlist)
		s.next.ServeHTTP(w, r)
		return
	}
	if source, cause := s.judge(r.Context(), snap, ip, st); source != "" {
		s.r.m.decision(s.route, actionBlock, source)
		request.Deny(w, r, request.Verdict{Layer: request.LayerReputation, Action: request.ActionBlock,
			Status: http.StatusForbidden, Cause: cause})
		return
	}
	if snap.bans.threshold == 0 {
		s.next.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.next.ServeHTTP(sw, r)
	if sw.status >= 400 && sw.status < 500 && !challenged(st) {
		s.r.bans.hit(r.Context(), banKey(ip), snap.bans)
	}
}

// challenged reports whether the response was a bot challenge: a visitor
// who has not solved it yet is not misbehaving, and loading a few pages
// before the challenge completes must not ban a real browser.
func challenged(st *request.State) bool {
	for _, v := range st.Verdicts {
		if v.Layer == request.LayerBot && v.Action == request.ActionChallenge {
			return true
		}
	}
	return false
}

// judge returns the source and cause of a block, or "" and marks the
// request greylisted when a greylist feed or zone lists the client. The
// cheap checks come first; the DNSBL, a network round trip on a cache
// miss, comes last and is skipped when it could only greylist a client
// already greylisted.
func (s *Stage) judge(ctx context.Context, snap *snapshot, ip netip.Addr, st *request.State) (source, cause string) {
	if name, ok := snap.deny.match(ip); ok {
		return sourceDenylist, "deny list " + name
	}
	grey, greyCause := "", ""
	for _, u := range snap.feeds {
		if !u.f.list.Load().contains(ip) {
			continue
		}
		if u.deny {
			return sourceFeed, "deny feed " + u.f.label
		}
		if grey == "" {
			grey, greyCause = sourceFeed, "greylist feed "+u.f.label
		}
	}
	if snap.bans.threshold > 0 && s.r.bans.banned(ctx, banKey(ip), snap.bans) {
		return sourceBan, fmt.Sprintf("banned after %d blocked or 4xx responses within %s", snap.bans.threshold, snap.bans.window)
	}
	if d := snap.dnsbl; d != nil && (d.deny || grey == "") {
		if zone, ans := s.r.dnsbl.check(ctx, d, ip); ans.listed {
			cause := fmt.Sprintf("dnsbl %s lists the address (%s)", strings.TrimSuffix(zone, "."), ans.code)
			if d.deny {
				return sourceDNSBL, cause
			}
			grey, greyCause = sourceDNSBL, cause
		}
	}
	if grey != "" {
		st.Greylisted = true
		s.r.m.decision(s.route, actionGreylist, grey)
		st.Add(request.Verdict{Layer: request.LayerReputation, Action: request.ActionLog, Cause: "greylisted: " + greyCause})
	}
	return "", ""
}

// statusWriter notes the final status of a response, for bans. Unwrap lets
// http.ResponseController reach the connection; Flush and Hijack are here
// for code that asserts the interfaces directly (httputil.ReverseProxy).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.status == 0 && code >= 200 {
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(p []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return sw.ResponseWriter.Write(p)
}

func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

func (sw *statusWriter) Flush() {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	_ = http.NewResponseController(sw.ResponseWriter).Flush()
}

func (sw *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if sw.status == 0 {
		sw.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(sw.ResponseWriter).Hijack()
}

var (
	_ http.Flusher  = (*statusWriter)(nil)
	_ http.Hijacker = (*statusWriter)(nil)
)
