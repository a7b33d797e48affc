package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

func TestHostAndPathRouting(t *testing.T) {
	root, api, admin, wild, blog := startBackend(t, "root", nil), startBackend(t, "api", nil),
		startBackend(t, "admin", nil), startBackend(t, "wild", nil), startBackend(t, "blog", nil)
	g := startGateway(t, "", map[string]string{
		"shop": fmt.Sprintf(`tenant: shop
routes:
  - name: root
    hosts: ["shop.test"]
    backends: [{url: %q}]
  - name: api
    hosts: ["shop.test"]
    paths: ["/api"]
    backends: [{url: %q}]
  - name: admin
    hosts: ["shop.test"]
    paths: ["/api/admin"]
    backends: [{url: %q}]
  - name: wild
    hosts: ["*.shop.test"]
    backends: [{url: %q}]
`, root.url(), api.url(), admin.url(), wild.url()),
		"blog": fmt.Sprintf(`tenant: blog
routes:
  - name: web
    hosts: ["blog.test"]
    paths: ["/post"]
    backends: [{url: %q}]
`, blog.url()),
	})
	c := g.client(false)
	cases := []struct{ url, backend string }{
		{"https://shop.test/", "root"},
		{"https://shop.test/apix", "root"},
		{"https://shop.test/api", "api"},
		{"https://shop.test/api/v1/items", "api"},
		{"https://shop.test/api/admin/users", "admin"},
		{"https://shop.test/static/../api/admin", "admin"},
		{"https://eu.shop.test/anything", "wild"},
		{"https://blog.test/post/1", "blog"},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			resp, body := get(t, c, "GET", tc.url, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			if e := decodeEcho(t, body); e.Backend != tc.backend {
				t.Errorf("served by %s, want %s", e.Backend, tc.backend)
			}
		})
	}
	t.Run("no route is a 404 from the one renderer", func(t *testing.T) {
		resp, body := get(t, c, "GET", "https://blog.test/other", http.Header{"Accept": {"application/json"}})
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
		want := fmt.Sprintf(`{"status":404,"error":"No site or page is configured here.","request_id":%q}`+"\n", resp.Header.Get("X-Request-ID"))
		if body != want || len(resp.Header.Get("X-Request-ID")) != 32 {
			t.Errorf("body %q, want %q", body, want)
		}
	})
	t.Run("unknown host fails the TLS handshake", func(t *testing.T) {
		if _, err := c.Get("https://a.b.shop.test/"); err == nil {
			t.Fatal("handshake for a host with no certificate succeeded")
		}
	})
}
