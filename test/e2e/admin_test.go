package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file tests the admin listener (/healthz, /readyz, /metrics) and the
// access records. It also holds the helpers the reload, shutdown and binary
// tests share; they are prefixed "ops" to keep clear of other files.

// opsGuard is the failure guard of every wait in these tests: a condition
// that has not come true by then never will. It is never a measurement.
const opsGuard = 20 * time.Second

// opsEventually polls cond until it holds, failing the test with what and
// cond's last explanation when opsGuard passes first.
func opsEventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(opsGuard)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s: %s", what, opsGuard, why)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// opsAwait receives from ch, failing the test if nothing arrives within the
// guard.
func opsAwait[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(opsGuard):
		t.Fatalf("%s: nothing after %s", what, opsGuard)
		panic("unreachable")
	}
}

// opsAdminClient talks to admin listeners; it is a plain HTTP client that
// does not keep connections, so it never holds one open across a shutdown.
var opsAdminClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// opsHTTP fetches url with opsAdminClient and returns the status and body;
// a transport error is returned, not fatal, so callers can poll.
func opsHTTP(url string) (int, string, error) {
	resp, err := opsAdminClient.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// opsAdminGet fetches path from the admin listener of g.
func opsAdminGet(t *testing.T, g *gw, path string) (int, string) {
	t.Helper()
	code, body, err := opsHTTP("http://" + g.g.Addrs().Admin + path)
	if err != nil {
		t.Fatalf("admin %s: %v", path, err)
	}
	return code, body
}

// opsReadiness is /readyz's JSON.
type opsReadiness struct {
	Status     string    `json:"status"`
	Generation int64     `json:"generation"`
	LoadedAt   time.Time `json:"loaded_at"`
	Routes     int       `json:"routes"`
	LastReload *struct {
		Result string    `json:"result"`
		Time   time.Time `json:"time"`
		Error  *string   `json:"error"`
	} `json:"last_reload"`
}

func opsDecodeReadiness(t *testing.T, body string) opsReadiness {
	t.Helper()
	var rd opsReadiness
	if err := json.Unmarshal([]byte(body), &rd); err != nil {
		t.Fatalf("/readyz is not JSON: %v: %q", err, body)
	}
	if rd.LastReload == nil {
		t.Fatalf("/readyz has no last_reload: %s", body)
	}
	return rd
}

// opsReadyz fetches and decodes /readyz of a gateway under test.
func opsReadyz(t *testing.T, g *gw) (int, opsReadiness) {
	t.Helper()
	code, body := opsAdminGet(t, g, "/readyz")
	return code, opsDecodeReadiness(t, body)
}

// opsSample is one line of the Prometheus text exposition.
type opsSample struct {
	name   string
	labels map[string]string
	value  float64
}

func (s opsSample) String() string {
	keys := make([]string, 0, len(s.labels))
	for k := range s.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, s.labels[k])
	}
	return fmt.Sprintf("%s{%s} %v", s.name, strings.Join(parts, ","), s.value)
}

// opsParseExposition parses the text format (version 0.0.4): every sample
// with its labels, label values unescaped.
func opsParseExposition(t *testing.T, text string) []opsSample {
	t.Helper()
	var out []opsSample
	for n, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fail := func(why string) { t.Fatalf("metrics line %d %q: %s", n+1, line, why) }
		s := opsSample{labels: map[string]string{}}
		i := strings.IndexAny(line, "{ ")
		if i <= 0 {
			fail("no name")
		}
		s.name, line = line[:i], line[i:]
		if line[0] == '{' {
			line = line[1:]
			for line != "" && line[0] != '}' {
				eq := strings.IndexByte(line, '=')
				if eq <= 0 || len(line) < eq+2 || line[eq+1] != '"' {
					fail("bad label")
				}
				key := line[:eq]
				line = line[eq+2:]
				var v strings.Builder
				closed := false
				for j := 0; j < len(line); j++ {
					c := line[j]
					if c == '\\' && j+1 < len(line) {
						j++
						switch line[j] {
						case 'n':
							v.WriteByte('\n')
						default:
							v.WriteByte(line[j])
						}
						continue
					}
					if c == '"' {
						line, closed = line[j+1:], true
						break
					}
					v.WriteByte(c)
				}
				if !closed {
					fail("unterminated label value")
				}
				s.labels[key] = v.String()
				line = strings.TrimPrefix(line, ",")
			}
			if line == "" {
				fail("unterminated label set")
			}
			line = line[1:]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			fail("no value")
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			fail(err.Error())
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// opsScrape fetches and parses /metrics of g.
func opsScrape(t *testing.T, g *gw) []opsSample {
	t.Helper()
	code, body := opsAdminGet(t, g, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d", code)
	}
	return opsParseExposition(t, body)
}

// opsMetric returns the value of the sample named name whose labels are
// exactly labels, if there is one.
func opsMetric(samples []opsSample, name string, labels map[string]string) (float64, bool) {
	for _, s := range samples {
		if s.name != name || len(s.labels) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			if got, ok := s.labels[k]; !ok || got != v {
				match = false
				break
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

// opsSeries returns every sample named name.
func opsSeries(samples []opsSample, name string) []opsSample {
	var out []opsSample
	for _, s := range samples {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// opsWantMetric fails unless the sample exists with value want.
func opsWantMetric(t *testing.T, samples []opsSample, name string, labels map[string]string, want float64) {
	t.Helper()
	got, ok := opsMetric(samples, name, labels)
	if !ok {
		t.Errorf("no sample %s%v; have %v", name, labels, opsSeries(samples, name))
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// opsPlainGet sends a request to the gateway's plain HTTP listener with
// the given Host header.
func opsPlainGet(t *testing.T, g *gw, host, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+g.g.Addrs().HTTP+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("plain GET %s%s: %v", host, path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestAdminHealthAndMetrics(t *testing.T) {
	web := startBackend(t, "web", nil)
	g := startGateway(t, "", map[string]string{"shop": fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test"]
    paths: ["/app"]
    backends: [{url: %q}]
`, web.url())})

	t.Run("healthz", func(t *testing.T) {
		code, body := opsAdminGet(t, g, "/healthz")
		if code != http.StatusOK || body != "ok\n" {
			t.Errorf("/healthz = %d %q, want 200 \"ok\\n\"", code, body)
		}
	})

	c := g.client(false)
	// A client-chosen X-Forwarded-For must not reach a label either: the
	// peer is not a trusted proxy, and labels never hold addresses.
	xff := http.Header{"X-Forwarded-For": {"203.0.113.7"}}
	if resp, body := get(t, c, "GET", "https://shop.test/app/items", xff); resp.StatusCode != http.StatusOK {
		t.Fatalf("routed request: status %d, body %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, "GET", "https://shop.test/elsewhere", xff); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unrouted path: status %d, want 404", resp.StatusCode)
	}
	if resp := opsPlainGet(t, g, "unknown.test", "/"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("plain HTTP for an unknown host: status %d, want 404", resp.StatusCode)
	}

	// Metrics are recorded when the handler returns, which may be after the
	// client has its response: wait for the counts to reach what was sent.
	var samples []opsSample
	route, none := map[string]string{"route": "shop/web", "code": "2xx"}, map[string]string{"route": "none", "code": "4xx"}
	opsEventually(t, "request counters", func() (bool, string) {
		samples = opsScrape(t, g)
		a, _ := opsMetric(samples, "bulwark_http_requests_total", route)
		b, _ := opsMetric(samples, "bulwark_http_requests_total", none)
		return a == 1 && b == 2, fmt.Sprint(opsSeries(samples, "bulwark_http_requests_total"))
	})

	t.Run("requests and durations by route", func(t *testing.T) {
		if got := opsSeries(samples, "bulwark_http_requests_total"); len(got) != 2 {
			t.Errorf("bulwark_http_requests_total has %d series, want 2 (shop/web 2xx, none 4xx): %v", len(got), got)
		}
		for _, r := range []struct {
			route string
			n     float64
		}{{"shop/web", 1}, {"none", 2}} {
			opsWantMetric(t, samples, "bulwark_http_request_duration_seconds_count", map[string]string{"route": r.route}, r.n)
			opsWantMetric(t, samples, "bulwark_http_request_duration_seconds_bucket", map[string]string{"route": r.route, "le": "+Inf"}, r.n)
			if _, ok := opsMetric(samples, "bulwark_http_request_duration_seconds_sum", map[string]string{"route": r.route}); !ok {
				t.Errorf("no bulwark_http_request_duration_seconds_sum for route %s", r.route)
			}
			buckets := 0
			for _, s := range opsSeries(samples, "bulwark_http_request_duration_seconds_bucket") {
				if s.labels["route"] == r.route {
					buckets++
				}
			}
			if buckets < 2 {
				t.Errorf("route %s has %d histogram buckets, want the configured buckets and +Inf", r.route, buckets)
			}
		}
	})

	t.Run("configuration metrics", func(t *testing.T) {
		opsWantMetric(t, samples, "bulwark_config_generation", map[string]string{}, 1)
		opsWantMetric(t, samples, "bulwark_config_reloads_total", map[string]string{"result": "success"}, 0)
		opsWantMetric(t, samples, "bulwark_config_reloads_total", map[string]string{"result": "failure"}, 0)
		ts, ok := opsMetric(samples, "bulwark_config_last_reload_success_timestamp_seconds", map[string]string{})
		if !ok || ts <= 0 {
			t.Fatalf("bulwark_config_last_reload_success_timestamp_seconds = %v (present %v), want > 0", ts, ok)
		}
		// It is the time the served configuration was loaded, which
		// /readyz reports too.
		_, rd := opsReadyz(t, g)
		if want := float64(rd.LoadedAt.UnixNano()) / 1e9; math.Abs(ts-want) > 1e-3 {
			t.Errorf("last reload timestamp %f, /readyz loaded_at %s (%f)", ts, rd.LoadedAt, want)
		}
	})

	t.Run("no label carries a client address", func(t *testing.T) {
		for _, s := range samples {
			for k, v := range s.labels {
				host := v
				if h, _, err := net.SplitHostPort(v); err == nil {
					host = h
				}
				if strings.Contains(v, "127.0.0.1") || strings.Contains(v, "203.0.113.7") || net.ParseIP(host) != nil {
					t.Errorf("label %s=%q of %s carries an address", k, v, s)
				}
			}
		}
	})
}

func TestAccessRecords(t *testing.T) {
	web := startBackend(t, "web", nil)
	g := startGateway(t, "", map[string]string{"shop": fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test", "*.shop.test"]
    backends: [{url: %q}]
`, web.url())})

	type sent struct {
		method, host, uri string
		status            int
		logged            string // the uri in the record, when it differs
	}
	reqs := []sent{
		{"GET", "shop.test", "/", 200, ""},
		{"GET", "shop.test", "/a/b?x=1&y=2", 200, ""},
		{"POST", "shop.test", "/form", 200, ""},
		{"HEAD", "eu.shop.test", "/head", 200, ""},
		{"DELETE", "eu.shop.test", "/items/7", 200, ""},
		{"GET", "shop.test", "/h2", 200, ""},
		{"GET", "shop.test", "/cb?code=1&access_token=s3cr3t", 200, "/cb?code=1&access_token=[redacted]"},
	}
	h1, h2 := g.client(false), g.client(true)
	byID := map[string]sent{}
	for i, r := range reqs {
		c := h1
		if i%2 == 1 {
			c = h2
		}
		resp, _ := get(t, c, r.method, "https://"+r.host+r.uri, nil)
		if resp.StatusCode != r.status {
			t.Fatalf("%s %s%s: status %d, want %d", r.method, r.host, r.uri, resp.StatusCode, r.status)
		}
		id := resp.Header.Get("X-Request-ID")
		if id == "" || byID[id] != (sent{}) {
			t.Fatalf("%s %s%s: X-Request-ID %q is empty or repeated", r.method, r.host, r.uri, id)
		}
		byID[id] = r
	}
	// The admin listener is not the request path: it writes no records.
	opsAdminGet(t, g, "/metrics")
	opsAdminGet(t, g, "/readyz")

	// Records are written when a handler returns, which may follow the
	// response; once Shutdown has drained every connection, every handler
	// has returned and the set of records is final.
	ctx, cancel := context.WithTimeout(context.Background(), opsGuard)
	defer cancel()
	if err := g.g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	records := g.events.events("access")
	if len(records) != len(reqs) {
		t.Errorf("%d access records for %d requests", len(records), len(reqs))
	}
	seen := map[string]int{}
	for _, rec := range records {
		id, _ := rec["request_id"].(string)
		seen[id]++
		want, ok := byID[id]
		if !ok {
			t.Errorf("access record for a request that was not sent: %v", rec)
			continue
		}
		for _, f := range []string{"time", "request_id", "src_ip", "host", "method", "uri", "route", "tenant", "status"} {
			if _, ok := rec[f]; !ok {
				t.Errorf("access record %s has no %q: %v", id, f, rec)
			}
		}
		if ts, _ := rec["time"].(string); ts == "" {
			t.Errorf("record %s: time %v is not a timestamp", id, rec["time"])
		} else if tm, err := time.Parse(time.RFC3339Nano, ts); err != nil || tm.IsZero() {
			t.Errorf("record %s: time %q: %v", id, ts, err)
		}
		uri := want.uri
		if want.logged != "" {
			uri = want.logged
		}
		checks := map[string]any{
			"type": "access", "src_ip": "127.0.0.1", "host": want.host, "method": want.method, "uri": uri,
			"route": "shop/web", "tenant": "shop", "status": float64(want.status),
		}
		for f, v := range checks {
			if rec[f] != v {
				t.Errorf("record %s: %s = %#v, want %#v", id, f, rec[f], v)
			}
		}
	}
	for id := range byID {
		if seen[id] != 1 {
			t.Errorf("request %s (%v) has %d access records, want exactly 1", id, byID[id], seen[id])
		}
	}
}
