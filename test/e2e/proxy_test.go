package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// metricValue scrapes the admin listener's /metrics and returns the value
// of one series, written as in the exposition format with labels in name
// order (`name{a="x",b="y"}`), and whether it is present.
func metricValue(t *testing.T, g *gw, series string) (float64, bool) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + g.g.Addrs().Admin + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", sc.Text(), err)
			}
			return f, true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return 0, false
}

// wantMetric checks that series has value want (absent counts as 0).
func wantMetric(t *testing.T, g *gw, series string, want float64) {
	t.Helper()
	if got, _ := metricValue(t, g, series); got != want {
		t.Errorf("%s = %v, want %v", series, got, want)
	}
}

func TestProxyForwardingHeaders(t *testing.T) {
	be := startBackend(t, "web", nil)
	g := startGatewayVariant(t, platformVariant{}, map[string]string{"shop": oneRoute("", be.url())})
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			resp, body := get(t, g.client(h2), "GET", "https://shop.test/p?q=1", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			e := decodeEcho(t, body)
			rid := resp.Header.Get("X-Request-ID")
			if len(rid) != 32 {
				t.Errorf("response X-Request-ID %q is not a generated ID", rid)
			}
			for k, want := range map[string]string{
				"X-Forwarded-For":   "127.0.0.1",
				"X-Forwarded-Proto": "https",
				"X-Forwarded-Host":  "shop.test",
				"X-Request-Id":      rid,
			} {
				if got := e.Header.Values(k); len(got) != 1 || got[0] != want {
					t.Errorf("backend got %s %q, want %q", k, got, want)
				}
			}
			if e.Host != "shop.test" || e.Path != "/p" {
				t.Errorf("backend got Host %q path %q, want shop.test /p", e.Host, e.Path)
			}
		})
	}
}

func TestProxyBackendRequestIDNotDuplicated(t *testing.T) {
	// Backends commonly echo the request ID they were given; the client
	// must still see one X-Request-ID, the gateway's.
	be := startBackend(t, "web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", r.Header.Get("X-Request-ID"))
		w.Header().Add("X-Request-ID", "backend-own-id")
		_, _ = io.WriteString(w, "ok")
	}))
	g := startGatewayVariant(t, platformVariant{}, map[string]string{"shop": oneRoute("", be.url())})
	resp, body := get(t, g.client(false), "GET", "https://shop.test/", nil)
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	got := resp.Header.Values("X-Request-ID")
	a := g.awaitEvent("access", func(e map[string]any) bool { return e["route"] == "shop/web" })
	if len(got) != 1 || got[0] != a["request_id"] {
		t.Errorf("response X-Request-ID %q, want only the logged %v", got, a["request_id"])
	}
}

func TestProxyTrustedProxies(t *testing.T) {
	spoof := http.Header{"X-Forwarded-For": {"1.2.3.4"}, "X-Request-Id": {"client-chosen-id"}}
	t.Run("untrusted peer: forwarding headers ignored", func(t *testing.T) {
		be := startBackend(t, "web", nil)
		g := startGatewayVariant(t, platformVariant{}, map[string]string{"shop": oneRoute("", be.url())})
		resp, body := get(t, g.client(false), "GET", "https://shop.test/", spoof)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, body %s", resp.StatusCode, body)
		}
		e := decodeEcho(t, body)
		if got := e.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
			t.Errorf("backend X-Forwarded-For %q, want only 127.0.0.1", got)
		}
		rid := resp.Header.Get("X-Request-ID")
		if rid == "client-chosen-id" || e.Header.Get("X-Request-Id") != rid {
			t.Errorf("request ID: response %q, backend %q; the client's must be replaced", rid, e.Header.Get("X-Request-Id"))
		}
		a := g.awaitEvent("access", func(e map[string]any) bool { return e["request_id"] == rid })
		if a["src_ip"] != "127.0.0.1" {
			t.Errorf("access src_ip %v, want 127.0.0.1", a["src_ip"])
		}
		if len(g.events.events("access")) != 1 {
			t.Errorf("want one access record, got %v", g.events.events("access"))
		}
	})
	t.Run("trusted peer: client from X-Forwarded-For, request ID kept", func(t *testing.T) {
		be := startBackend(t, "web", nil)
		g := startGatewayVariant(t, platformVariant{extra: `trusted_proxies: ["127.0.0.0/8"]`},
			map[string]string{"shop": oneRoute("", be.url())})
		c := g.client(false)
		resp, body := get(t, c, "GET", "https://shop.test/", http.Header{
			"X-Forwarded-For": {"198.51.100.7"}, "X-Request-Id": {"lb-4f2a.9_Z"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, body %s", resp.StatusCode, body)
		}
		e := decodeEcho(t, body)
		if got := e.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "198.51.100.7, 127.0.0.1" {
			t.Errorf("backend X-Forwarded-For %q, want \"198.51.100.7, 127.0.0.1\"", got)
		}
		if rid := resp.Header.Get("X-Request-ID"); rid != "lb-4f2a.9_Z" || e.Header.Get("X-Request-Id") != rid {
			t.Errorf("request ID: response %q, backend %q, want the proxy's lb-4f2a.9_Z", rid, e.Header.Get("X-Request-Id"))
		}
		a := g.awaitEvent("access", func(e map[string]any) bool { return e["request_id"] == "lb-4f2a.9_Z" })
		if a["src_ip"] != "198.51.100.7" {
			t.Errorf("access src_ip %v, want 198.51.100.7", a["src_ip"])
		}

		// Even a trusted proxy's request ID is replaced when it is not a
		// sane token, so it cannot inject into logs.
		for _, bad := range []string{`x"; drop=1 <script>`, strings.Repeat("a", 129)} {
			resp, body = get(t, c, "GET", "https://shop.test/", http.Header{"X-Request-Id": {bad}})
			if rid := resp.Header.Get("X-Request-ID"); rid == bad || len(rid) != 32 || decodeEcho(t, body).Header.Get("X-Request-Id") != rid {
				t.Errorf("invalid inbound request ID %q: response %q, backend %q", bad, rid, decodeEcho(t, body).Header.Get("X-Request-Id"))
			}
		}
	})
}

// bodyEchoBackend answers with the request's method and body.
func bodyEchoBackend(t *testing.T, name string, hits *atomic.Int64) *backend {
	return startBackend(t, name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "backend read: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Backend", name)
		w.Header().Set("X-Method", r.Method)
		_, _ = w.Write(body)
	}))
}

func TestProxyFailover(t *testing.T) {
	live := bodyEchoBackend(t, "live", nil)
	dead := "http://" + closedAddr(t)
	g := startGatewayVariant(t, platformVariant{extra: "proxy: {eject_cooldown: 1h}"},
		map[string]string{"shop": oneRoute("", dead, live.url())})
	const ejections = `bulwark_proxy_backend_ejections_total{route="shop/web"}`
	pool := g.g.Pool("shop/web")
	if pool == nil || pool.Healthy() != 2 {
		t.Fatalf("before any request: pool %v, want 2 healthy backends", pool)
	}
	wantMetric(t, g, ejections, 0)

	c := g.client(false)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB
	for i := range 20 {
		method, body := "GET", []byte(nil)
		if i%2 == 0 { // the first request, which meets the dead backend, is a POST
			method, body = "POST", append([]byte(strconv.Itoa(i)+":"), payload...)
		}
		req, err := http.NewRequest(method, "https://shop.test/f", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, got := doRead(t, c, req)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != "live" || resp.Header.Get("X-Method") != method {
			t.Fatalf("request %d (%s): status %d from %q, method %q", i, method, resp.StatusCode, resp.Header.Get("X-Backend"), resp.Header.Get("X-Method"))
		}
		if !bytes.Equal([]byte(got), body) {
			t.Fatalf("request %d: backend received %d bytes, want the %d sent", i, len(got), len(body))
		}
		if i == 0 && pool.Healthy() != 1 {
			t.Fatalf("after the first failure %d backends healthy, want 1 (dead one ejected)", pool.Healthy())
		}
	}
	if pool.Healthy() != 1 {
		t.Errorf("%d backends healthy, want 1", pool.Healthy())
	}
	wantMetric(t, g, ejections, 1)
	// Failover hid the failure from every client: no upstream error.
	wantMetric(t, g, `bulwark_proxy_upstream_errors_total{kind="connect",route="shop/web"}`, 0)
}

// wantNoLeak checks that a rendered error body does not carry Go's or a
// backend's error text.
func wantNoLeak(t *testing.T, body string, secrets ...string) {
	t.Helper()
	for _, s := range append([]string{"dial", "refused", "tcp", "127.0.0.1", "timeout", "net/http", "EOF", "http:"}, secrets...) {
		if strings.Contains(body, s) {
			t.Errorf("error body leaks %q: %s", s, body)
		}
	}
}

func TestProxyAllBackendsDown(t *testing.T) {
	a, b := closedAddr(t), closedAddr(t)
	g := startGatewayVariant(t, platformVariant{}, map[string]string{"shop": oneRoute("", "http://"+a, "http://"+b)})
	c := g.client(false)
	_, portA, _ := net.SplitHostPort(a)
	_, portB, _ := net.SplitHostPort(b)

	t.Run("HTML by default", func(t *testing.T) {
		resp, body := get(t, c, "GET", "https://shop.test/", nil)
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", resp.StatusCode)
		}
		rid := resp.Header.Get("X-Request-ID")
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		for _, want := range []string{"<h1>502</h1>", "The service behind this site is unavailable.", "<code>" + rid + "</code>"} {
			if rid == "" || !strings.Contains(body, want) {
				t.Errorf("body lacks %q: %s", want, body)
			}
		}
		wantNoLeak(t, body, portA, portB)
	})
	t.Run("JSON when asked", func(t *testing.T) {
		resp, body := get(t, c, "GET", "https://shop.test/", http.Header{"Accept": {"application/json"}})
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", resp.StatusCode)
		}
		want := fmt.Sprintf(`{"status":502,"error":"The service behind this site is unavailable.","request_id":%q}`+"\n", resp.Header.Get("X-Request-ID"))
		if body != want || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("body %q (%s), want %q", body, resp.Header.Get("Content-Type"), want)
		}
		wantNoLeak(t, body, portA, portB)
	})
	wantMetric(t, g, `bulwark_proxy_upstream_errors_total{kind="connect",route="shop/web"}`, 2)
	wantMetric(t, g, `bulwark_proxy_backend_ejections_total{route="shop/web"}`, 2)
}

func TestProxyResponseTimeout(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	be := startBackend(t, "slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "too late")
	}))
	t.Cleanup(func() { close(release) }) // runs before the backend closes
	g := startGatewayVariant(t, platformVariant{}, map[string]string{"shop": oneRoute("    response_timeout: 200ms\n", be.url())})
	resp, body := get(t, g.client(false), "GET", "https://shop.test/", http.Header{"Accept": {"application/json"}})
	select {
	case <-arrived:
	case <-time.After(10 * time.Second): // guard only
		t.Fatal("the backend never received the request")
	}
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, body %s, want 504", resp.StatusCode, body)
	}
	want := fmt.Sprintf(`{"status":504,"error":"The service behind this site did not answer in time.","request_id":%q}`+"\n", resp.Header.Get("X-Request-ID"))
	if body != want {
		t.Errorf("body %q, want %q", body, want)
	}
	wantMetric(t, g, `bulwark_proxy_upstream_errors_total{kind="timeout",route="shop/web"}`, 1)
}

// unsized hides a reader's length so the client sends it chunked.
type unsized struct{ io.Reader }

func TestProxyMaxBodySize(t *testing.T) {
	var hits atomic.Int64
	be := bodyEchoBackend(t, "web", &hits)
	g := startGatewayVariant(t, platformVariant{}, map[string]string{"shop": oneRoute("    max_body_size: 16KiB\n", be.url())})
	c := g.client(false)
	post := func(t *testing.T, body io.Reader, n int) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("POST", "https://shop.test/upload", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		if _, ok := body.(unsized); ok {
			if req.ContentLength != 0 {
				t.Fatalf("request has length %d, want unknown", req.ContentLength)
			}
		} else if req.ContentLength != int64(n) {
			t.Fatalf("request has length %d, want %d", req.ContentLength, n)
		}
		return doRead(t, c, req)
	}
	want413 := func(t *testing.T, resp *http.Response, body string) {
		t.Helper()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, body %s, want 413", resp.StatusCode, body)
		}
		var e struct {
			Status int    `json:"status"`
			Error  string `json:"error"`
		}
		if json.Unmarshal([]byte(body), &e) != nil || e.Status != 413 || e.Error != "The request body is too large." {
			t.Errorf("body %q is not the renderer's 413", body)
		}
	}

	// The limit is well above the transport's 4 KiB write buffer, so a
	// request the gateway forwarded would reach the backend before the body
	// ran over: only refusing it up front keeps the backend out of it.
	const limit = 16 << 10
	t.Run("Content-Length at the limit is served", func(t *testing.T) {
		data := bytes.Repeat([]byte("a"), limit)
		resp, got := post(t, bytes.NewReader(data), len(data))
		if resp.StatusCode != http.StatusOK || got != string(data) {
			t.Fatalf("status %d, backend got %d bytes", resp.StatusCode, len(got))
		}
	})
	t.Run("Content-Length above the limit is 413 without the backend", func(t *testing.T) {
		before := hits.Load()
		resp, body := post(t, bytes.NewReader(bytes.Repeat([]byte("b"), limit+1)), limit+1)
		want413(t, resp, body)
		if hits.Load() != before {
			t.Errorf("the backend was reached")
		}
	})
	t.Run("chunked body under the limit is served", func(t *testing.T) {
		data := bytes.Repeat([]byte("c"), limit)
		resp, got := post(t, unsized{bytes.NewReader(data)}, -1)
		if resp.StatusCode != http.StatusOK || got != string(data) {
			t.Fatalf("status %d, backend got %d bytes", resp.StatusCode, len(got))
		}
	})
	t.Run("chunked body above the limit is 413", func(t *testing.T) {
		resp, body := post(t, unsized{bytes.NewReader(bytes.Repeat([]byte("d"), 4*limit))}, -1)
		want413(t, resp, body)
	})
}

// wsGUID is the RFC 6455 §1.3 key GUID.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func TestProxyWebSocket(t *testing.T) {
	be := startBackend(t, "ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
			http.Error(w, "not a websocket handshake", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(key))
		if brw.Flush() != nil {
			return
		}
		// Echo until the gateway closes the connection.
		buf := make([]byte, 4096)
		for {
			n, err := brw.Read(buf)
			if n > 0 {
				if _, werr := conn.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}))
	g := startGatewayVariant(t, platformVariant{}, map[string]string{"shop": oneRoute("", be.url())})

	conn, err := dialTLS(g, "shop.test", &tls.Config{NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // guard only
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	req := "GET /chat HTTP/1.1\r\nHost: shop.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, body %s, want 101", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("Sec-WebSocket-Accept %q", got)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Errorf("Upgrade %q", resp.Header.Get("Upgrade"))
	}
	if resp.Header.Get("X-Request-ID") == "" {
		t.Errorf("101 without the gateway's X-Request-ID")
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 10000), "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"} {
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatalf("write: %v", err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatalf("read echo: %v", err)
		}
		if string(got) != msg {
			t.Fatalf("echo %q, want %q", got, msg)
		}
	}
	conn.Close()
	a := g.awaitEvent("access", func(e map[string]any) bool { return e["uri"] == "/chat" })
	if a["status"] != float64(101) || a["upstream"] != be.addr {
		t.Errorf("access record status %v upstream %v, want 101 from %s", a["status"], a["upstream"], be.addr)
	}
}
