// Package bench holds the benchmarks (not tests): Go benchmarks here, wrk
// scripts in run.sh, and their results in RESULTS.md.
package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/gateway"
)

// BenchmarkProxyPath compares a request to the backend directly with the
// same request through the gateway (HTTPS, record, route, proxy, access
// record to a file), both over loopback with keep-alive clients.
func BenchmarkProxyPath(b *testing.B) {
	backend := startBackend(b)
	b.Run("direct", func(b *testing.B) {
		run(b, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, "http://"+backend+"/")
	})
	g := startGateway(b, backend)
	pem, err := os.ReadFile(g.DevCAFile())
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	addr := g.Addrs().HTTPS
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{
			MaxIdleConnsPerHost: 64,
			TLSClientConfig:     &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2:   h2,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		b.Run(fmt.Sprintf("gateway/h2=%v", h2), func(b *testing.B) {
			run(b, &http.Client{Transport: tr}, "https://bench.test/")
		})
	}
}

func run(b *testing.B, c *http.Client, url string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func startBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("hello from the benchmark backend\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func startGateway(b *testing.B, backend string) *gateway.Gateway {
	dir := b.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("platform.yaml", fmt.Sprintf(`
listeners: {https: "127.0.0.1:0", http: "", admin: ""}
tls: {dev_ca: true}
state_dir: %q
events:
  sinks: [{type: file, path: %q}]
ratelimit:
  defaults: {rate: "1000000/s", burst: 1000000, concurrent: 4096}
  bounds: {rate: "1000000/s", burst: 1000000, concurrent: 4096}
tenants:
  bench: {hosts: ["bench.test"]}
`, filepath.Join(dir, "state"), filepath.Join(dir, "events.jsonl")))
	write("tenants/bench.yaml", fmt.Sprintf("tenant: bench\nroutes:\n  - name: web\n    hosts: [\"bench.test\"]\n    backends: [{url: \"http://%s\"}]\n", backend))
	g, err := gateway.New(gateway.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	if err := g.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	return g
}
