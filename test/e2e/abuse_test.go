package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/browsertest"

	"github.com/chromedp/chromedp"

	"github.com/bulwark-sec/bulwark/internal/ratelimit/redistest"
)

// The abuse controls end to end (issue #4): rate limiting with the memory
// and the Redis store, IP reputation (allow and deny lists, list files,
// bans), the bot challenge solved by a real headless Chromium. Real
// gateway, real backends, real TLS clients, loopback only. Helpers are in
// abuse_helpers_test.go.
//
// Where a decision depends on time (GCRA budgets, bans), the gateway runs
// on a frozen clock (gateway.Options.Now) that only the test moves, so no
// outcome depends on how fast the machine sends requests. The shared-Redis
// test keeps the real clock on purpose, to exercise the production path
// (the Redis script's own TIME); its rate of 1/m refills one request a
// minute, far beyond the test's few seconds.

// abuseSQLi is a request the CRS blocks at paranoia level 1 (942100).
var abuseSQLi = "/?id=" + url.QueryEscape("1' OR '1'='1")

// abuseBrowser is what a browser sends on a page load: the three headers
// the suspicion score looks at (internal/challenge/score.go).
func abuseBrowser() http.Header {
	return http.Header{
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
		"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		"Accept-Language": {"en-US,en;q=0.5"},
	}
}

// abuseBare is a request with none of those headers: Go's transport sends
// no User-Agent when the header is present and empty.
func abuseBare() http.Header { return http.Header{"User-Agent": {""}} }

func TestAbuseRateLimit(t *testing.T) {
	be := startAbuseBackend(t, "shop")
	clock := newWAFClock()
	g := startAbuseGateway(t, abuseSetup{clock: clock, tenants: map[string]string{
		"shop": abuseTenant("shop",
			abuseRoute{name: "web", host: "shop.test", backend: be.url(), more: "    ratelimit: {rate: \"10/s\", burst: 5}\n"},
			abuseRoute{name: "api", host: "shop.test", paths: `["/api"]`, backend: be.url(), more: "    ratelimit: {rate: \"10/s\", burst: 3}\n"},
		),
	}})
	c := abuseClient(t, g, "", clock)

	// The quota is the burst, the window the time an empty budget takes
	// to fill (5 × 100ms, rounded up to 1s); the route keeps the
	// platform's default concurrency limit of 256.
	const webPolicy = `"default";q=5;w=1, "concurrency";q=256;qu="concurrent-requests"`
	const apiPolicy = `"default";q=3;w=1, "concurrency";q=256;qu="concurrent-requests"`

	t.Run("burst passes with the RateLimit fields", func(t *testing.T) {
		for i := 1; i <= 5; i++ {
			r := wafDo(t, g, c, "GET", "https://shop.test/page/"+strconv.Itoa(i), nil, "")
			if r.status != http.StatusOK || !be.reached(r.id) {
				t.Fatalf("request %d of the burst: status %d (reached the backend: %v), want 200; body %q", i, r.status, be.reached(r.id), r.body)
			}
			wantLimit := fmt.Sprintf(`"default";r=%d;t=1`, 5-i)
			if p, l := r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"); p != webPolicy || l != wantLimit {
				t.Errorf("request %d: RateLimit-Policy %q, RateLimit %q; want %q, %q", i, p, l, webPolicy, wantLimit)
			}
			if ra := r.header.Get("Retry-After"); ra != "" {
				t.Errorf("request %d: Retry-After %q on an admitted request", i, ra)
			}
			abuseNoEvents(t, "admitted request", r)
		}
	})

	t.Run("sixth request gets 429 from the renderer", func(t *testing.T) {
		r := wafDo(t, g, c, "GET", "https://shop.test/page/6", nil, "")
		abuseHTMLDenial(t, r, http.StatusTooManyRequests, "burst", "10/s", "shop/web")
		if be.reached(r.id) {
			t.Error("the throttled request reached the backend")
		}
		ra, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || ra < 1 {
			t.Errorf("Retry-After %q, want whole seconds >= 1", r.header.Get("Retry-After"))
		}
		if p, l := r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"); p != webPolicy || l != `"default";r=0;t=1` {
			t.Errorf("RateLimit-Policy %q, RateLimit %q; want %q, %q", p, l, webPolicy, `"default";r=0;t=1`)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store from the renderer", cc)
		}
		e := abuseOneEvent(t, r, "ratelimit", "throttle")
		abuseWantFields(t, e, map[string]any{"type": "security", "route": "shop/web", "tenant": "shop", "host": "shop.test",
			"src_ip": "127.0.0.1", "uri": "/page/6", "request_id": r.id, "status": float64(429), "mode": "block"})
		if reason, _ := e["reason"].(string); !strings.Contains(reason, "shop/web") {
			t.Errorf("event reason %q does not name the route", reason)
		}
	})

	t.Run("429 is JSON with request_id for a JSON client", func(t *testing.T) {
		r := wafDo(t, g, c, "GET", "https://shop.test/page/json", http.Header{"Accept": {"application/json"}}, "")
		abuseJSONDenial(t, r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") == "" || r.header.Get("RateLimit") == "" {
			t.Errorf("JSON 429 without Retry-After or RateLimit: %v", r.header)
		}
		abuseOneEvent(t, r, "ratelimit", "throttle")
	})

	t.Run("second route has its own budget", func(t *testing.T) {
		for i := 1; i <= 3; i++ {
			r := wafDo(t, g, c, "GET", "https://shop.test/api/items", nil, "")
			if r.status != http.StatusOK {
				t.Fatalf("api request %d: status %d, want 200 (its budget is not the exhausted web route's); body %q", i, r.status, r.body)
			}
			if p := r.header.Get("RateLimit-Policy"); p != apiPolicy {
				t.Errorf("api request %d: RateLimit-Policy %q, want %q", i, p, apiPolicy)
			}
		}
		r := wafDo(t, g, c, "GET", "https://shop.test/api/items", nil, "")
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("api request 4: status %d, want 429", r.status)
		}
		abuseWantFields(t, abuseOneEvent(t, r, "ratelimit", "throttle"), map[string]any{"route": "shop/api", "tenant": "shop"})
	})

	t.Run("Retry-After is honest", func(t *testing.T) {
		r := wafDo(t, g, c, "GET", "https://shop.test/page/7", nil, "")
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429 while the clock stands still", r.status)
		}
		ra, _ := strconv.Atoi(r.header.Get("Retry-After"))
		clock.Advance(time.Duration(ra) * time.Second)
		r = wafDo(t, g, c, "GET", "https://shop.test/page/8", nil, "")
		if r.status != http.StatusOK {
			t.Errorf("after Retry-After (%ds): status %d, want 200", ra, r.status)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		s := opsScrape(t, g)
		opsWantMetric(t, s, "bulwark_ratelimit_decisions_total", map[string]string{"route": "shop/web", "action": "throttle"}, 3)
		opsWantMetric(t, s, "bulwark_ratelimit_decisions_total", map[string]string{"route": "shop/web", "action": "allow"}, 6)
		opsWantMetric(t, s, "bulwark_ratelimit_decisions_total", map[string]string{"route": "shop/api", "action": "throttle"}, 1)
		opsWantMetric(t, s, "bulwark_ratelimit_decisions_total", map[string]string{"route": "shop/api", "action": "allow"}, 3)
		opsWantMetric(t, s, "bulwark_http_requests_total", map[string]string{"route": "shop/web", "code": "4xx"}, 3)
	})
}

func TestAbuseReputation(t *testing.T) {
	be := startAbuseBackend(t, "shop")
	// The route's budget is 2 requests (and one a minute after): anything
	// beyond needs the allowlist. /guarded blocks attacks at once.
	limit := "    ratelimit: {rate: \"1/m\", burst: 2}\n"
	g := startAbuseGateway(t, abuseSetup{
		extra: `reputation:
  allow: ["127.0.0.1/32"]
  deny: ["127.0.0.2/32"]
  deny_files: ["lists/deny.txt"]
waf:
  enforce_now: ["shop/guarded"]
`,
		files: map[string]string{"lists/deny.txt": "# refused by the security team (SEC-7)\n127.0.0.3/32\n\n192.0.2.0/24 # documentation range\n"},
		tenants: map[string]string{"shop": abuseTenant("shop",
			abuseRoute{name: "web", host: "shop.test", backend: be.url(), more: limit},
			abuseRoute{name: "guarded", host: "shop.test", paths: `["/guarded"]`, backend: be.url(), more: limit + "    waf: {mode: block}\n"},
		)},
	})
	allowed := abuseClient(t, g, "127.0.0.1", nil)

	t.Run("allowlisted client skips the rate limit", func(t *testing.T) {
		for i := 1; i <= 8; i++ {
			r := wafDo(t, g, allowed, "GET", "https://shop.test/page", nil, "")
			if r.status != http.StatusOK || !be.reached(r.id) {
				t.Fatalf("allowlisted request %d of 8 (burst 2): status %d, want 200; body %q", i, r.status, r.body)
			}
			if r.header.Get("RateLimit") != "" || r.header.Get("RateLimit-Policy") != "" {
				t.Errorf("allowlisted request %d carries RateLimit fields: %v", i, r.header)
			}
			abuseNoEvents(t, "allowlisted request", r)
		}
		if v := abuseMetric(t, g, "bulwark_ratelimit_decisions_total", map[string]string{"route": "shop/web", "action": "allow"}); v != 0 {
			t.Errorf("rate-limit decisions for the allowlisted client: %v, want none", v)
		}
		if v := abuseMetric(t, g, "bulwark_reputation_decisions_total", map[string]string{"route": "shop/web", "action": "allow", "source": "allowlist"}); v != 8 {
			t.Errorf("reputation allowlist decisions %v, want 8", v)
		}
	})

	t.Run("a client not on the allowlist is limited", func(t *testing.T) {
		// The contrast that shows the limit above was real.
		c := abuseClient(t, g, "127.0.0.4", nil)
		for i := 1; i <= 2; i++ {
			if r := wafDo(t, g, c, "GET", "https://shop.test/page", nil, ""); r.status != http.StatusOK {
				t.Fatalf("request %d: status %d, want 200", i, r.status)
			}
		}
		r := wafDo(t, g, c, "GET", "https://shop.test/page", nil, "")
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("third request of 127.0.0.4: status %d, want 429", r.status)
		}
		abuseWantFields(t, abuseOneEvent(t, r, "ratelimit", "throttle"), map[string]any{"src_ip": "127.0.0.4"})
	})

	t.Run("allowlisted client still meets the WAF (INV-1)", func(t *testing.T) {
		r := wafDo(t, g, allowed, "GET", "https://shop.test/guarded"+strings.TrimPrefix(abuseSQLi, "/"), nil, "")
		abuseHTMLDenial(t, r, http.StatusForbidden, "942")
		if be.reached(r.id) {
			t.Error("the attack of an allowlisted client reached the backend")
		}
		e := abuseOneEvent(t, r, "waf", "block")
		abuseWantFields(t, e, map[string]any{"route": "shop/guarded", "src_ip": "127.0.0.1", "mode": "block", "status": float64(403)})
		if !wafHasRule(e, "942") {
			t.Errorf("event rules %v, want a 942xxx rule", wafRuleIDs(e))
		}
	})

	denied := []struct{ name, src, list string }{
		{"deny list", "127.0.0.2", "reputation.deny"},
		{"deny list file", "127.0.0.3", "lists/deny.txt"},
	}
	for _, d := range denied {
		t.Run(d.name+" refuses "+d.src, func(t *testing.T) {
			c := abuseClient(t, g, d.src, nil)
			before := be.total()
			r := wafDo(t, g, c, "GET", "https://shop.test/page", abuseBrowser(), "")
			abuseHTMLDenial(t, r, http.StatusForbidden, d.list, d.src)
			if be.total() != before {
				t.Error("a denied client reached the backend")
			}
			e := abuseOneEvent(t, r, "reputation", "block")
			abuseWantFields(t, e, map[string]any{"src_ip": d.src, "route": "shop/web", "tenant": "shop", "status": float64(403)})
			if reason, _ := e["reason"].(string); !strings.Contains(reason, d.list) {
				t.Errorf("event reason %q does not name the list %s", reason, d.list)
			}
			jr := wafDo(t, g, c, "GET", "https://shop.test/page", http.Header{"Accept": {"application/json"}}, "")
			abuseJSONDenial(t, jr, http.StatusForbidden)
		})
	}
	t.Run("denylist metric", func(t *testing.T) {
		if v := abuseMetric(t, g, "bulwark_reputation_decisions_total", map[string]string{"route": "shop/web", "action": "block", "source": "denylist"}); v != 4 {
			t.Errorf("denylist blocks %v, want 4", v)
		}
	})
}

func TestAbuseSharedRedisBudget(t *testing.T) {
	rd := redistest.Start(t)
	be := startAbuseBackend(t, "shop")
	// The command timeout is raised from 50ms so that a slow moment of a
	// loaded test machine is not taken for an outage before the kill.
	setup := abuseSetup{
		ratelimit: "  store: redis",
		extra:     fmt.Sprintf("redis: {address: %q, timeout: 2s}\n", rd.Addr()),
		tenants: map[string]string{"shop": abuseTenant("shop",
			abuseRoute{name: "web", host: "shop.test", backend: be.url(), more: "    ratelimit: {rate: \"1/m\", burst: 10}\n"})},
	}
	ga, gb := startAbuseGateway(t, setup), startAbuseGateway(t, setup)
	ca, cb := abuseClient(t, ga, "", nil), abuseClient(t, gb, "", nil)
	type replica struct {
		name string
		g    *gw
		c    *http.Client
	}
	replicas := []replica{{"A", ga, ca}, {"B", gb, cb}}

	t.Run("one budget across both gateways", func(t *testing.T) {
		for i := 0; i < 10; i++ {
			rp := replicas[i%2]
			r := wafDo(t, rp.g, rp.c, "GET", "https://shop.test/page", nil, "")
			if r.status != http.StatusOK {
				t.Fatalf("request %d (gateway %s): status %d, want 200; body %q", i+1, rp.name, r.status, r.body)
			}
			// The remaining budget counts the other gateway's requests.
			if want := fmt.Sprintf(`"default";r=%d;`, 9-i); !strings.HasPrefix(r.header.Get("RateLimit"), want) {
				t.Errorf("request %d (gateway %s): RateLimit %q, want %s… (a budget shared with the other gateway)", i+1, rp.name, r.header.Get("RateLimit"), want)
			}
		}
		for _, rp := range replicas {
			r := wafDo(t, rp.g, rp.c, "GET", "https://shop.test/page", nil, "")
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("request 11+ on gateway %s: status %d, want 429 (the shared burst of 10 is spent)", rp.name, r.status)
			}
			ra, err := strconv.Atoi(r.header.Get("Retry-After"))
			if err != nil || ra < 1 || ra > 60 {
				t.Errorf("gateway %s: Retry-After %q, want 1 to 60 seconds at 1/m", rp.name, r.header.Get("Retry-After"))
			}
			abuseOneEvent(t, r, "ratelimit", "throttle")
		}
		for _, rp := range replicas {
			s := opsScrape(t, rp.g)
			opsWantMetric(t, s, "bulwark_ratelimit_redis_errors_total", map[string]string{}, 0)
			opsWantMetric(t, s, "bulwark_ratelimit_fallback", map[string]string{}, 0)
		}
	})
	if t.Failed() {
		return
	}

	rd.Kill()

	t.Run("Redis gone: still limited, never unlimited", func(t *testing.T) {
		for _, rp := range replicas {
			for i := 1; i <= 12; i++ {
				r := wafDo(t, rp.g, rp.c, "GET", "https://shop.test/page", nil, "")
				if r.status != http.StatusTooManyRequests {
					t.Fatalf("gateway %s, request %d after Redis died: status %d, want 429 (the fallback starts from the spent shared budget)", rp.name, i, r.status)
				}
			}
		}
	})

	t.Run("Redis gone: ratelimit error event and fallback metrics", func(t *testing.T) {
		for _, rp := range replicas {
			e := rp.g.awaitEvent("ratelimit", func(e map[string]any) bool { return e["level"] == "error" })
			if msg, _ := e["message"].(string); !strings.Contains(msg, "Redis unreachable") {
				t.Errorf("gateway %s: ratelimit event message %q", rp.name, msg)
			}
			if d, _ := e["detail"].(map[string]any); d == nil || d["error"] == nil || d["error"] == "" {
				t.Errorf("gateway %s: ratelimit event without the error: %v", rp.name, e)
			}
			if n := len(rp.g.events.events("ratelimit")); n != 1 {
				t.Errorf("gateway %s: %d ratelimit events for one outage, want 1: %v", rp.name, n, rp.g.events.events("ratelimit"))
			}
			s := opsScrape(t, rp.g)
			opsWantMetric(t, s, "bulwark_ratelimit_fallback", map[string]string{}, 1)
			if v, _ := opsMetric(s, "bulwark_ratelimit_redis_errors_total", map[string]string{}); v < 1 {
				t.Errorf("gateway %s: bulwark_ratelimit_redis_errors_total %v, want >= 1", rp.name, v)
			}
		}
	})

	t.Run("Redis back: shared again", func(t *testing.T) {
		rd.Restart()
		for _, rp := range replicas {
			// The prober finds Redis and says so; awaited, not slept on.
			wafAwaitCount(t, rp.g, "ratelimit", 1, func(e map[string]any) bool { return e["level"] == "info" })
		}
		// A Redis restarted without persistence has forgotten the budget
		// (documented): the next requests are admitted and shared again.
		r := wafDo(t, ga, ca, "GET", "https://shop.test/page", nil, "")
		r2 := wafDo(t, gb, cb, "GET", "https://shop.test/page", nil, "")
		if r.status != http.StatusOK || r2.status != http.StatusOK {
			t.Fatalf("after the restart: statuses %d, %d; want 200, 200", r.status, r2.status)
		}
		if got := r2.header.Get("RateLimit"); !strings.HasPrefix(got, `"default";r=8;`) {
			t.Errorf("gateway B after A's request on the restarted Redis: RateLimit %q, want r=8", got)
		}
	})
}

// abusePageBackend serves HTML naming the path in #backend, and records
// every path and Cookie header it receives.
func startAbusePageBackend(t *testing.T) *abuseBackend {
	t.Helper()
	b := &abuseBackend{ids: map[string]bool{}}
	b.backend = startBackend(t, "pages", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.ids[r.Header.Get("X-Request-ID")] = true
		b.paths = append(b.paths, r.URL.Path)
		b.cookies = append(b.cookies, strings.Join(r.Header.Values("Cookie"), "; "))
		b.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>shop</title><p id="backend">backend says hello from %s</p>`, r.URL.Path)
	}))
	return b
}

func TestAbuseChallengeBrowser(t *testing.T) {
	be := startAbusePageBackend(t)
	g := startAbuseGateway(t, abuseSetup{
		extra: "challenge: {difficulty: 8}\n",
		tenants: map[string]string{"shop": abuseTenant("shop",
			abuseRoute{name: "web", host: "shop.test", backend: be.url()},
			abuseRoute{name: "protected", host: "shop.test", paths: `["/protected"]`, backend: be.url(), more: "    challenge: always\n"},
		)},
	})
	c := abuseClient(t, g, "", nil)

	t.Run("a client without JavaScript gets the challenge page", func(t *testing.T) {
		for _, h := range []http.Header{nil, abuseBrowser()} {
			r := wafDo(t, g, c, "GET", "https://shop.test/protected/page", h, "")
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403; body %q", r.status, r.body)
			}
			if !strings.Contains(r.body, `name="token"`) || !strings.Contains(r.body, `data-difficulty="8"`) || !strings.Contains(r.body, r.id) {
				t.Errorf("not the challenge page (token, difficulty 8, request ID): %q", r.body)
			}
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("challenge page CSP %q", csp)
			}
			e := abuseOneEvent(t, r, "bot", "challenge")
			abuseWantFields(t, e, map[string]any{"route": "shop/protected", "tenant": "shop", "mode": "always", "status": float64(403)})
		}
		r := wafDo(t, g, c, "GET", "https://shop.test/protected/page", http.Header{"Accept": {"application/json"}}, "")
		abuseJSONDenial(t, r, http.StatusForbidden)
		abuseOneEvent(t, r, "bot", "challenge")
		if n := be.hits("/protected/page"); n != 0 {
			t.Errorf("the backend served /protected/page %d times to clients that solved nothing", n)
		}
		// The challenge is the route's, not the host's.
		if r := wafDo(t, g, c, "GET", "https://shop.test/open", nil, ""); r.status != http.StatusOK {
			t.Errorf("/open on the unchallenged route: status %d, want 200", r.status)
		}
	})

	t.Run("Chromium solves it and reaches the backend", func(t *testing.T) {
		port := httpsPortOf(t, g)
		spki := abuseServedSPKI(t, g, "shop.test")
		// shop.test is the gateway on loopback; nothing else resolves. Only
		// the certificate the gateway serves for shop.test is trusted.
		ctx := browsertest.Context(t, "MAP shop.test 127.0.0.1, MAP * ~NOTFOUND", spki, 90*time.Second)

		target := "https://shop.test:" + port + "/protected/page?q=1"
		began := time.Now()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(target),
			chromedp.WaitVisible(chromedp.ID("backend")),
		); err != nil {
			t.Fatalf("browser: %v; backend saw %v", err, be.seen())
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("backend")))
		if err != nil {
			t.Fatal(err)
		}
		location, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Chromium solved the challenge (difficulty 8) and reached the backend in %s", time.Since(began).Round(time.Millisecond))
		if text != "backend says hello from /protected/page" || location != target {
			t.Errorf("page text %q at %q, want the backend's page at %s", text, location, target)
		}
		if n := be.hits("/protected/page"); n != 1 {
			t.Errorf("backend served /protected/page %d times, want once (after the solution)", n)
		}
		// The challenge stage keeps its cookie from the route's backend.
		// (Chromium's /favicon.ico goes to the unchallenged route and does
		// carry it there: TestAbuseChallengePassCookie.)
		for _, ck := range be.cookiesUnder("/protected") {
			if strings.Contains(ck, "__Host-bulwark_pass_") {
				t.Errorf("the pass cookie reached the challenged route's backend: %q", ck)
			}
		}
		s := opsScrape(t, g)
		opsWantMetric(t, s, "bulwark_challenge_solved_total", map[string]string{"route": "shop/protected"}, 1)
		opsWantMetric(t, s, "bulwark_challenge_passes_total", map[string]string{"route": "shop/protected"}, 1)

		// A second page of the route goes straight through on the pass.
		if err := chromedp.Do(ctx,
			chromedp.Navigate("https://shop.test:"+port+"/protected/other"),
			chromedp.WaitVisible(chromedp.ID("backend")),
		); err != nil {
			t.Fatalf("second page: %v", err)
		}
		if text, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("backend"))); err != nil || text != "backend says hello from /protected/other" {
			t.Errorf("second page: %q, %v", text, err)
		}
		t.Logf("Chromium part: %s", time.Since(began).Round(time.Millisecond))
	})

	t.Run("the Go client still has no pass", func(t *testing.T) {
		before := be.hits("/protected/page")
		r := wafDo(t, g, c, "GET", "https://shop.test/protected/page", nil, "")
		if r.status != http.StatusForbidden || be.hits("/protected/page") != before {
			t.Errorf("status %d, backend hits %d → %d; want 403 and no hit", r.status, before, be.hits("/protected/page"))
		}
	})
}

// httpsPortOf is the port of g's HTTPS listener.
func httpsPortOf(t *testing.T, g *gw) string {
	t.Helper()
	_, port, err := net.SplitHostPort(g.g.Addrs().HTTPS)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// abuseServedSPKI returns the base64 SHA-256 of the public key of the
// certificate g serves for host, verified against the development CA:
// what Chromium's --ignore-certificate-errors-spki-list takes.
func abuseServedSPKI(t *testing.T, g *gw, host string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", g.g.Addrs().HTTPS, &tls.Config{ServerName: host, RootCAs: g.roots()})
	if err != nil {
		t.Fatalf("TLS dial for %s: %v", host, err)
	}
	defer conn.Close()
	return browsertest.SPKI(conn.ConnectionState().PeerCertificates[0])
}

func TestAbuseChallengeSuspicious(t *testing.T) {
	shop := startAbuseBackend(t, "shop")
	blog := startAbuseBackend(t, "blog")
	// Threshold 2 (score.go): each missing browser header weighs 1, a
	// recent WAF score 2.
	g := startAbuseGateway(t, abuseSetup{
		extra: "challenge: {difficulty: 8, suspicious_threshold: 2}\n",
		tenants: map[string]string{
			"shop": abuseTenant("shop", abuseRoute{name: "web", host: "shop.test", backend: shop.url(), more: "    challenge: suspicious\n"}),
			"blog": abuseTenant("blog", abuseRoute{name: "web", host: "blog.test", backend: blog.url(), more: "    waf: {mode: detect}\n"}),
		},
	})
	c := abuseClient(t, g, "127.0.0.1", nil)

	pass := func(t *testing.T, c *http.Client, h http.Header, what string) {
		t.Helper()
		r := wafDo(t, g, c, "GET", "https://shop.test/catalog", h, "")
		if r.status != http.StatusOK || !shop.reached(r.id) {
			t.Errorf("%s: status %d, want 200 from the backend; body %q", what, r.status, r.body)
		}
		abuseNoEvents(t, what, r)
	}
	challenged := func(t *testing.T, c *http.Client, h http.Header, what, score string) wafResult {
		t.Helper()
		r := wafDo(t, g, c, "GET", "https://shop.test/catalog", h, "")
		if r.status != http.StatusForbidden || shop.reached(r.id) {
			t.Fatalf("%s: status %d (reached the backend: %v), want the 403 challenge; body %q", what, r.status, shop.reached(r.id), r.body)
		}
		e := abuseOneEvent(t, r, "bot", "challenge")
		abuseWantFields(t, e, map[string]any{"route": "shop/web", "mode": "suspicious", "status": float64(403)})
		if reason, _ := e["reason"].(string); !strings.Contains(reason, score) {
			t.Errorf("%s: event reason %q, want %q", what, reason, score)
		}
		return r
	}

	t.Run("browser-like request passes", func(t *testing.T) {
		pass(t, c, abuseBrowser(), "browser headers (score 0)")
		h := abuseBrowser()
		h.Del("Accept-Language")
		pass(t, c, h, "no Accept-Language (score 1)")
	})
	t.Run("request without browser headers is challenged", func(t *testing.T) {
		r := challenged(t, c, abuseBare(), "no headers (score 3)", "suspicion score 3 >= 2")
		if !strings.Contains(r.body, `name="token"`) {
			t.Errorf("not the challenge page: %q", r.body)
		}
	})
	t.Run("JSON client is challenged in JSON", func(t *testing.T) {
		// Accept is present: the score is 2 (no Accept-Language, not a
		// browser User-Agent), still at the threshold.
		h := abuseBare()
		h.Set("Accept", "application/json")
		r := challenged(t, c, h, "Accept: application/json only (score 2)", "suspicion score 2 >= 2")
		abuseJSONDenial(t, r, http.StatusForbidden)
	})
	t.Run("recent WAF score makes a browser suspicious", func(t *testing.T) {
		a := wafDo(t, g, c, "GET", "https://blog.test"+abuseSQLi, abuseBrowser(), "")
		if a.status != http.StatusOK {
			t.Fatalf("attack on the detect route: status %d, want 200", a.status)
		}
		abuseOneEvent(t, a, "waf", "detected")
		// wafDo waited for the attack's access record: the WAF has noted
		// the score by then.
		challenged(t, c, abuseBrowser(), "browser headers after an attack (score 2)", "recent WAF score")
		// Another client is not tainted by it.
		pass(t, abuseClient(t, g, "127.0.0.5", nil), abuseBrowser(), "another client's browser")
	})
	t.Run("metrics", func(t *testing.T) {
		if v := abuseMetric(t, g, "bulwark_challenge_issued_total", map[string]string{"route": "shop/web"}); v != 2 {
			// The HTML challenges issue a puzzle; the JSON 403 does not.
			t.Errorf("bulwark_challenge_issued_total %v, want 2", v)
		}
	})
}

func TestAbuseBans(t *testing.T) {
	be := startAbuseBackend(t, "shop")
	clock := newWAFClock()
	g := startAbuseGateway(t, abuseSetup{
		clock: clock,
		extra: `reputation:
  bans: {threshold: 3, window: 1m, duration: 10m}
waf:
  enforce_now: ["shop/guarded"]
`,
		tenants: map[string]string{"shop": abuseTenant("shop",
			abuseRoute{name: "web", host: "shop.test", backend: be.url()},
			abuseRoute{name: "guarded", host: "shop.test", paths: `["/guarded"]`, backend: be.url(), more: "    waf: {mode: block}\n"},
		)},
	})
	c := abuseClient(t, g, "127.0.0.6", clock)
	get := func(t *testing.T, path string) wafResult {
		t.Helper()
		return wafDo(t, g, c, "GET", "https://shop.test"+path, abuseBrowser(), "")
	}
	want := func(t *testing.T, r wafResult, status int, what string) {
		t.Helper()
		if r.status != status {
			t.Fatalf("%s: status %d, want %d; body %q", what, r.status, status, r.body)
		}
	}

	t.Run("three 4xx responses ban the client", func(t *testing.T) {
		want(t, get(t, "/"), 200, "first visit")
		want(t, get(t, "/missing/a"), 404, "backend 404 #1")
		want(t, get(t, "/missing/b"), 404, "backend 404 #2")
		want(t, get(t, "/"), 200, "valid request after two 4xx (below the threshold)")
		w := get(t, "/guarded"+strings.TrimPrefix(abuseSQLi, "/"))
		want(t, w, 403, "WAF block (4xx #3)")
		abuseOneEvent(t, w, "waf", "block")

		r := get(t, "/")
		abuseHTMLDenial(t, r, http.StatusForbidden, "banned")
		if be.reached(r.id) {
			t.Error("the banned client's request reached the backend")
		}
		e := abuseOneEvent(t, r, "reputation", "block")
		abuseWantFields(t, e, map[string]any{"src_ip": "127.0.0.6", "route": "shop/web", "status": float64(403)})
		if reason, _ := e["reason"].(string); !strings.Contains(reason, "banned after 3") {
			t.Errorf("event reason %q, want the ban", reason)
		}
		if v := abuseMetric(t, g, "bulwark_reputation_decisions_total", map[string]string{"route": "shop/web", "action": "block", "source": "ban"}); v != 1 {
			t.Errorf("ban decisions %v, want 1", v)
		}
		// The ban is the client's, on every route.
		want(t, get(t, "/guarded/page"), 403, "banned client on the other route")
	})

	t.Run("other clients are not banned", func(t *testing.T) {
		o := abuseClient(t, g, "127.0.0.7", clock)
		if r := wafDo(t, g, o, "GET", "https://shop.test/", abuseBrowser(), ""); r.status != http.StatusOK {
			t.Errorf("another client: status %d, want 200", r.status)
		}
	})

	t.Run("the ban ends after its duration", func(t *testing.T) {
		clock.Advance(10*time.Minute - time.Second)
		want(t, get(t, "/"), 403, "one second before the ban ends")
		clock.Advance(time.Second)
		want(t, get(t, "/"), 200, "when the ban ends")
	})
}

// TestAbuseChallengePassCookie: the pass cookie is the gateway's
// (internal/challenge: "they are the gateway's, not the backend's"), but
// it is set host-wide (__Host-, Path=/) and only the challenge stage of a
// challenged route removes it. Any other route of the host, another
// tenant's included when tenants share a host by path, receives it. A
// Go client does what the page's script does, with a cookie jar as a
// browser has.
func TestAbuseChallengePassCookie(t *testing.T) {
	shopBE := startAbuseBackend(t, "shop")
	blogBE := startAbuseBackend(t, "blog")
	g := startAbuseGateway(t, abuseSetup{
		extra: "challenge: {difficulty: 8}\n",
		registry: `tenants:
  shop:
    shared_hosts: ["mall.test"]
  blog:
    shared_hosts: ["mall.test"]`,
		tenants: map[string]string{
			"shop": abuseTenant("shop", abuseRoute{name: "store", host: "mall.test", paths: `["/shop"]`, backend: shopBE.url(), more: "    challenge: always\n"}),
			"blog": abuseTenant("blog", abuseRoute{name: "web", host: "mall.test", paths: `["/blog"]`, backend: blogBE.url()}),
		},
	})
	c := abuseClient(t, g, "", nil)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Jar = jar

	r := wafDo(t, g, c, "GET", "https://mall.test/shop/cart", abuseBrowser(), "")
	if r.status != http.StatusForbidden {
		t.Fatalf("first visit: status %d, want the challenge", r.status)
	}
	if resp := abuseSolve(t, c, "mall.test", r.body); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("solution: status %d, want 303", resp.StatusCode)
	}
	if r := wafDo(t, g, c, "GET", "https://mall.test/shop/cart", abuseBrowser(), ""); r.status != http.StatusOK {
		t.Fatalf("with the pass: status %d, want 200", r.status)
	}
	t.Run("the challenged route's backend never sees the pass", func(t *testing.T) {
		for _, ck := range shopBE.cookiesUnder("/shop") {
			if strings.Contains(ck, "__Host-bulwark_pass_") {
				t.Errorf("shop backend received %q", ck)
			}
		}
	})
	t.Run("pass cookie never reaches another tenant's backend on a shared host", func(t *testing.T) {
		// blog/web has no challenge stage; the proxy strips pass cookies
		// on every route, so tenant shop's never reaches blog's backend.
		if r := wafDo(t, g, c, "GET", "https://mall.test/blog/post", abuseBrowser(), ""); r.status != http.StatusOK {
			t.Fatalf("blog: status %d, want 200", r.status)
		}
		for _, ck := range blogBE.cookiesUnder("/blog") {
			if strings.Contains(ck, "__Host-bulwark_pass_shop") {
				t.Errorf("tenant blog's backend received tenant shop's pass cookie from the gateway: %q", ck)
			}
		}
	})
}
