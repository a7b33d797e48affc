// Package challenge is the bot-challenge stage (RFC L4): a proof-of-work
// page that a browser solves in a moment and a client without JavaScript
// cannot get past, and a signed pass cookie that lets the client through
// afterwards.
//
// A challenge keeps no state on the server: a random nonce, the
// difficulty, an expiry, the tenant, the route and the URL to return to
// travel in a token sealed (HMAC-SHA256) with the current key of the key
// ring. The page's script finds a counter such that SHA-256(token ||
// counter) starts with Difficulty zero bits and posts it to SolutionPath;
// the server checks the seal, the expiry, the work and that the nonce was
// never used (the one piece of state: a bounded set of used nonces, each
// forgotten when its challenge expires), then sets the pass cookie and
// answers 303 to the original path.
//
// The pass cookie is bound to the tenant and the client's IP prefix,
// expires after PassTTL and is sealed with the same key ring. A key signs
// for KeyRotation and is honoured for KeyOverlap after that; the ring
// persists in the state directory, so a restart keeps passes valid.
package challenge

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/request"
	"github.com/bulwark-sec/bulwark/internal/signals"
)

// SolutionPath is the gateway-reserved path solutions are posted to, on
// the host that served the challenge. It is never challenged itself.
const SolutionPath = "/.well-known/bulwark/challenge"

// CookiePrefix starts the name of every pass cookie; the tenant's name
// completes it, so tenants that share a host by path each keep their own
// pass. __Host- makes browsers insist on Secure, Path=/ and no Domain.
const CookiePrefix = "__Host-bulwark_pass_"

// Route challenge modes. A route with challenge: off has no stage at all.
const (
	ModeSuspicious = "suspicious"
	ModeAlways     = "always"
)

// DefaultMaxNonces is the default bound of the used-nonce set: about 10 MB
// at most, enough for 330 solved challenges a second with a 5-minute
// challenge_ttl.
const DefaultMaxNonces = 100_000

// Options configure the Challenger.
type Options struct {
	Policy config.ChallengePolicy
	// StateDir holds the key ring (challenge-keys.json, mode 0600).
	// Required: without it a restart would invalidate every pass.
	StateDir string
	// Recent gives each client's recent WAF anomaly score, a signal of the
	// suspicion score. Nil: the signal is absent.
	Recent *signals.Recent
	// MaxNonces bounds the used-nonce set; 0 means DefaultMaxNonces.
	// When it is full, solutions are refused with 503 and Retry-After
	// rather than the set growing.
	MaxNonces int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives key rotations and persistence failures; nil discards.
	Log *slog.Logger
	// Registerer receives the metrics; nil means a private registry.
	Registerer prometheus.Registerer
}

// Challenger holds what outlives a configuration reload: the key ring,
// the used nonces, the metrics. Routes get their stage from Stage.
type Challenger struct {
	pol     atomic.Pointer[config.ChallengePolicy]
	ring    *keyRing
	used    *nonceStore
	recent  *signals.Recent
	now     func() time.Time
	log     *slog.Logger
	metrics *Metrics
}

var _ http.Handler = (*Challenger)(nil)

// New opens (or creates) the key ring in o.StateDir and registers the
// metrics. Call it once per process.
func New(o Options) (*Challenger, error) {
	if err := checkPolicy(o.Policy); err != nil {
		return nil, fmt.Errorf("challenge: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.MaxNonces <= 0 {
		o.MaxNonces = DefaultMaxNonces
	}
	ring, err := openKeyRing(o.StateDir, o.Now(), o.Policy.KeyRotation.D(), o.Policy.KeyOverlap.D(), o.Log)
	if err != nil {
		return nil, fmt.Errorf("challenge: key ring: %w", err)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("challenge: metrics: %w", err)
	}
	c := &Challenger{ring: ring, used: newNonceStore(o.MaxNonces), recent: o.Recent, now: o.Now, log: o.Log, metrics: m}
	p := o.Policy
	c.pol.Store(&p)
	return c, nil
}

// Reconfigure switches to a new policy. Challenges and passes already out
// stay valid if their seal, expiry (and, for passes, IP prefix length)
// still check; a new difficulty applies to new challenges only.
func (c *Challenger) Reconfigure(p config.ChallengePolicy) error {
	if err := checkPolicy(p); err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	c.pol.Store(&p)
	return nil
}

func (c *Challenger) policy() config.ChallengePolicy { return *c.pol.Load() }

// checkPolicy refuses what would break the stage. The config package
// validates the same fields with file and line; this guards other callers.
func checkPolicy(p config.ChallengePolicy) error {
	switch {
	case p.Difficulty < 1 || p.Difficulty > 28:
		return fmt.Errorf("difficulty %d: expected 1 to 28", p.Difficulty)
	case p.PassTTL <= 0 || p.ChallengeTTL <= 0 || p.KeyRotation <= 0:
		return errors.New("pass_ttl, challenge_ttl and key_rotation must be positive")
	case p.KeyOverlap < 0 || p.KeyOverlap > p.KeyRotation:
		return fmt.Errorf("key_overlap %s: expected 0 to key_rotation", p.KeyOverlap)
	case p.IPv4Prefix < 8 || p.IPv4Prefix > 32 || p.IPv6Prefix < 32 || p.IPv6Prefix > 128:
		return fmt.Errorf("ip prefixes /%d, /%d: expected 8-32 and 32-128", p.IPv4Prefix, p.IPv6Prefix)
	}
	return nil
}

// Stage is the challenge stage of one route.
type Stage struct {
	c                   *Challenger
	route, tenant, mode string
	next                http.Handler
}

var _ http.Handler = (*Stage)(nil)

// Stage returns the stage of a route with challenge mode "suspicious" or
// "always". A route with "off" must not get a stage (the pipeline leaves
// it out); asking for one is a wiring bug and panics.
func (c *Challenger) Stage(routeID, tenant, mode string) *Stage {
	if mode != ModeSuspicious && mode != ModeAlways {
		panic(fmt.Sprintf("challenge: route %s: no stage for mode %q", routeID, mode))
	}
	return &Stage{c: c, route: routeID, tenant: tenant, mode: mode}
}

// Wrap returns the stage in front of next.
func (s *Stage) Wrap(next http.Handler) http.Handler {
	c := *s
	c.next = next
	return &c
}

// ServeHTTP lets through allowlisted clients, clients the route does not
// find suspicious and clients with a valid pass; every other client gets
// the challenge (a JSON 403 if it wants JSON). Solutions posted to
// SolutionPath are handled here too, never challenged. The pass cookies
// are removed before the request goes on: they are the gateway's, not the
// backend's.
func (s *Stage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == SolutionPath {
		s.c.solve(w, r, s.route)
		return
	}
	st := request.From(r.Context())
	if st.Allowlisted {
		s.next.ServeHTTP(w, withoutPassCookies(r))
		return
	}
	why := "challenge: always"
	if s.mode == ModeSuspicious {
		p := s.c.policy()
		n, reasons := score(r, st, s.c.recent)
		if n < p.SuspiciousThreshold {
			s.next.ServeHTTP(w, withoutPassCookies(r))
			return
		}
		why = fmt.Sprintf("suspicion score %d >= %d (%s)", n, p.SuspiciousThreshold, strings.Join(reasons, ", "))
	}
	if err := s.c.checkPass(r, s.tenant, st.ClientIP); err != nil {
		s.c.challenge(w, r, target{route: s.route, tenant: s.tenant, ret: returnPath(r)}, request.Verdict{
			Layer: request.LayerBot, Action: request.ActionChallenge, Status: http.StatusForbidden, Mode: s.mode,
			Message: "This site checks that visitors are browsers. Open it in a browser with JavaScript enabled.",
			Cause:   why + "; pass: " + err.Error(),
		})
		return
	}
	s.c.metrics.passes.WithLabelValues(s.route).Inc()
	s.next.ServeHTTP(w, withoutPassCookies(r))
}

// withoutPassCookies returns r without the gateway's pass cookies in its
// Cookie headers (r itself when it has none).
func withoutPassCookies(r *http.Request) *http.Request {
	if !HasPassCookies(r.Header) {
		return r
	}
	r2 := r.Clone(r.Context())
	StripPassCookies(r2.Header)
	return r2
}

// HasPassCookies reports whether h carries a pass cookie.
func HasPassCookies(h http.Header) bool {
	for _, l := range h.Values("Cookie") {
		if strings.Contains(l, CookiePrefix) {
			return true
		}
	}
	return false
}

// StripPassCookies removes the gateway's pass cookies from h's Cookie
// headers. The cookies are the gateway's, not a backend's: the proxy
// strips them on every route, since a browser sends them to every path of
// the host, including routes (and tenants) without a challenge.
func StripPassCookies(h http.Header) {
	if !HasPassCookies(h) {
		return
	}
	lines := h.Values("Cookie")
	h.Del("Cookie")
	for _, l := range lines {
		var kept []string
		for _, part := range strings.Split(l, ";") {
			if part = strings.TrimSpace(part); part != "" && !strings.HasPrefix(part, CookiePrefix) {
				kept = append(kept, part)
			}
		}
		if len(kept) > 0 {
			h.Add("Cookie", strings.Join(kept, "; "))
		}
	}
}
