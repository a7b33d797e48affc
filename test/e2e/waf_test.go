package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The WAF stage end to end: real gateway, real backends, real TLS client.
// The INV-4 ledger is in waf_ledger_test.go, helpers in
// waf_helpers_test.go.
//
// Some subtests guard bugs these tests found: a body of exactly the limit
// taken as over it; partial inspection mistaking a rule's decision for the
// size limit, and refusing truncated JSON; redaction keeping the matched
// fragment of a password; exception paths decoded twice.

// wafAttack is a request the CRS blocks at paranoia level 1, with the rule
// family (ID prefix) that must name it.
type wafAttack struct {
	name   string
	target string // path and query
	header http.Header
	family string
}

var wafAttacks = []wafAttack{
	{"sql injection", "/?id=" + url.QueryEscape("1' OR '1'='1"), nil, "942"},
	{"xss", "/?q=" + url.QueryEscape("<script>alert(1)</script>"), nil, "941"},
	{"command injection", "/?cmd=" + url.QueryEscape(";cat /etc/passwd"), nil, "932"},
	{"path traversal", "/?file=" + url.QueryEscape("../../../../etc/passwd"), nil, "930"},
	{"scanner user agent", "/", http.Header{"User-Agent": {"sqlmap/1.7#stable (https://sqlmap.org)"}}, "913"},
}

// wafBrowser is what a browser sends on a page load.
func wafBrowser() http.Header {
	return http.Header{
		"User-Agent":                {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
		"Accept":                    {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
		"Accept-Language":           {"en-US,en;q=0.5"},
		"Accept-Encoding":           {"gzip, deflate, br"},
		"Referer":                   {"https://shop.test/catalog?page=1"},
		"Cookie":                    {"session=3f9a1c0e7b2d4a56; theme=dark; consent=yes"},
		"Upgrade-Insecure-Requests": {"1"},
		"Sec-Fetch-Mode":            {"navigate"},
		"Sec-Fetch-Site":            {"same-origin"},
	}
}

// wafOneEvent returns the single security event of r, failing if there
// is not exactly one.
func wafOneEvent(t *testing.T, r wafResult) map[string]any {
	t.Helper()
	if len(r.events) != 1 {
		t.Fatalf("want exactly one security event for request %s, got %d:%s", r.id, len(r.events), wafDescribe(r.events))
	}
	return r.events[0]
}

// wafWantEvent checks the fields every WAF event of these tests shares.
func wafWantEvent(t *testing.T, e map[string]any, action, mode, route, host string, status int) {
	t.Helper()
	want := map[string]any{"type": "security", "layer": "waf", "action": action, "mode": mode, "route": route,
		"tenant": strings.Split(route, "/")[0], "host": host, "src_ip": "127.0.0.1", "ruleset": "enforced", "status": float64(status)}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("event %s = %v, want %v (event %v)", k, e[k], v, e)
		}
	}
	if c, ok := e["candidate"]; ok && c != false {
		t.Errorf("event candidate = %v on the enforced rule set", c)
	}
}

// wafNoVerdict fails if r has a block or detected event.
func wafNoVerdict(t *testing.T, what string, r wafResult) {
	t.Helper()
	if v := append(r.find("block", ""), r.find("detected", "")...); len(v) > 0 {
		t.Errorf("%s: want no block or detected event, got%s", what, wafDescribe(v))
	}
}

func TestWAFAttacksBlockAndDetect(t *testing.T) {
	shopBE := startWAFBackend(t, "shop")
	blogBE := startWAFBackend(t, "blog")
	env := newWAFEnv(t, `  enforce_now: ["shop/web"]`, map[string]string{
		"shop": wafRoute("shop", "web", "shop.test", "{mode: block}", shopBE.url()),
		"blog": wafRoute("blog", "web", "blog.test", "{mode: detect}", blogBE.url()),
	})
	g := env.start(t)
	c := env.client(t, g)

	for _, a := range wafAttacks {
		t.Run("block/"+a.name, func(t *testing.T) {
			r := wafDo(t, g, c, "GET", "https://shop.test"+a.target, a.header, "")
			if r.status != http.StatusForbidden {
				t.Errorf("status %d, want 403; body %q", r.status, r.body)
			}
			if _, reached := shopBE.received(r.id); reached {
				t.Errorf("the backend received the blocked request")
			}
			// The renderer's page: the request ID, nothing about rules.
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want the renderer's HTML", ct)
			}
			if !strings.Contains(r.body, r.id) {
				t.Errorf("body does not show the request ID %s: %q", r.id, r.body)
			}
			e := wafOneEvent(t, r)
			wafWantEvent(t, e, "block", "block", "shop/web", "shop.test", http.StatusForbidden)
			if e["uri"] != a.target || e["method"] != "GET" || e["request_id"] != r.id {
				t.Errorf("event method %v uri %v request_id %v, want GET %s %s", e["method"], e["uri"], e["request_id"], a.target, r.id)
			}
			if !wafHasRule(e, a.family) {
				t.Errorf("event rules %v, want a %sxxx rule", wafRuleIDs(e), a.family)
			}
			for _, id := range wafRuleIDs(e) {
				if strings.Contains(r.body, id) {
					t.Errorf("the client's page names rule %s: %q", id, r.body)
				}
			}
		})
		t.Run("detect/"+a.name, func(t *testing.T) {
			r := wafDo(t, g, c, "GET", "https://blog.test"+a.target, a.header, "")
			if r.status != http.StatusOK {
				t.Fatalf("status %d, want 200 from the backend; body %q", r.status, r.body)
			}
			if got := decodeEcho(t, r.body); got.Backend != "blog" {
				t.Errorf("answer from %q, want the blog backend", got.Backend)
			}
			if _, reached := blogBE.received(r.id); !reached {
				t.Errorf("the backend did not receive the request")
			}
			e := wafOneEvent(t, r)
			wafWantEvent(t, e, "detected", "detect", "blog/web", "blog.test", http.StatusOK)
			if !wafHasRule(e, a.family) {
				t.Errorf("event rules %v, want a %sxxx rule", wafRuleIDs(e), a.family)
			}
		})
	}

	t.Run("block answers JSON to a JSON client", func(t *testing.T) {
		h := http.Header{"Accept": {"application/json"}}
		r := wafDo(t, g, c, "GET", "https://shop.test"+wafAttacks[0].target, h, "")
		var body struct {
			Status    int    `json:"status"`
			Error     string `json:"error"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("status %d, body not JSON: %v: %q", r.status, err, r.body)
		}
		if r.status != 403 || body.Status != 403 || body.RequestID != r.id || body.Error == "" {
			t.Errorf("status %d, body %+v; want 403 with request ID %s", r.status, body, r.id)
		}
		if strings.Contains(r.body, "942") || strings.Contains(r.body, "rule") {
			t.Errorf("JSON denial mentions rules: %q", r.body)
		}
	})

	benign := []struct {
		name, method, target, ctype, body string
	}{
		{"browser GET", "GET", "/products/shoes?page=2&sort=price_asc&category=running&size=42", "", ""},
		{"form POST", "POST", "/contact", "application/x-www-form-urlencoded",
			"name=Alice+Smith&email=alice%40example.com&subject=Order+1234&message=Hello%2C+is+the+blue+model+in+stock%3F+Thanks%21"},
		{"JSON POST", "POST", "/api/cart", "application/json",
			`{"items":[{"sku":"SHOE-42-BLUE","qty":2},{"sku":"SOCK-M","qty":1}],"coupon":"SUMMER10","note":"Leave at the door, please."}`},
	}
	for _, host := range []string{"shop.test", "blog.test"} {
		be := map[string]*wafBackend{"shop.test": shopBE, "blog.test": blogBE}[host]
		for _, b := range benign {
			t.Run("benign/"+host+"/"+b.name, func(t *testing.T) {
				h := wafBrowser()
				if b.ctype != "" {
					h.Set("Content-Type", b.ctype)
					h.Set("Origin", "https://"+host)
				}
				r := wafDo(t, g, c, b.method, "https://"+host+b.target, h, b.body)
				if r.status != http.StatusOK {
					t.Errorf("status %d, want 200; body %q", r.status, r.body)
				}
				got, reached := be.received(r.id)
				if !reached || string(got) != b.body {
					t.Errorf("backend received %v %q, want the body %q", reached, got, b.body)
				}
				wafNoVerdict(t, "benign request", r)
			})
		}
	}
}

// wafExceptionsTenant is the shop route of TestWAFExceptions: 942100 off on
// /search, and off for ARGS:q only on /lookup. The path traversal rules
// are off everywhere, so that a request with dot segments in its path can
// only be blocked by 942100: whether the /search exception reached it.
const wafExceptionsTenant = `tenant: shop
routes:
  - name: web
    hosts: ["shop.test"]
    backends: [{url: %q}]
    waf:
      mode: block
      exceptions:
        - reason: "search terms with quotes are false positives (SEC-101)"
          paths: ["/search"]
          remove_rules: [942100]
          approved_by: {security: sec-alice, tenant: shop-owner}
        - reason: "the lookup box takes free text (SEC-102)"
          paths: ["/lookup"]
          exclude_targets: [{target: "ARGS:q", rules: [942100]}]
          approved_by: {security: sec-alice, tenant: shop-owner}
        - reason: "test: dot segments must not score on their own"
          remove_rules: [930100, 930110]
          approved_by: {security: sec-alice, tenant: shop-owner}
`

func TestWAFExceptions(t *testing.T) {
	// At paranoia 1 this payload matches 942100 (libinjection) and nothing
	// else: it scores 5, the default threshold, so 942100 alone blocks.
	payload := url.QueryEscape("1' OR '1'='1")
	be := startWAFBackend(t, "shop")
	env := newWAFEnv(t, `  enforce_now: ["shop/web"]`, map[string]string{"shop": fmt.Sprintf(wafExceptionsTenant, be.url())})
	g := env.start(t)
	c := env.client(t, g)

	cases := []struct {
		name, target string
		pass         bool
	}{
		{"removed rule on its path", "/search?q=" + payload, true},
		{"removed rule below its path", "/search/books?q=" + payload, true},
		{"other path", "/other?q=" + payload, false},
		{"path sharing the prefix but not the segment", "/searchx?q=" + payload, false},
		{"dot segments out of the path", "/search/../other?q=" + payload, false},
		{"encoded dot segments out of the path", "/search/%2e%2e/other?q=" + payload, false},
		{"encoded slash and dots out of the path", "/search/..%2fother?q=" + payload, false},
		// A backend decodes the path once and sees the segment "..%2fsearch"
		// under /other; the exception must not see /search in it.
		{"double-encoded dot segments into the path", "/other/..%252fsearch?q=" + payload, false},
		{"excluded target on its path", "/lookup?q=" + payload, true},
		{"other argument on the excluded target's path", "/lookup?id=" + payload, false},
		{"excluded target on another path", "/other?q=" + payload + "&x=1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := wafDo(t, g, c, "GET", "https://shop.test"+tc.target, nil, "")
			_, reached := be.received(r.id)
			if tc.pass {
				if r.status != http.StatusOK || !reached {
					t.Errorf("status %d, backend reached %v; want 200 from the backend%s", r.status, reached, wafDescribe(r.events))
				}
				for _, e := range r.events {
					if e["action"] == "block" || wafHasRule(e, "942100") {
						t.Errorf("want no block and no 942100:%s", wafDescribe(r.events))
					}
				}
				return
			}
			if r.status != http.StatusForbidden || reached {
				saw := ""
				if r.status == http.StatusOK {
					saw = fmt.Sprintf(" (the backend saw the path %q)", decodeEcho(t, r.body).Path)
				}
				t.Errorf("status %d, backend reached %v%s; want 403 before the backend%s", r.status, reached, saw, wafDescribe(r.events))
			}
			// 942100 (critical: 5) alone reaches the threshold: what the
			// exceptions remove is all that blocks.
			blocks := r.find("block", "enforced")
			if len(blocks) != 1 || !wafHasRule(blocks[0], "942100") || blocks[0]["anomaly_score"] != float64(5) {
				t.Errorf("want one block event naming 942100 with anomaly score 5, got%s", wafDescribe(r.events))
			}
			if len(blocks) == 1 && blocks[0]["uri"] != tc.target {
				t.Errorf("event uri %v, want %s as sent", blocks[0]["uri"], tc.target)
			}
		})
	}

	// An exception takes effect only with both approvals (RFC §3.4).
	refused := []struct {
		name, approval, field, why string
	}{
		{"unknown security approver", "{security: mallory, tenant: shop-owner}", "routes[0].waf.exceptions[0].approved_by.security", `"mallory" is not a security approver`},
		{"no security approval", "{tenant: shop-owner}", "routes[0].waf.exceptions[0].approved_by.security", "missing"},
		{"no tenant approval", "{security: sec-alice}", "routes[0].waf.exceptions[0].approved_by.tenant", "missing"},
		{"another tenant's approver", "{security: sec-alice, tenant: blog-owner}", "routes[0].waf.exceptions[0].approved_by.tenant", `"blog-owner" is not a tenant approver`},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			tenant := fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test"]
    backends: [{url: %q}]
    waf:
      mode: detect
      exceptions:
        - reason: "SEC-103"
          paths: ["/search"]
          remove_rules: [942100]
          approved_by: %s
`, be.url(), tc.approval)
			bad := newWAFEnv(t, "", map[string]string{"shop": tenant})
			g, err := bad.open(t)
			if err == nil {
				bad.stop(g)
				t.Fatalf("gateway.New accepted an exception approved by %s", tc.approval)
			}
			msg := err.Error()
			if !strings.Contains(msg, "tenants/shop.yaml") || !strings.Contains(msg, tc.field) || !strings.Contains(msg, tc.why) {
				t.Errorf("error %q, want the file, field %s and %q", msg, tc.field, tc.why)
			}
		})
	}
}

// wafStaticBackend answers every request with the same page, so that
// answers can be compared byte for byte across gateways.
func wafStaticBackend(t *testing.T, page string) *backend {
	return startBackend(t, "static", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, page)
	}))
}

func TestWAFCandidate(t *testing.T) {
	const page = "catalog page, version 1\n"
	be := wafStaticBackend(t, page)
	tenants := map[string]string{
		"shop": wafRoute("shop", "web", "shop.test", "{mode: block}", be.url()),
		"blog": wafRoute("blog", "web", "blog.test", "{mode: detect}", be.url()),
	}
	withEnv := newWAFEnv(t, "  enforce_now: [\"shop/web\"]\n  candidate: {paranoia: 4}", tenants)
	with := withEnv.start(t)
	withC := withEnv.client(t, with)
	withoutEnv := newWAFEnv(t, `  enforce_now: ["shop/web"]`, tenants)
	without := withoutEnv.start(t)
	withoutC := withoutEnv.client(t, without)

	// @@version is caught from paranoia level 2 on (942480), not at 1.
	plTwo := "/?q=" + url.QueryEscape("@@version")
	cases := []struct {
		name, url   string
		status      int
		enforced    string // action of the enforced rule set's event, "" for none
		enforcedFam string
	}{
		{"paranoia 2 payload on a blocking route", "https://shop.test" + plTwo, 200, "", ""},
		{"paranoia 2 payload on a detecting route", "https://blog.test" + plTwo, 200, "", ""},
		{"attack the enforced set blocks", "https://shop.test" + wafAttacks[0].target, 403, "block", "942"},
		{"attack on a detecting route", "https://blog.test" + wafAttacks[0].target, 200, "detected", "942"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := wafDo(t, without, withoutC, "GET", tc.url, nil, "")
			r := wafDo(t, with, withC, "GET", tc.url, nil, "")
			if ref.status != tc.status {
				t.Fatalf("without a candidate: status %d, want %d", ref.status, tc.status)
			}
			if r.status != ref.status || (r.status == 200 && (r.body != ref.body || r.body != page)) {
				t.Errorf("with a candidate: %d %q; without: %d %q: the candidate changed the response", r.status, r.body, ref.status, ref.body)
			}
			if r.header.Get("Content-Type") != ref.header.Get("Content-Type") {
				t.Errorf("Content-Type %q with a candidate, %q without", r.header.Get("Content-Type"), ref.header.Get("Content-Type"))
			}
			cand := r.find("detected", "candidate")
			if len(cand) != 1 {
				t.Fatalf("want one detected event of the candidate, got%s", wafDescribe(r.events))
			}
			if cand[0]["candidate"] != true || cand[0]["mode"] != "detect" || cand[0]["status"] != float64(tc.status) {
				t.Errorf("candidate event candidate=%v mode=%v status=%v, want true, detect, %d", cand[0]["candidate"], cand[0]["mode"], cand[0]["status"], tc.status)
			}
			if !wafHasRule(cand[0], "942") {
				t.Errorf("candidate event rules %v, want 942xxx", wafRuleIDs(cand[0]))
			}
			if tc.enforced == "" {
				if !wafHasRule(cand[0], "942480") {
					t.Errorf("candidate event rules %v, want 942480 (paranoia 2)", wafRuleIDs(cand[0]))
				}
				wafNoVerdict(t, "without a candidate", ref)
				for _, e := range r.find("", "enforced") {
					if e["action"] == "block" || e["action"] == "detected" {
						t.Errorf("the enforced rule set decided on a paranoia-2 payload:%s", wafDescribe(r.events))
					}
				}
				return
			}
			enf := r.find(tc.enforced, "enforced")
			if len(enf) != 1 || !wafHasRule(enf[0], tc.enforcedFam) || enf[0]["candidate"] == true {
				t.Errorf("want one %s event of the enforced set, got%s", tc.enforced, wafDescribe(r.events))
			}
		})
	}
}

func TestWAFConcurrentBlocks(t *testing.T) {
	const n = 200
	be := startWAFBackend(t, "shop")
	env := newWAFEnv(t, `  enforce_now: ["shop/web"]`, map[string]string{
		"shop": wafRoute("shop", "web", "shop.test", "{mode: block}", be.url()),
	})
	g := env.start(t)
	c := env.client(t, g)
	c.Timeout = opsGuard

	type result struct {
		uri, id string
		status  int
		err     error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			uri := fmt.Sprintf("/item?n=%d&id=%s", i, url.QueryEscape(fmt.Sprintf("%d' OR '1'='1", i)))
			results[i].uri = uri
			resp, err := c.Get("https://shop.test" + uri)
			if err != nil {
				results[i].err = err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results[i].status, results[i].id = resp.StatusCode, resp.Header.Get("X-Request-ID")
		}()
	}
	close(start)
	wg.Wait()

	uriOf := map[string]string{}
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("request %d: %v", i, r.err)
		case r.status != http.StatusForbidden:
			t.Errorf("request %d: status %d, want 403", i, r.status)
		case r.id == "" || uriOf[r.id] != "":
			t.Errorf("request %d: request ID %q missing or reused", i, r.id)
		default:
			uriOf[r.id] = r.uri
		}
		if _, reached := be.received(r.id); reached {
			t.Errorf("request %d reached the backend", i)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Every request's access record comes after its security events; once
	// all n are written, every block event is too.
	wafAwaitCount(t, g, "access", n, func(e map[string]any) bool { return uriOf[fmt.Sprint(e["request_id"])] != "" })
	perID := map[string]int{}
	blocks := 0
	for _, e := range g.events.events("security") {
		if e["action"] != "block" {
			continue
		}
		blocks++
		id := fmt.Sprint(e["request_id"])
		perID[id]++
		if uriOf[id] == "" {
			t.Errorf("block event for a request ID no response carried: %v", e)
			continue
		}
		if e["src_ip"] != "127.0.0.1" || e["host"] != "shop.test" || e["uri"] != uriOf[id] || e["status"] != float64(403) {
			t.Errorf("event src_ip %v host %v uri %v status %v; want 127.0.0.1 shop.test %s 403", e["src_ip"], e["host"], e["uri"], e["status"], uriOf[id])
		}
		ids := wafRuleIDs(e)
		rules, _ := e["rules"].([]any)
		if len(ids) == 0 || len(ids) != len(rules) || !wafHasRule(e, "942100") {
			t.Errorf("event rules %v: want rules, each with an ID, 942100 among them", e["rules"])
		}
		if ts, ok := e["time"].(string); !ok {
			t.Errorf("event without time: %v", e)
		} else if tm, err := time.Parse(time.RFC3339Nano, ts); err != nil || tm.IsZero() {
			t.Errorf("event time %q: %v", ts, err)
		}
	}
	if blocks != n || len(perID) != n {
		t.Errorf("%d block events for %d request IDs, want %d, one per request", blocks, len(perID), n)
	}
	for id, k := range perID {
		if k != 1 {
			t.Errorf("request %s has %d block events", id, k)
		}
	}
}

// wafPadded is an urlencoded form body of exactly size bytes: fields,
// then a harmless padding field.
func wafPadded(fields string, size int) string {
	if fields != "" {
		fields += "&"
	}
	fields += "pad="
	return fields + strings.Repeat("a", size-len(fields))
}

func TestWAFBodyLimit(t *testing.T) {
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	sqli := "q=" + url.QueryEscape("1' OR '1'='1")

	t.Run("reject", func(t *testing.T) {
		be := startWAFBackend(t, "shop")
		env := newWAFEnv(t, "  request_body_limit: 1KiB\n  enforce_now: [\"shop/web\"]", map[string]string{
			"shop": wafRoute("shop", "web", "shop.test", "{mode: block}", be.url()),
		})
		g := env.start(t)
		c := env.client(t, g)

		r := wafDo(t, g, c, "POST", "https://shop.test/upload", form, wafPadded("", 4096))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("4KiB body: status %d, want 413", r.status)
		}
		if _, reached := be.received(r.id); reached {
			t.Errorf("4KiB body reached the backend")
		}
		if b := r.find("block", "enforced"); len(b) != 1 || b[0]["status"] != float64(413) {
			t.Errorf("want one block event with status 413, got%s", wafDescribe(r.events))
		}

		small := wafPadded("", 512)
		r = wafDo(t, g, c, "POST", "https://shop.test/upload", form, small)
		if got, _ := be.received(r.id); r.status != http.StatusOK || string(got) != small {
			t.Errorf("512B body: status %d, backend got %d bytes; want 200 and the body", r.status, len(got))
		}
	})

	t.Run("reject: a body of exactly the limit is not over it", func(t *testing.T) {
		be := startWAFBackend(t, "shop")
		env := newWAFEnv(t, "  request_body_limit: 1KiB\n  enforce_now: [\"shop/web\"]", map[string]string{
			"shop": wafRoute("shop", "web", "shop.test", "{mode: block}", be.url()),
		})
		g := env.start(t)
		c := env.client(t, g)
		for _, size := range []int{1023, 1024} {
			body := wafPadded("", size)
			r := wafDo(t, g, c, "POST", "https://shop.test/upload", form, body)
			if got, _ := be.received(r.id); r.status != http.StatusOK || string(got) != body {
				t.Errorf("%d-byte body with request_body_limit 1KiB: status %d, backend got %d bytes; want 200 and the body%s", size, r.status, len(got), wafDescribe(r.events))
			}
		}
	})

	t.Run("partial", func(t *testing.T) {
		shopBE := startWAFBackend(t, "shop")
		blogBE := startWAFBackend(t, "blog")
		env := newWAFEnv(t, "  request_body_limit: 1KiB\n  request_body_over_limit: partial\n  enforce_now: [\"shop/web\"]", map[string]string{
			"shop": wafRoute("shop", "web", "shop.test", "{mode: block}", shopBE.url()),
			"blog": wafRoute("blog", "web", "blog.test", "{mode: detect}", blogBE.url()),
		})
		g := env.start(t)
		c := env.client(t, g)

		t.Run("benign form body passes intact", func(t *testing.T) {
			body := wafPadded("name=Alice&message=hello", 4096)
			r := wafDo(t, g, c, "POST", "https://shop.test/upload", form, body)
			got, reached := shopBE.received(r.id)
			if r.status != http.StatusOK || !reached || string(got) != body {
				t.Errorf("status %d, backend got %d bytes (reached %v); want 200 and the %d bytes sent%s", r.status, len(got), reached, len(body), wafDescribe(r.events))
			}
			wafNoVerdict(t, "benign body", r)
		})

		t.Run("attack in the first KiB is blocked as an attack", func(t *testing.T) {
			r := wafDo(t, g, c, "POST", "https://shop.test/upload", form, wafPadded(sqli, 4096))
			if _, reached := shopBE.received(r.id); reached {
				t.Errorf("the attack reached the backend")
			}
			if r.status != http.StatusForbidden {
				t.Errorf("status %d, want 403 (the rules blocked it; the size is allowed with partial)%s", r.status, wafDescribe(r.events))
			}
			if b := r.find("block", "enforced"); len(b) != 1 || !wafHasRule(b[0], "942100") {
				t.Errorf("want one block event naming 942100, got%s", wafDescribe(r.events))
			}
		})

		t.Run("detect mode never blocks an over-limit body", func(t *testing.T) {
			body := wafPadded(sqli, 4096)
			r := wafDo(t, g, c, "POST", "https://blog.test/upload", form, body)
			got, reached := blogBE.received(r.id)
			if r.status != http.StatusOK || string(got) != body {
				t.Errorf("detect route: status %d, backend got %d bytes (reached %v); want 200 and the body%s", r.status, len(got), reached, wafDescribe(r.events))
			}
			if d := r.find("detected", "enforced"); len(d) != 1 || !wafHasRule(d[0], "942100") {
				t.Errorf("want one detected event naming 942100, got%s", wafDescribe(r.events))
			}
		})

		t.Run("benign JSON body over the limit passes", func(t *testing.T) {
			body := `{"comment":"` + strings.Repeat("lorem ipsum ", 340) + `"}`
			h := http.Header{"Content-Type": {"application/json"}}
			r := wafDo(t, g, c, "POST", "https://shop.test/api", h, body)
			got, _ := shopBE.received(r.id)
			if r.status != http.StatusOK || string(got) != body {
				t.Errorf("%d-byte JSON body: status %d, backend got %d bytes; want 200 and the body%s", len(body), r.status, len(got), wafDescribe(r.events))
			}
		})
	})
}

// wafSQLErrorPage is what a PHP application with MySQL shows when a query
// breaks: the CRS data-leakage rules (951xxx) recognize it.
const wafSQLErrorPage = `<!doctype html>
<html><head><title>Error</title></head><body>
<h1>Database error</h1>
<p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''1'' at line 1</p>
</body></html>
`

const wafPlainPage = `<!doctype html>
<html><head><title>Shop</title></head><body><h1>Running shoes</h1><p>Blue, size 42, in stock.</p></body></html>
`

func wafPagesBackend(t *testing.T) *backend {
	return startBackend(t, "pages", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Backend", "pages")
		if r.URL.Path == "/error" {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, wafSQLErrorPage)
			return
		}
		_, _ = io.WriteString(w, wafPlainPage)
	}))
}

func TestWAFResponseBody(t *testing.T) {
	be := wafPagesBackend(t)
	tenants := map[string]string{
		"shop": wafRoute("shop", "web", "shop.test", "{mode: block}", be.url()),
		"blog": wafRoute("blog", "web", "blog.test", "{mode: detect}", be.url()),
	}
	on := newWAFEnv(t, "  response_body: true\n  enforce_now: [\"shop/web\"]", tenants)
	g := on.start(t)
	c := on.client(t, g)

	var blocked, detected wafResult
	t.Run("block route refuses a SQL error page", func(t *testing.T) {
		blocked = wafDo(t, g, c, "GET", "https://shop.test/error", nil, "")
		if blocked.status != http.StatusForbidden {
			t.Errorf("status %d, want 403", blocked.status)
		}
		if strings.Contains(blocked.body, "SQL syntax") || blocked.header.Get("X-Backend") != "" {
			t.Errorf("the backend's page or headers leaked through the denial: %v %q", blocked.header, blocked.body)
		}
		if !strings.Contains(blocked.body, blocked.id) {
			t.Errorf("the denial does not show the request ID: %q", blocked.body)
		}
		b := blocked.find("block", "enforced")
		if len(b) != 1 || b[0]["status"] != float64(403) || b[0]["mode"] != "block" {
			t.Errorf("want one block event with status 403, got%s", wafDescribe(blocked.events))
		}
	})
	t.Run("detect route passes the page unchanged", func(t *testing.T) {
		detected = wafDo(t, g, c, "GET", "https://blog.test/error", nil, "")
		if detected.status != http.StatusInternalServerError || detected.body != wafSQLErrorPage || detected.header.Get("X-Backend") != "pages" {
			t.Errorf("status %d, body %q; want the backend's 500 page unchanged", detected.status, detected.body)
		}
		d := detected.find("detected", "enforced")
		if len(d) != 1 || d[0]["status"] != float64(500) || d[0]["mode"] != "detect" {
			t.Errorf("want one detected event with status 500, got%s", wafDescribe(detected.events))
		}
	})
	t.Run("events name the outbound rule", func(t *testing.T) {
		for _, r := range []wafResult{blocked, detected} {
			if r.id == "" {
				t.Fatal("no result from the subtests above")
			}
			if len(r.events) != 1 || !wafHasRule(r.events[0], "951") {
				t.Errorf("request %s: want the event to name a 951xxx rule (SQL error leakage), got%s", r.id, wafDescribe(r.events))
			}
		}
	})
	t.Run("ordinary page passes the block route", func(t *testing.T) {
		r := wafDo(t, g, c, "GET", "https://shop.test/", nil, "")
		if r.status != http.StatusOK || r.body != wafPlainPage {
			t.Errorf("status %d body %q, want 200 and the page", r.status, r.body)
		}
		wafNoVerdict(t, "ordinary page", r)
	})

	t.Run("response bodies not inspected by default", func(t *testing.T) {
		off := newWAFEnv(t, `  enforce_now: ["shop/web"]`, tenants)
		g := off.start(t)
		c := off.client(t, g)
		r := wafDo(t, g, c, "GET", "https://shop.test/error", nil, "")
		if r.status != http.StatusInternalServerError || r.body != wafSQLErrorPage {
			t.Errorf("status %d body %q, want the backend's page", r.status, r.body)
		}
		wafNoVerdict(t, "response_body off", r)
	})
}

func TestWAFRedaction(t *testing.T) {
	be := startWAFBackend(t, "shop")
	env := newWAFEnv(t, "", map[string]string{
		"shop": wafRoute("shop", "web", "shop.test", "{mode: detect}", be.url()),
	})
	g := env.start(t)
	c := env.client(t, g)

	// wantRedacted checks the request's events: a rule matched (so the
	// check is not vacuous), "[redacted]" stands where the value was, and
	// no event line contains any of the forms of the secret.
	wantRedacted := func(t *testing.T, r wafResult, rule string, secrets ...string) {
		t.Helper()
		d := r.find("detected", "enforced")
		if len(d) != 1 || !wafHasRule(d[0], rule) {
			t.Fatalf("want a detected event naming %s, got%s", rule, wafDescribe(r.events))
		}
		raw, _ := json.Marshal(d[0])
		if !strings.Contains(string(raw), "[redacted]") {
			t.Errorf("no [redacted] in the event: %s", raw)
		}
		for _, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Errorf("the event contains the secret %q: %s", s, raw)
			}
		}
	}

	const secret = "' OR 1=1--"
	t.Run("password form field", func(t *testing.T) {
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		r := wafDo(t, g, c, "POST", "https://shop.test/login", h, "user=alice&password="+url.QueryEscape(secret))
		wantRedacted(t, r, "942100", secret, url.QueryEscape(secret))
	})
	t.Run("password JSON field", func(t *testing.T) {
		h := http.Header{"Content-Type": {"application/json"}}
		r := wafDo(t, g, c, "POST", "https://shop.test/api/login", h, `{"user":"alice","password":"`+secret+`"}`)
		wantRedacted(t, r, "942100", secret)
	})
	t.Run("cookie", func(t *testing.T) {
		h := http.Header{"Cookie": {"theme=dark; session=" + secret}}
		r := wafDo(t, g, c, "GET", "https://shop.test/account", h, "")
		wantRedacted(t, r, "942100", secret)
	})

	// CRS data reads "Matched Data: <what the pattern matched> found within
	// ARGS:password: <the value>". Replacing the value is not enough when
	// the pattern matched part of it.
	t.Run("no part of a password in the matched data", func(t *testing.T) {
		const pw = "x' UNION SELECT pass FROM users--"
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		r := wafDo(t, g, c, "POST", "https://shop.test/login", h, "user=alice&password="+url.QueryEscape(pw))
		d := r.find("detected", "enforced")
		if len(d) != 1 {
			t.Fatalf("want one detected event, got%s", wafDescribe(r.events))
		}
		raw, _ := json.Marshal(d[0]["rules"])
		for i := 0; i+8 <= len(pw); i++ {
			if run := pw[i : i+8]; strings.Contains(string(raw), run) {
				t.Errorf("the event's rules contain %q, 8 characters of the password: %s", run, raw)
				break
			}
		}
	})
}
