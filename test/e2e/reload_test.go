package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/gateway"
)

// opsStartRun is startGateway with gateway.Run instead of Start: the
// gateway also watches its directory and handles SIGHUP. It returns once
// the gateway has announced that it started; cleanup cancels Run and
// requires it to return nil.
func opsStartRun(t *testing.T, extra string, tenants map[string]string) *gw {
	t.Helper()
	dir := writeConfig(t, platformVariant{extra: extra}, tenants)
	events := &lockedBuffer{}
	g, err := gateway.New(gateway.Options{Dir: dir, Stdout: events})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(opsGuard):
			t.Errorf("Run did not return within %s of cancel", opsGuard)
		}
	})
	// The started event is written after the listeners are bound; reading
	// it through the buffer's lock also makes Addrs safe to read.
	deadline := time.After(opsGuard)
	for len(opsLifecycle(events, "gateway started")) == 0 {
		select {
		case err := <-ran:
			t.Fatalf("Run returned before the gateway started: %v", err)
		case <-deadline:
			t.Fatalf("no \"gateway started\" event after %s", opsGuard)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return &gw{t: t, dir: dir, g: g, events: events}
}

// opsLifecycle returns the lifecycle events with message msg.
func opsLifecycle(b *lockedBuffer, msg string) []map[string]any {
	var out []map[string]any
	for _, e := range b.events("lifecycle") {
		if e["message"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// opsReplaceFile replaces path the way editors and config tools do: write
// a hidden temporary file next to it, then rename it over the original.
func opsReplaceFile(t *testing.T, path, body string) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(body); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		t.Fatal(err)
	}
}

// opsEcho fetches url through c and returns the status and, for a 200, the
// backend that served it; transport errors are returned, not fatal.
func opsEcho(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("body: %w", err)
	}
	var e echo
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &e); err != nil {
			return resp.StatusCode, "", fmt.Errorf("body %q: %w", body, err)
		}
	}
	return resp.StatusCode, e.Backend, nil
}

func TestReloadUnderLoad(t *testing.T) {
	a, b := startBackend(t, "a", nil), startBackend(t, "b", nil)
	// Configuration i sends the web route to a (even i) or b (odd i), and
	// adds a route /v<i> that only configuration i has.
	conf := func(i int) string {
		be := a
		if i%2 == 1 {
			be = b
		}
		return fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test"]
    backends: [{url: %q}]
  - name: v%d
    hosts: ["shop.test"]
    paths: ["/v%d"]
    backends: [{url: %q}]
`, be.url(), i, i, a.url())
	}
	g := startGateway(t, "", map[string]string{"shop": conf(0)})
	tenantFile := filepath.Join(g.dir, "tenants", "shop.yaml")

	// Four clients, two on HTTP/1.1 and two on HTTP/2, each sending one
	// request after another until told to stop.
	var (
		ok, failed atomic.Int64
		byBackend  sync.Map // backend name → *atomic.Int64
		errMu      sync.Mutex
		errs       []string
		stop       = make(chan struct{})
		wg         sync.WaitGroup
	)
	for _, name := range []string{"a", "b"} {
		byBackend.Store(name, new(atomic.Int64))
	}
	for w := 0; w < 4; w++ {
		c := g.client(w%2 == 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, backend, err := opsEcho(c, "https://shop.test/load")
				n, known := byBackend.Load(backend)
				if err != nil || code != http.StatusOK || !known {
					failed.Add(1)
					errMu.Lock()
					errs = append(errs, fmt.Sprintf("status %d backend %q error %v", code, backend, err))
					errMu.Unlock()
					continue
				}
				n.(*atomic.Int64).Add(1)
				ok.Add(1)
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()

	const reloads = 20
	for i := 1; i <= reloads; i++ {
		// Every reload happens under load: wait until the clients have
		// completed more requests since the previous one.
		since := ok.Load() + failed.Load()
		opsEventually(t, fmt.Sprintf("requests before reload %d", i), func() (bool, string) {
			n := ok.Load() + failed.Load()
			return n >= since+8, fmt.Sprintf("%d requests since the last reload", n-since)
		})
		writeFile(t, tenantFile, conf(i))
		if err := g.g.Reload("test"); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	since := ok.Load() + failed.Load()
	opsEventually(t, "requests after the last reload", func() (bool, string) {
		n := ok.Load() + failed.Load()
		return n >= since+8, fmt.Sprintf("%d requests since the last reload", n-since)
	})
	stopLoad()

	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during reloads; first: %v", failed.Load(), ok.Load()+failed.Load(), errs[:min(len(errs), 5)])
	}
	for _, name := range []string{"a", "b"} {
		n, _ := byBackend.Load(name)
		if n.(*atomic.Int64).Load() == 0 {
			t.Errorf("backend %s served nothing: the reloads did not alternate the route under load", name)
		}
	}
	t.Logf("%d requests across %d reloads, none failed", ok.Load(), reloads)

	c := g.client(false)
	if code, backend, err := opsEcho(c, "https://shop.test/load"); err != nil || code != 200 || backend != "a" {
		t.Errorf("after the last reload web is served by %q (status %d, %v), want a", backend, code, err)
	}
	if code, _, err := opsEcho(c, fmt.Sprintf("https://shop.test/v%d", reloads)); err != nil || code != 200 {
		t.Errorf("route /v%d of the last configuration: status %d, %v; want 200", reloads, code, err)
	}
	if code, backend, err := opsEcho(c, fmt.Sprintf("https://shop.test/v%d", reloads-1)); err != nil || code != 200 || backend != "a" {
		t.Errorf("/v%d of the previous configuration: status %d backend %q, %v; want the web route (a)", reloads-1, code, backend, err)
	}

	samples := opsScrape(t, g)
	opsWantMetric(t, samples, "bulwark_config_reloads_total", map[string]string{"result": "success"}, reloads)
	opsWantMetric(t, samples, "bulwark_config_reloads_total", map[string]string{"result": "failure"}, 0)
	opsWantMetric(t, samples, "bulwark_config_generation", map[string]string{}, reloads+1)
	code, rd := opsReadyz(t, g)
	if code != http.StatusOK || rd.Status != "ready" || rd.Generation != reloads+1 || rd.Routes != 2 ||
		rd.LastReload.Result != "success" || rd.LastReload.Error != nil {
		t.Errorf("/readyz = %d %+v (last_reload %+v), want 200 ready, generation %d, 2 routes, last reload success", code, rd, *rd.LastReload, reloads+1)
	}
	var gens []float64
	for _, e := range g.events.events("config") {
		d, _ := e["detail"].(map[string]any)
		if e["level"] != "info" || e["message"] != "configuration reloaded" || d["trigger"] != "test" {
			t.Errorf("unexpected config event %v", e)
			continue
		}
		gen, _ := d["generation"].(float64)
		gens = append(gens, gen)
	}
	if len(gens) != reloads || gens[0] != 2 || gens[len(gens)-1] != reloads+1 {
		t.Errorf("config events for generations %v, want 2..%d", gens, reloads+1)
	}
}

func TestReloadBrokenConfig(t *testing.T) {
	a, b := startBackend(t, "a", nil), startBackend(t, "b", nil)
	good := func(be *backend) string {
		return fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test"]
    backends: [{url: %q}]
`, be.url())
	}
	g := startGateway(t, "", map[string]string{"shop": good(a)})
	tenantFile := filepath.Join(g.dir, "tenants", "shop.yaml")
	c := g.client(false)

	// blog.test belongs to the blog tenant.
	writeFile(t, tenantFile, fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["blog.test"]
    backends: [{url: %q}]
`, b.url()))
	err := g.g.Reload("test")
	if err == nil {
		t.Fatal("Reload of a configuration routing another tenant's host succeeded")
	}
	want := tenantFile + `:4:13: routes[0].hosts[0]: tenant "shop" does not own host blog.test (the registry in platform.yaml gives it to tenant blog)`
	if err.Error() != want {
		t.Errorf("Reload error:\n got %s\nwant %s", err, want)
	}

	t.Run("the previous configuration keeps serving", func(t *testing.T) {
		if code, backend, err := opsEcho(c, "https://shop.test/"); err != nil || code != 200 || backend != "a" {
			t.Errorf("shop.test: status %d backend %q (%v), want 200 from a", code, backend, err)
		}
		// The broken configuration's host is not served.
		if resp, err := c.Get("https://blog.test/"); err == nil {
			resp.Body.Close()
			t.Errorf("blog.test answered %d after the refused reload", resp.StatusCode)
		}
	})
	t.Run("readyz reports the failure and stays ready", func(t *testing.T) {
		code, rd := opsReadyz(t, g)
		if code != http.StatusOK || rd.Generation != 1 || rd.LastReload.Result != "failure" ||
			rd.LastReload.Error == nil || *rd.LastReload.Error != err.Error() || !strings.Contains(rd.Status, "last reload failed") {
			t.Errorf("/readyz = %d %+v, last_reload %+v", code, rd, *rd.LastReload)
		}
	})
	t.Run("an error event names the error", func(t *testing.T) {
		evs := g.events.events("config")
		if len(evs) != 1 {
			t.Fatalf("%d config events, want 1: %v", len(evs), evs)
		}
		d, _ := evs[0]["detail"].(map[string]any)
		if evs[0]["level"] != "error" || d["error"] != err.Error() || d["trigger"] != "test" ||
			!strings.Contains(fmt.Sprint(evs[0]["message"]), "still serving generation 1") {
			t.Errorf("config event %v", evs[0])
		}
	})
	t.Run("metrics count the failure", func(t *testing.T) {
		s := opsScrape(t, g)
		opsWantMetric(t, s, "bulwark_config_reloads_total", map[string]string{"result": "failure"}, 1)
		opsWantMetric(t, s, "bulwark_config_reloads_total", map[string]string{"result": "success"}, 0)
		opsWantMetric(t, s, "bulwark_config_generation", map[string]string{}, 1)
	})

	writeFile(t, tenantFile, good(b))
	if err := g.g.Reload("test"); err != nil {
		t.Fatalf("Reload of the fixed configuration: %v", err)
	}
	t.Run("the fixed configuration serves", func(t *testing.T) {
		if code, backend, err := opsEcho(c, "https://shop.test/"); err != nil || code != 200 || backend != "b" {
			t.Errorf("shop.test: status %d backend %q (%v), want 200 from b", code, backend, err)
		}
		code, rd := opsReadyz(t, g)
		if code != http.StatusOK || rd.Status != "ready" || rd.Generation != 2 || rd.LastReload.Result != "success" || rd.LastReload.Error != nil {
			t.Errorf("/readyz = %d %+v, last_reload %+v", code, rd, *rd.LastReload)
		}
		s := opsScrape(t, g)
		opsWantMetric(t, s, "bulwark_config_reloads_total", map[string]string{"result": "failure"}, 1)
		opsWantMetric(t, s, "bulwark_config_reloads_total", map[string]string{"result": "success"}, 1)
		evs := g.events.events("config")
		if last := evs[len(evs)-1]; last["level"] != "info" || last["message"] != "configuration reloaded" {
			t.Errorf("last config event %v, want configuration reloaded", last)
		}
	})
}

func TestReloadOnDirectoryChange(t *testing.T) {
	a, b := startBackend(t, "a", nil), startBackend(t, "b", nil)
	g := opsStartRun(t, "", map[string]string{"shop": fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test"]
    backends: [{url: %q}]
`, a.url())})
	c := g.client(false)
	if code, backend, err := opsEcho(c, "https://shop.test/new"); err != nil || code != 200 || backend != "a" {
		t.Fatalf("before the change: status %d backend %q (%v), want 200 from a", code, backend, err)
	}

	opsReplaceFile(t, filepath.Join(g.dir, "tenants", "shop.yaml"), fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test"]
    backends: [{url: %q}]
  - name: new
    hosts: ["shop.test"]
    paths: ["/new"]
    backends: [{url: %q}]
`, a.url(), b.url()))
	opsEventually(t, "the new route serves", func() (bool, string) {
		code, backend, err := opsEcho(c, "https://shop.test/new")
		return err == nil && code == 200 && backend == "b", fmt.Sprintf("status %d backend %q error %v", code, backend, err)
	})
	if code, backend, err := opsEcho(c, "https://shop.test/"); err != nil || code != 200 || backend != "a" {
		t.Errorf("web route after the change: status %d backend %q (%v)", code, backend, err)
	}
	var triggers []any
	for _, e := range g.events.events("config") {
		d, _ := e["detail"].(map[string]any)
		triggers = append(triggers, d["trigger"])
		if e["level"] != "info" {
			t.Errorf("config event %v: a reload failed", e)
		}
	}
	if len(triggers) == 0 || triggers[0] != "file change" {
		t.Errorf("config event triggers %v, want \"file change\"", triggers)
	}
	if _, rd := opsReadyz(t, g); rd.Generation < 2 || rd.Routes != 2 {
		t.Errorf("/readyz generation %d routes %d, want a new generation with 2 routes", rd.Generation, rd.Routes)
	}
}

func TestCertificateExpiryMetric(t *testing.T) {
	web := startBackend(t, "web", nil)
	conf := func(blog bool) map[string]string {
		m := map[string]string{"shop": fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test", "*.shop.test"]
    backends: [{url: %q}]
`, web.url())}
		if blog {
			m["blog"] = fmt.Sprintf(`tenant: blog
routes:
  - name: web
    hosts: ["blog.test"]
    backends: [{url: %q}]
`, web.url())
		}
		return m
	}
	g := startGateway(t, "", conf(true))

	// The certificate each host is served with, by handshake.
	served := func(host string) time.Time {
		conn, err := tls.Dial("tcp", g.g.Addrs().HTTPS, &tls.Config{ServerName: host, RootCAs: g.roots()})
		if err != nil {
			t.Fatalf("handshake for %s: %v", host, err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].NotAfter
	}
	now := time.Now()
	check := func(want map[string]string) {
		t.Helper()
		series := opsSeries(opsScrape(t, g), "bulwark_tls_certificate_expiry_timestamp_seconds")
		if len(series) != len(want) {
			t.Errorf("%d certificate expiry series, want %d: %v", len(series), len(want), series)
		}
		for name, host := range want {
			v, ok := opsMetric(series, "bulwark_tls_certificate_expiry_timestamp_seconds", map[string]string{"certificate": name, "source": "dev-ca"})
			if !ok {
				t.Errorf("no expiry series for certificate %s: %v", name, series)
				continue
			}
			if v <= float64(now.Unix()) {
				t.Errorf("certificate %s expires at %v, not in the future (now %d)", name, v, now.Unix())
			}
			if na := served(host); float64(na.Unix()) != v {
				t.Errorf("certificate %s: metric %v, but %s is served a certificate expiring at %d", name, v, host, na.Unix())
			}
		}
	}
	check(map[string]string{"dev-ca:shop.test": "shop.test", "dev-ca:*.shop.test": "eu.shop.test", "dev-ca:blog.test": "blog.test"})

	// A reload that drops blog's route drops its certificate's series.
	if err := os.Remove(filepath.Join(g.dir, "tenants", "blog.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := g.g.Reload("test"); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	check(map[string]string{"dev-ca:shop.test": "shop.test", "dev-ca:*.shop.test": "eu.shop.test"})
	if _, err := tls.Dial("tcp", g.g.Addrs().HTTPS, &tls.Config{ServerName: "blog.test", RootCAs: g.roots()}); err == nil {
		t.Error("blog.test still has a certificate after its route was removed")
	}
}
