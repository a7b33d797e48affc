// Package e2e tests the gateway end to end over real sockets on loopback:
// a real gateway, real backends, real TLS clients (Go's and openssl's).
package e2e

import (
	"bytes"
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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/gateway"
)

// gw is a gateway under test with its configuration directory.
type gw struct {
	t      *testing.T
	dir    string
	g      *gateway.Gateway
	events *lockedBuffer
	wrote  chan struct{} // signalled on every event write
}

// basePlatform is the platform.yaml every test starts from: loopback
// listeners on free ports, development certificates, two tenants. The %s
// slots take a platformVariant: keys added to the listeners and tls
// sections (the decoder refuses a second listeners: or tls:), the state
// directory, and extra top-level YAML.
const basePlatform = `
listeners:
  https: "127.0.0.1:0"
  http: "127.0.0.1:0"
  admin: "127.0.0.1:0"
%s
tls:
  dev_ca: true
%s
state_dir: %q
events:
  access: true
  sinks: [{type: stdout}]
# Tests send bursts from one address (loopback); the limits are the bounds,
# and tests of the rate limiter set their own per route.
ratelimit:
  defaults: {rate: "1000/s", burst: 2000, concurrent: 256}
tenants:
  shop:
    hosts: ["shop.test", "*.shop.test", "static.test"]
    namespaces: ["shop"]
  blog:
    hosts: ["blog.test"]
%s`

// platformVariant holds additions to basePlatform. listeners and tls are
// keys of those sections, each line indented by two spaces; extra is
// top-level YAML.
type platformVariant struct {
	listeners, tls, extra string
}

// writeConfig writes platform.yaml and tenants/<name>.yaml into a new
// directory and returns it.
func writeConfig(t *testing.T, v platformVariant, tenants map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "platform.yaml"), fmt.Sprintf(basePlatform, v.listeners, v.tls, t.TempDir(), v.extra))
	for name, body := range tenants {
		writeFile(t, filepath.Join(dir, "tenants", name+".yaml"), body)
	}
	return dir
}

// startGateway starts a gateway on basePlatform plus extra top-level YAML
// and the given tenant files.
func startGateway(t *testing.T, extra string, tenants map[string]string) *gw {
	t.Helper()
	return startGatewayVariant(t, platformVariant{extra: extra}, tenants)
}

// startGatewayVariant starts a gateway on a platform variant; it is shut
// down when the test ends.
func startGatewayVariant(t *testing.T, v platformVariant, tenants map[string]string) *gw {
	t.Helper()
	return startIn(t, writeConfig(t, v, tenants), nil)
}

// startIn starts a gateway on configuration directory dir, with the clock
// now (nil: the real one), its events collected; it is shut down when the
// test ends.
func startIn(t *testing.T, dir string, now func() time.Time) *gw {
	t.Helper()
	events := &lockedBuffer{}
	wrote := make(chan struct{}, 1)
	g, err := gateway.New(gateway.Options{Dir: dir, Stdout: signalWriter{events, wrote}, Now: now})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	if err := g.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	return &gw{t: t, dir: dir, g: g, events: events, wrote: wrote}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// roots returns a pool trusting the gateway's development CA.
func (g *gw) roots() *x509.CertPool {
	pem, err := os.ReadFile(g.g.DevCAFile())
	if err != nil {
		g.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

// client returns an HTTPS client that trusts the development CA and sends
// every connection to the gateway's HTTPS listener whatever the URL's
// host, so URLs can use the tenants' host names. tlsCfg, if not nil, is
// merged in (versions, suites).
func (g *gw) client(h2 bool) *http.Client {
	addr := g.g.Addrs().HTTPS
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig:   &tls.Config{RootCAs: g.roots()},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	g.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches url through c and returns the response with its body read.
func get(t *testing.T, c *http.Client, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// backend is a real HTTP server on loopback that answers with its name and
// what it received, as JSON.
type backend struct {
	name string
	addr string
	srv  *http.Server
}

type echo struct {
	Backend string      `json:"backend"`
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	Host    string      `json:"host"`
	Header  http.Header `json:"header"`
}

func startBackend(t *testing.T, name string, h http.Handler) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(echo{Backend: name, Method: r.Method, Path: r.URL.Path, Host: r.Host, Header: r.Header})
		})
	}
	b := &backend{name: name, addr: ln.Addr().String(), srv: &http.Server{Handler: h}}
	go func() { _ = b.srv.Serve(ln) }()
	t.Cleanup(func() { b.srv.Close() })
	return b
}

func (b *backend) url() string { return "http://" + b.addr }

func decodeEcho(t *testing.T, body string) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("backend answer is not an echo: %v: %q", err, body)
	}
	return e
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// lockedBuffer collects event lines written concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON events of type typ.
func (b *lockedBuffer) events(typ string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(b.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["type"] == typ {
			out = append(out, m)
		}
	}
	return out
}

// signalWriter appends to a lockedBuffer and then signals wrote without
// blocking; one pending signal is enough for a waiter to look again.
type signalWriter struct {
	buf   *lockedBuffer
	wrote chan struct{}
}

func (w signalWriter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

// awaitEvent waits until an event of type typ satisfying match has been
// written and returns it. The timeout only guards against a hang.
func (g *gw) awaitEvent(typ string, match func(map[string]any) bool) map[string]any {
	g.t.Helper()
	guard := time.NewTimer(10 * time.Second)
	defer guard.Stop()
	for {
		for _, e := range g.events.events(typ) {
			if match(e) {
				return e
			}
		}
		select {
		case <-g.wrote:
		case <-guard.C:
			g.t.Fatalf("no %s event matched; events so far: %v", typ, g.events.events(typ))
		}
	}
}
