package bench

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/request"
	"github.com/bulwark-sec/bulwark/internal/waf"
)

// Workloads of issue #3's benchmark: (a) a benign GET with browser headers
// and three query parameters, (b) a benign 2 KB JSON POST, (c) an attack.
var workloads = map[string]func() *http.Request{
	"a-benign-get": func() *http.Request {
		r := httptest.NewRequest("GET", "https://bench.test/products/list?category=shoes&page=2&sort=price_asc", nil)
		browserHeaders(r)
		return r
	},
	"b-json-post": func() *http.Request {
		r := httptest.NewRequest("POST", "https://bench.test/api/orders", strings.NewReader(jsonBody))
		browserHeaders(r)
		r.Header.Set("Content-Type", "application/json")
		return r
	},
	"c-attack-get": func() *http.Request {
		r := httptest.NewRequest("GET", "https://bench.test/products/list?id=1'%20OR%20'1'='1&page=2&sort=price", nil)
		browserHeaders(r)
		return r
	},
}

func browserHeaders(r *http.Request) {
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8")
	r.Header.Set("Accept-Language", "en-US,en;q=0.9,de;q=0.8")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("Referer", "https://bench.test/products")
	r.Header.Set("Cookie", "session=8f14e45fceea167a5a36dedd4bea2543; theme=dark")
	r.Header.Set("Cache-Control", "no-cache")
	r.Header.Set("Upgrade-Insecure-Requests", "1")
}

// jsonBody is a realistic 2 KB order document.
var jsonBody = func() string {
	var b strings.Builder
	b.WriteString(`{"customer":{"id":48213,"name":"Jane Example","email":"jane@example.com","address":{"street":"12 Market Street","city":"Springfield","zip":"12345","country":"US"}},"items":[`)
	for i := 0; b.Len() < 1900; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"sku":"SKU-`)
		b.WriteString(strings.Repeat("7", 6))
		b.WriteString(`","name":"Running shoe, blue, size 42","quantity":1,"price":89.90,"gift":false}`)
	}
	b.WriteString(`],"note":"Please leave the parcel at the back door."}`)
	return b.String()
}()

// ceiling is set by the wafceiling build (waf_ceiling_test.go) when
// operators are replaced: attacks are then no longer blocked.
var ceiling bool

// BenchmarkWAF runs the WAF stage in process, without sockets, on the
// three workloads with the rule set the gateway uses by default.
func BenchmarkWAF(b *testing.B) {
	rs := waf.RuleSet{CRSVersion: waf.CRSVersion, Paranoia: 1, InboundThreshold: 5, OutboundThreshold: 4, BodyLimit: 1 << 20, ResponseBodyLimit: 512 << 10}
	e, err := waf.NewEngines().Acquire(rs)
	if err != nil {
		b.Fatal(err)
	}
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	h := waf.New(waf.Options{RouteID: "bench/web", Mode: "block", Enforced: e, Metrics: waf.NewMetrics(prometheus.NewRegistry())}).Wrap(backend)
	for _, name := range []string{"a-benign-get", "b-json-post", "c-attack-get"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := workloads[name]()
				s := &request.State{ID: "bench", ClientIP: netip.MustParseAddr("203.0.113.9")}
				r = r.WithContext(request.With(r.Context(), s))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if !ceiling && (name == "c-attack-get") != (w.Code == http.StatusForbidden) {
					b.Fatalf("%s: status %d", name, w.Code)
				}
			}
		})
	}
}
