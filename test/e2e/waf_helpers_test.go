package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/fakeclock"

	"github.com/bulwark-sec/bulwark/internal/gateway"
)

// This file holds the helpers of the WAF tests (waf_test.go,
// waf_ledger_test.go). They are prefixed "waf" to keep clear of other
// files.

// wafPlatform is the platform.yaml of the WAF tests. It differs from
// basePlatform in what the WAF needs: a waf section (the %s slot takes
// keys indented by two spaces) with one security approver, and tenant
// approvers in the registry. The state directory is a slot so that a
// test can restart a gateway on the same ledger.
const wafPlatform = `
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
waf:
  approvers: ["sec-alice"]
%s
tenants:
  shop:
    hosts: ["shop.test", "*.shop.test"]
    namespaces: ["shop"]
    approvers: ["shop-owner"]
  blog:
    hosts: ["blog.test"]
    approvers: ["blog-owner"]
`

// wafClock is a clock a test advances by hand.
type wafClock = fakeclock.Clock

func newWAFClock() *wafClock { return fakeclock.New(time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)) }

// wafEnv is a configuration directory and a state directory that outlive
// any one gateway, so a test can rewrite the configuration, reload, and
// start a new gateway on the same ledger.
type wafEnv struct {
	t     *testing.T
	dir   string
	state string
	clock *wafClock // nil: the real clock

	mu    sync.Mutex
	stops map[*gw]func()
}

// newWAFEnv writes wafPlatform with the given waf keys and the tenant
// files into fresh directories.
func newWAFEnv(t *testing.T, wafKeys string, tenants map[string]string) *wafEnv {
	t.Helper()
	e := &wafEnv{t: t, dir: t.TempDir(), state: t.TempDir(), stops: map[*gw]func(){}}
	e.writePlatform(wafKeys)
	for name, body := range tenants {
		e.writeTenant(t, name, body)
	}
	return e
}

func (e *wafEnv) writePlatform(wafKeys string) {
	e.t.Helper()
	writeFile(e.t, filepath.Join(e.dir, "platform.yaml"), fmt.Sprintf(wafPlatform, e.state, wafKeys))
}

func (e *wafEnv) writeTenant(t *testing.T, name, body string) {
	t.Helper()
	writeFile(t, filepath.Join(e.dir, "tenants", name+".yaml"), body)
}

func (e *wafEnv) ledgerPath() string { return filepath.Join(e.state, "waf-ledger.json") }

// open runs gateway.New and, if it succeeds, Start. The gateway is shut
// down when the test that made e ends, or earlier with stop; never twice,
// since a second Shutdown would release its compiled rule sets twice. t is
// the (sub)test calling, which a failure stops.
func (e *wafEnv) open(t *testing.T) (*gw, error) {
	t.Helper()
	events := &lockedBuffer{}
	wrote := make(chan struct{}, 1)
	opts := gateway.Options{Dir: e.dir, Stdout: signalWriter{events, wrote}}
	if e.clock != nil {
		opts.Now = e.clock.Now
	}
	g, err := gateway.New(opts)
	if err != nil {
		return nil, err
	}
	if err := g.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	out := &gw{t: t, dir: e.dir, g: g, events: events, wrote: wrote}
	stop := sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	e.mu.Lock()
	e.stops[out] = stop
	e.mu.Unlock()
	e.t.Cleanup(stop)
	return out, nil
}

// stop shuts g down now (a restart on the same state directory).
func (e *wafEnv) stop(g *gw) {
	e.mu.Lock()
	stop := e.stops[g]
	e.mu.Unlock()
	stop()
}

// start is open that fails the test on an error.
func (e *wafEnv) start(t *testing.T) *gw {
	t.Helper()
	g, err := e.open(t)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	return g
}

// wafClient is g.client(false) with the TLS clock set to the test's
// clock: the development CA issues certificates by the gateway's clock, so
// a client verifying them by the real one would refuse certificates issued
// after the test advanced time.
func (e *wafEnv) client(t *testing.T, g *gw) *http.Client {
	addr := g.g.Addrs().HTTPS
	pem, err := os.ReadFile(g.g.DevCAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool}
	if e.clock != nil {
		cfg.Time = e.clock.Now
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig:     cfg,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 16,
	}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// wafResult is one exchange through the gateway: the response, its body,
// the request ID the gateway gave it, and every security event of that
// request.
type wafResult struct {
	status int
	header http.Header
	body   string
	id     string
	events []map[string]any
}

// wafDo sends a request and waits for its access record, which the
// gateway writes after the request's security events: once it is there,
// every security event of the request is too.
func wafDo(t *testing.T, g *gw, c *http.Client, method, url string, header http.Header, body string) wafResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		if strings.EqualFold(k, "Host") {
			req.Host = vs[0]
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	res := wafResult{status: resp.StatusCode, header: resp.Header, body: string(data), id: resp.Header.Get("X-Request-ID")}
	if res.id == "" {
		t.Fatalf("%s %s: no X-Request-ID in the response", method, url)
	}
	res.events = wafEventsOf(t, g, res.id)
	return res
}

// wafEventsOf waits for the access record of request id and returns the
// request's security events.
func wafEventsOf(t *testing.T, g *gw, id string) []map[string]any {
	t.Helper()
	wafAwaitCount(t, g, "access", 1, func(e map[string]any) bool { return e["request_id"] == id })
	var out []map[string]any
	for _, e := range g.events.events("security") {
		if e["request_id"] == id {
			out = append(out, e)
		}
	}
	return out
}

// wafAwaitCount waits until n events of type typ satisfy match.
func wafAwaitCount(t *testing.T, g *gw, typ string, n int, match func(map[string]any) bool) {
	t.Helper()
	guard := time.NewTimer(opsGuard)
	defer guard.Stop()
	for {
		k := 0
		for _, e := range g.events.events(typ) {
			if match(e) {
				k++
			}
		}
		if k >= n {
			return
		}
		select {
		case <-g.wrote:
		case <-guard.C:
			t.Fatalf("%d of %d %s events after %s", k, n, typ, opsGuard)
		}
	}
}

// wafRuleIDs returns the rule IDs of a security event.
func wafRuleIDs(e map[string]any) []string {
	rules, _ := e["rules"].([]any)
	var ids []string
	for _, r := range rules {
		if m, ok := r.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	return ids
}

// wafHasRule reports whether event e lists a rule whose ID starts with
// prefix (a family such as "942" or one rule such as "942100").
func wafHasRule(e map[string]any, prefix string) bool {
	for _, id := range wafRuleIDs(e) {
		if strings.HasPrefix(id, prefix) {
			return true
		}
	}
	return false
}

// wafFind returns the events of r with the given action and rule set
// ("" matches any).
func (r wafResult) find(action, ruleset string) []map[string]any {
	var out []map[string]any
	for _, e := range r.events {
		if (action == "" || e["action"] == action) && (ruleset == "" || e["ruleset"] == ruleset) {
			out = append(out, e)
		}
	}
	return out
}

// wafDescribe summarizes events for failure messages.
func wafDescribe(events []map[string]any) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "\n  action=%v ruleset=%v mode=%v status=%v score=%v rules=%v", e["action"], e["ruleset"], e["mode"], e["status"], e["anomaly_score"], wafRuleIDs(e))
	}
	if b.Len() == 0 {
		return " (no security events)"
	}
	return b.String()
}

// wafBackend is a backend that records, by X-Request-ID, every request
// that reaches it with its body, and answers with an echo.
type wafBackend struct {
	*backend
	mu   sync.Mutex
	seen map[string][]byte
}

func startWAFBackend(t *testing.T, name string) *wafBackend {
	t.Helper()
	b := &wafBackend{seen: map[string][]byte{}}
	b.backend = startBackend(t, name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.seen[r.Header.Get("X-Request-ID")] = body
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echo{Backend: name, Method: r.Method, Path: r.URL.Path, Host: r.Host, Header: r.Header})
	}))
	return b
}

// received returns the body the backend got for request id, and whether
// the request reached it at all.
func (b *wafBackend) received(id string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	body, ok := b.seen[id]
	return body, ok
}

// wafRoute is a tenant file with one route.
func wafRoute(tenant, name, host, wafYAML, backendURL string) string {
	return fmt.Sprintf(`tenant: %s
routes:
  - name: %s
    hosts: [%q]
    waf: %s
    backends: [{url: %q}]
`, tenant, name, host, wafYAML, backendURL)
}
