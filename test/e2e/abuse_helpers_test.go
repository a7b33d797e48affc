package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file holds the helpers of the abuse-control tests (abuse_test.go):
// rate limiting, IP reputation and bans, the bot challenge. They are
// prefixed "abuse" to keep clear of other files. Requests go through
// wafDo (waf_helpers_test.go), which waits for a request's access record
// and returns its security events.

// abusePlatform is the platform.yaml of the abuse tests. It differs from
// basePlatform in one slot: keys inside the ratelimit section (indented by
// two spaces), since a test of the shared store needs ratelimit.store and
// the decoder refuses a second ratelimit:. The defaults are the bounds, as
// in basePlatform; the tests set their limits per route. The next slot is
// the tenant registry (abuseRegistry unless a test sets one), the last
// takes top-level YAML (reputation, challenge, redis, waf).
const abusePlatform = `
listeners:
  https: "127.0.0.1:0"
  http: "127.0.0.1:0"
  admin: "127.0.0.1:0"
tls:
  dev_ca: true
state_dir: %q
events:
  access: true
  sinks: [{type: stdout}]
ratelimit:
  defaults: {rate: "1000/s", burst: 2000, concurrent: 256}
%s
%s
%s`

// abuseRegistry is the tenant registry of the abuse tests unless a test
// sets its own.
const abuseRegistry = `tenants:
  shop:
    hosts: ["shop.test", "*.shop.test"]
    namespaces: ["shop"]
  blog:
    hosts: ["blog.test"]`

// abuseSetup is what one gateway of the abuse tests is made of.
type abuseSetup struct {
	ratelimit string            // keys of the ratelimit section, indented by two spaces
	extra     string            // top-level YAML
	registry  string            // the tenants: section; "" means abuseRegistry
	tenants   map[string]string // tenants/<name>.yaml
	files     map[string]string // other files of the configuration directory, by relative path
	clock     *wafClock         // nil: the real clock
}

// startAbuseGateway writes the configuration into fresh directories,
// starts a gateway on it and shuts it down when the test ends.
func startAbuseGateway(t *testing.T, s abuseSetup) *gw {
	t.Helper()
	dir := t.TempDir()
	if s.registry == "" {
		s.registry = abuseRegistry
	}
	writeFile(t, filepath.Join(dir, "platform.yaml"), fmt.Sprintf(abusePlatform, t.TempDir(), s.ratelimit, s.registry, s.extra))
	for name, body := range s.tenants {
		writeFile(t, filepath.Join(dir, "tenants", name+".yaml"), body)
	}
	for name, body := range s.files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), body)
	}
	var now func() time.Time
	if s.clock != nil {
		now = s.clock.Now
	}
	return startIn(t, dir, now)
}

// abuseClient is an HTTP/1.1 client that trusts g's development CA and
// sends every connection to g's HTTPS listener from the loopback address
// src ("" lets the kernel choose, which is 127.0.0.1). All of 127.0.0.0/8
// is loopback on Linux, so each test client can have an address of its
// own, as the reputation and rate-limit stages key by client address.
// With a clock, certificates are verified by the gateway's time.
func abuseClient(t *testing.T, g *gw, src string, clock *wafClock) *http.Client {
	t.Helper()
	addr := g.g.Addrs().HTTPS
	d := &net.Dialer{}
	if src != "" {
		ip := net.ParseIP(src)
		if ip == nil {
			t.Fatalf("abuseClient: bad source address %q", src)
		}
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	cfg := &tls.Config{RootCAs: g.roots()}
	if clock != nil {
		cfg.Time = clock.Now
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     cfg,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 4,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// abuseBackend is a backend that answers an echo, or 404 on paths under
// /missing, and records what reached it: request IDs, paths, Cookie
// headers.
type abuseBackend struct {
	*backend
	mu      sync.Mutex
	ids     map[string]bool
	paths   []string
	cookies []string
}

func startAbuseBackend(t *testing.T, name string) *abuseBackend {
	t.Helper()
	b := &abuseBackend{ids: map[string]bool{}}
	b.backend = startBackend(t, name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		b.mu.Lock()
		b.ids[r.Header.Get("X-Request-ID")] = true
		b.paths = append(b.paths, r.URL.Path)
		b.cookies = append(b.cookies, strings.Join(r.Header.Values("Cookie"), "; "))
		b.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/missing") {
			http.Error(w, "no such page", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echo{Backend: name, Method: r.Method, Path: r.URL.Path, Host: r.Host, Header: r.Header})
	}))
	return b
}

// reached reports whether request id reached the backend.
func (b *abuseBackend) reached(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ids[id]
}

// hits counts the requests for path that reached the backend.
func (b *abuseBackend) hits(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, p := range b.paths {
		if p == path {
			n++
		}
	}
	return n
}

// seen returns the paths that reached the backend, in order.
func (b *abuseBackend) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.paths...)
}

// total counts every request that reached the backend.
func (b *abuseBackend) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.paths)
}

// cookiesUnder returns the Cookie headers of the requests for paths
// under prefix (whole segments) that reached the backend.
func (b *abuseBackend) cookiesUnder(prefix string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for i, p := range b.paths {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			out = append(out, b.cookies[i])
		}
	}
	return out
}

// abuseRoute is one route of a tenant file.
type abuseRoute struct {
	name    string
	host    string
	paths   string // YAML flow list, "" for the default /
	backend string
	more    string // further keys of the route, each line indented by four spaces
}

// abuseTenant writes a tenant file with the given routes.
func abuseTenant(tenant string, routes ...abuseRoute) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tenant: %s\nroutes:\n", tenant)
	for _, r := range routes {
		fmt.Fprintf(&b, "  - name: %s\n    hosts: [%q]\n    backends: [{url: %q}]\n", r.name, r.host, r.backend)
		if r.paths != "" {
			fmt.Fprintf(&b, "    paths: %s\n", r.paths)
		}
		b.WriteString(r.more)
	}
	return b.String()
}

// abuseOneEvent returns the single security event of r, failing unless
// there is exactly one and it is of layer and action.
func abuseOneEvent(t *testing.T, r wafResult, layer, action string) map[string]any {
	t.Helper()
	if len(r.events) != 1 {
		t.Fatalf("want exactly one security event (%s %s) for request %s, got %d: %v", layer, action, r.id, len(r.events), r.events)
	}
	e := r.events[0]
	if e["layer"] != layer || e["action"] != action {
		t.Fatalf("security event layer %v action %v, want %s %s: %v", e["layer"], e["action"], layer, action, e)
	}
	return e
}

// abuseWantFields fails for every key of want whose value in e differs.
func abuseWantFields(t *testing.T, e map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if e[k] != v {
			t.Errorf("event %s = %v (%T), want %v; event %v", k, e[k], e[k], v, e)
		}
	}
}

// abuseNoEvents fails if r has security events.
func abuseNoEvents(t *testing.T, what string, r wafResult) {
	t.Helper()
	if len(r.events) != 0 {
		t.Errorf("%s: want no security event, got %v", what, r.events)
	}
}

// abuseJSONDenial decodes the renderer's JSON body and checks it against
// the status and the response's request ID.
func abuseJSONDenial(t *testing.T, r wafResult, status int) {
	t.Helper()
	var body struct {
		Status    int    `json:"status"`
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("status %d, body is not JSON: %v: %q", r.status, err, r.body)
	}
	if r.status != status || body.Status != status || body.RequestID != r.id || body.Error == "" {
		t.Errorf("status %d, body %+v; want %d with request_id %s and a message", r.status, body, status, r.id)
	}
}

// abuseHTMLDenial checks the renderer's HTML page: the status, the
// request ID, no internal detail.
func abuseHTMLDenial(t *testing.T, r wafResult, status int, secrets ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d; body %q", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want the renderer's HTML", ct)
	}
	if !strings.Contains(r.body, r.id) {
		t.Errorf("page does not show the request ID %s: %q", r.id, r.body)
	}
	for _, s := range secrets {
		if strings.Contains(r.body, s) {
			t.Errorf("page reveals %q: %q", s, r.body)
		}
	}
}

// abuseMetric scrapes g and returns the value of one series with exactly
// these labels (0 when absent).
func abuseMetric(t *testing.T, g *gw, name string, labels map[string]string) float64 {
	t.Helper()
	v, _ := opsMetric(opsScrape(t, g), name, labels)
	return v
}

var (
	abuseTokenRE      = regexp.MustCompile(`name="token" value="([^"]+)"`)
	abuseDifficultyRE = regexp.MustCompile(`data-difficulty="(\d+)"`)
)

// abuseSolve does what the challenge page's script does, in Go: it reads
// the token and difficulty from the page, finds a counter such that
// SHA-256(token || counter) starts with that many zero bits, and posts
// the form to the solution path with c. It returns the response.
func abuseSolve(t *testing.T, c *http.Client, host, page string) *http.Response {
	t.Helper()
	tm, dm := abuseTokenRE.FindStringSubmatch(page), abuseDifficultyRE.FindStringSubmatch(page)
	if tm == nil || dm == nil {
		t.Fatalf("not a challenge page: %q", page)
	}
	token := html.UnescapeString(tm[1])
	bits, _ := strconv.Atoi(dm[1])
	counter := 0
	for ; ; counter++ {
		sum := sha256.Sum256([]byte(token + strconv.Itoa(counter)))
		if 256-new(big.Int).SetBytes(sum[:]).BitLen() >= bits {
			break
		}
	}
	form := url.Values{"token": {token}, "counter": {strconv.Itoa(counter)}}
	req, err := http.NewRequest("POST", "https://"+host+"/.well-known/bulwark/challenge", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("posting the solution: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
