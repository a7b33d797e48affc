package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// plainHTTPClient sends http:// requests to the gateway's HTTP listener
// and https:// requests to its HTTPS listener (trusting the development
// CA), whatever the URL's host and port, and does not follow redirects.
func plainHTTPClient(g *gw) *http.Client {
	roots := g.roots()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, g.g.Addrs().HTTP)
		},
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			d := &tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: host}}
			return d.DialContext(ctx, network, g.g.Addrs().HTTPS)
		},
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	g.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// redirectGateway is a gateway with routes on shop.test and *.shop.test;
// static.test is in the shop tenant's registry but has no route.
func redirectGateway(t *testing.T, v platformVariant, backendURL string) *gw {
	t.Helper()
	return startGatewayVariant(t, v, map[string]string{"shop": fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test", "*.shop.test"]
    backends: [{url: %q}]
`, backendURL)})
}

func httpsPort(t *testing.T, g *gw) string {
	t.Helper()
	_, port, err := net.SplitHostPort(g.g.Addrs().HTTPS)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func wantRedirect(t *testing.T, resp *http.Response, location string) {
	t.Helper()
	if resp.StatusCode != http.StatusPermanentRedirect {
		t.Fatalf("status %d, want 308", resp.StatusCode)
	}
	if got := resp.Header.Get("Location"); got != location {
		t.Errorf("Location %q, want %q", got, location)
	}
}

func wantNoRedirect(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Errorf("Location %q on a request that must not be redirected", loc)
	}
}

func TestHTTPRedirectToHTTPS(t *testing.T) {
	be := startBackend(t, "web", nil)
	g := redirectGateway(t, platformVariant{}, be.url())
	c := plainHTTPClient(g)
	port := httpsPort(t, g)

	t.Run("path and query kept, bound port", func(t *testing.T) {
		resp, _ := get(t, c, "GET", "http://shop.test/a?b=1", nil)
		wantRedirect(t, resp, "https://shop.test:"+port+"/a?b=1")
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
	})
	t.Run("port in Host is replaced", func(t *testing.T) {
		resp, _ := get(t, c, "GET", "http://shop.test:8080/a%20b?q=x%26y", nil)
		wantRedirect(t, resp, "https://shop.test:"+port+"/a%20b?q=x%26y")
	})
	t.Run("wildcard host", func(t *testing.T) {
		resp, _ := get(t, c, "GET", "http://eu.shop.test/", nil)
		wantRedirect(t, resp, "https://eu.shop.test:"+port+"/")
	})
	t.Run("unknown host is 404, not a redirect", func(t *testing.T) {
		for _, host := range []string{"evil.test", "static.test", "a.b.shop.test"} {
			resp, body := get(t, c, "GET", "http://"+host+"/a?b=1", http.Header{"Accept": {"application/json"}})
			wantNoRedirect(t, resp)
			if !strings.Contains(body, `"status":404`) || !strings.Contains(body, resp.Header.Get("X-Request-ID")) {
				t.Errorf("%s: body %q is not the renderer's 404", host, body)
			}
		}
	})
	t.Run("ACME challenge path is not redirected", func(t *testing.T) {
		resp, _ := get(t, c, "GET", "http://shop.test/.well-known/acme-challenge/x", nil)
		wantNoRedirect(t, resp)
	})
	t.Run("absolute-form request target cannot redirect elsewhere", func(t *testing.T) {
		// The request target's authority wins over Host (RFC 9112 §3.2.2),
		// so this asks for evil.test and must not be redirected to it.
		resp := rawHTTP(t, g.g.Addrs().HTTP, "GET http://evil.test/x HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusPermanentRedirect {
			t.Fatalf("status %d, want 404 (or a 308 that stays on shop.test)", resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			if u, err := url.Parse(loc); err != nil || u.Hostname() != "shop.test" {
				t.Fatalf("redirected to %q", loc)
			}
		}
	})
	t.Run("scheme-relative path stays on the host", func(t *testing.T) {
		resp := rawHTTP(t, g.g.Addrs().HTTP, "GET //evil.test/x HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n")
		wantRedirect(t, resp, "https://shop.test:"+port+"//evil.test/x")
		if u, err := url.Parse(resp.Header.Get("Location")); err != nil || u.Hostname() != "shop.test" {
			t.Errorf("Location %q leaves shop.test", resp.Header.Get("Location"))
		}
	})
}

// rawHTTP writes a raw HTTP/1.1 request to addr and reads the response.
func rawHTTP(t *testing.T, addr, raw string) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // guard only
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestHTTPRedirectPublicPort(t *testing.T) {
	be := startBackend(t, "web", nil)
	for port, want := range map[string]string{
		"443":  "https://shop.test/a?b=1",
		"8443": "https://shop.test:8443/a?b=1",
	} {
		t.Run(port, func(t *testing.T) {
			g := redirectGateway(t, platformVariant{listeners: "  public_https_port: " + port}, be.url())
			resp, _ := get(t, plainHTTPClient(g), "GET", "http://shop.test/a?b=1", nil)
			wantRedirect(t, resp, want)
		})
	}
}

func TestHTTPRedirectKeepsMethod(t *testing.T) {
	be := startBackend(t, "web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), body)
	}))
	g := redirectGateway(t, platformVariant{}, be.url())
	c := plainHTTPClient(g)
	port := httpsPort(t, g)

	req, err := http.NewRequest("POST", "http://shop.test/form?x=1", strings.NewReader("a=1&b=2"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantRedirect(t, resp, "https://shop.test:"+port+"/form?x=1")

	// A client following the 308 repeats the POST with its body; the
	// backend receives it over HTTPS as it was sent.
	follow := *c
	follow.CheckRedirect = nil
	req, _ = http.NewRequest("POST", "http://shop.test/form?x=1", strings.NewReader("a=1&b=2"))
	resp, body := doRead(t, &follow, req)
	if resp.StatusCode != http.StatusOK || body != "POST /form?x=1 a=1&b=2" {
		t.Fatalf("after following: status %d, backend saw %q", resp.StatusCode, body)
	}
	if resp.Request.URL.Scheme != "https" || resp.TLS == nil {
		t.Errorf("final request was not over HTTPS: %s", resp.Request.URL)
	}
}

// doRead sends req through c and returns the response with its body read.
func doRead(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(body)
}
