package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// oneRoute is a tenant file for shop with one route "web" on shop.test
// to the given backend URLs, plus extra route keys (indented four spaces).
func oneRoute(extra string, urls ...string) string {
	var b strings.Builder
	b.WriteString("tenant: shop\nroutes:\n  - name: web\n    hosts: [\"shop.test\"]\n    backends:\n")
	for _, u := range urls {
		fmt.Fprintf(&b, "      - url: %q\n", u)
	}
	b.WriteString(extra)
	return b.String()
}

// dialTLS performs a TLS handshake with the HTTPS listener for
// serverName, trusting the development CA, with cfg's versions and
// suites. The dialer timeout only guards against a hang.
func dialTLS(g *gw, serverName string, cfg *tls.Config) (*tls.Conn, error) {
	c := cfg.Clone()
	c.ServerName = serverName
	c.RootCAs = g.roots()
	return tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", g.g.Addrs().HTTPS, c)
}

// wantServerAlert checks that a handshake failed because the server sent
// the TLS alert named alert ("protocol version not supported", "handshake
// failure"): Go reports alerts received from the peer as "remote error",
// so a refusal made by the client itself does not pass.
func wantServerAlert(t *testing.T, conn *tls.Conn, err error, alert string) {
	t.Helper()
	if err == nil {
		st := conn.ConnectionState()
		conn.Close()
		t.Fatalf("handshake succeeded (%s, %s), want the server to refuse it", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	}
	if want := "remote error: tls: " + alert; !strings.Contains(err.Error(), want) {
		t.Fatalf("handshake error %q, want %q (an alert sent by the server)", err, want)
	}
}

// tlsWebGateway is a gateway with one route on shop.test to an echo
// backend.
func tlsWebGateway(t *testing.T, v platformVariant) *gw {
	t.Helper()
	be := startBackend(t, "web", nil)
	return startGatewayVariant(t, v, map[string]string{"shop": oneRoute("", be.url())})
}

// versionClient is an HTTPS client for g limited to exactly one TLS
// version.
func versionClient(g *gw, version uint16) *http.Client {
	c := g.client(false)
	c.Transport.(*http.Transport).TLSClientConfig.MinVersion = version
	c.Transport.(*http.Transport).TLSClientConfig.MaxVersion = version
	return c
}

func TestTLSVersionsGoClient(t *testing.T) {
	g := tlsWebGateway(t, platformVariant{})
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		t.Run(tls.VersionName(v)+" refused", func(t *testing.T) {
			conn, err := dialTLS(g, "shop.test", &tls.Config{MinVersion: v, MaxVersion: v})
			wantServerAlert(t, conn, err, "protocol version not supported")
		})
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v)+" served", func(t *testing.T) {
			resp, body := get(t, versionClient(g, v), "GET", "https://shop.test/x", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			if resp.TLS == nil || resp.TLS.Version != v {
				t.Fatalf("negotiated %v, want %s", resp.TLS, tls.VersionName(v))
			}
			if e := decodeEcho(t, body); e.Backend != "web" || e.Path != "/x" {
				t.Errorf("backend saw %+v", e)
			}
			want := map[uint16]string{tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}[v]
			rid := resp.Header.Get("X-Request-ID")
			a := g.awaitEvent("access", func(e map[string]any) bool { return e["request_id"] == rid })
			if a["tls_version"] != want {
				t.Errorf("access record tls_version %v, want %s", a["tls_version"], want)
			}
		})
	}
}

// openssl runs `openssl s_client` against the HTTPS listener for
// shop.test, verifying against the development CA, with args added. It
// returns the combined output and whether the command succeeded.
func openssl(t *testing.T, g *gw, args ...string) (string, bool) {
	t.Helper()
	const bin = "/usr/bin/openssl"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("these tests need %s: %v", bin, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := append([]string{"s_client", "-connect", g.g.Addrs().HTTPS, "-servername", "shop.test",
		"-CAfile", g.g.DevCAFile(), "-verify_return_error"}, args...)
	cmd := exec.CommandContext(ctx, bin, a...)
	cmd.Stdin = strings.NewReader("Q\n")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("openssl %v did not finish: %s", args, out)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("openssl %v: %v", args, err)
	}
	return string(out), err == nil
}

// wantOpenSSLServerAlert checks that openssl's handshake failed on an
// alert it read from the server. OpenSSL reports an alert it received as
// "ssl3_read_bytes:<ver> alert <name>" with "SSL alert number N"; a
// refusal of its own ("no protocols available", "no ciphers available")
// looks different and fails this check.
func wantOpenSSLServerAlert(t *testing.T, out string, ok bool, name string, number int) {
	t.Helper()
	if ok {
		t.Fatalf("openssl handshake succeeded, want the server to refuse it:\n%s", out)
	}
	for _, clientSide := range []string{"no protocols available", "no ciphers available", "no cipher match"} {
		if strings.Contains(out, clientSide) {
			t.Fatalf("openssl refused on its own side (%q), so the server's policy was not tested:\n%s", clientSide, out)
		}
	}
	if !strings.Contains(out, "ssl3_read_bytes:") || !strings.Contains(out, "alert "+name) ||
		!strings.Contains(out, fmt.Sprintf("SSL alert number %d", number)) {
		t.Fatalf("want the server's %q alert (number %d) in openssl's output:\n%s", name, number, out)
	}
}

// wantOpenSSLSession checks a successful verified handshake at version
// (as openssl names it) with a forward-secret AEAD suite.
func wantOpenSSLSession(t *testing.T, out string, ok bool, version string) {
	t.Helper()
	if !ok {
		t.Fatalf("openssl handshake failed:\n%s", out)
	}
	if !strings.Contains(out, "Verify return code: 0 (ok)") {
		t.Errorf("certificate not verified against the development CA:\n%s", out)
	}
	m := regexp.MustCompile(`New, (TLSv[0-9.]+), Cipher is (\S+)`).FindStringSubmatch(out)
	if m == nil || m[1] != version {
		t.Fatalf("negotiated %v, want %s:\n%s", m, version, out)
	}
	if !regexp.MustCompile(`Protocol\s*: ` + regexp.QuoteMeta(version) + `\n`).MatchString(out) {
		t.Errorf("session Protocol is not %s:\n%s", version, out)
	}
	if !regexp.MustCompile(`^(ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)|TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256))$`).MatchString(m[2]) {
		t.Errorf("cipher %s is not a forward-secret AEAD suite", m[2])
	}
}

func TestTLSVersionsOpenSSL(t *testing.T) {
	g := tlsWebGateway(t, platformVariant{})
	// OpenSSL 3 does not offer TLS < 1.2 at its default security level;
	// level 0 makes it offer them, so the refusal is the server's.
	for _, v := range []string{"-tls1", "-tls1_1"} {
		t.Run(v+" refused", func(t *testing.T) {
			out, ok := openssl(t, g, v, "-cipher", "DEFAULT:@SECLEVEL=0")
			wantOpenSSLServerAlert(t, out, ok, "protocol version", 70)
		})
	}
	for v, name := range map[string]string{"-tls1_2": "TLSv1.2", "-tls1_3": "TLSv1.3"} {
		t.Run(v+" served", func(t *testing.T) {
			out, ok := openssl(t, g, v)
			wantOpenSSLSession(t, out, ok, name)
		})
	}
	t.Run("TLS 1.2 CBC suite refused", func(t *testing.T) {
		out, ok := openssl(t, g, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")
		wantOpenSSLServerAlert(t, out, ok, "handshake failure", 40)
	})
}

func TestTLSCipherSuites(t *testing.T) {
	g := tlsWebGateway(t, platformVariant{})
	t.Run("TLS 1.2 with only CBC suites refused", func(t *testing.T) {
		conn, err := dialTLS(g, "shop.test", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
				tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
				tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
				tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
				tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
			}})
		wantServerAlert(t, conn, err, "handshake failure")
	})
	for _, suite := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	} {
		t.Run("TLS 1.2 with "+tls.CipherSuiteName(suite)+" served", func(t *testing.T) {
			conn, err := dialTLS(g, "shop.test", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{suite}})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			if st := conn.ConnectionState(); st.Version != tls.VersionTLS12 || st.CipherSuite != suite {
				t.Errorf("negotiated %s with %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
			}
		})
	}
}

func TestTLSMinVersion13(t *testing.T) {
	g := tlsWebGateway(t, platformVariant{tls: `  min_version: "1.3"`})
	t.Run("TLS 1.2 refused", func(t *testing.T) {
		conn, err := dialTLS(g, "shop.test", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12})
		wantServerAlert(t, conn, err, "protocol version not supported")
	})
	t.Run("openssl TLS 1.2 refused", func(t *testing.T) {
		out, ok := openssl(t, g, "-tls1_2")
		wantOpenSSLServerAlert(t, out, ok, "protocol version", 70)
	})
	t.Run("TLS 1.3 served", func(t *testing.T) {
		resp, body := get(t, versionClient(g, tls.VersionTLS13), "GET", "https://shop.test/", nil)
		if resp.StatusCode != http.StatusOK || resp.TLS.Version != tls.VersionTLS13 {
			t.Fatalf("status %d over %s, body %s", resp.StatusCode, tls.VersionName(resp.TLS.Version), body)
		}
	})
}

func TestTLSSNISelectsCertificate(t *testing.T) {
	shop, blog := startBackend(t, "shop", nil), startBackend(t, "blog", nil)
	g := startGatewayVariant(t, platformVariant{}, map[string]string{
		"shop": fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test", "*.shop.test"]
    backends: [{url: %q}]
`, shop.url()),
		"blog": fmt.Sprintf(`tenant: blog
routes:
  - name: web
    hosts: ["blog.test"]
    backends: [{url: %q}]
`, blog.url()),
	})
	for sni, want := range map[string]string{"shop.test": "shop.test", "blog.test": "blog.test", "eu.shop.test": "*.shop.test"} {
		t.Run(sni, func(t *testing.T) {
			// dialTLS verifies the chain and the name against the dev CA.
			conn, err := dialTLS(g, sni, &tls.Config{})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			leaf := conn.ConnectionState().PeerCertificates[0]
			if !slices.Equal(leaf.DNSNames, []string{want}) {
				t.Errorf("leaf for %s covers %v, want [%s]", sni, leaf.DNSNames, want)
			}
		})
	}
	t.Run("each host is served by its own tenant", func(t *testing.T) {
		c := g.client(false)
		for host, want := range map[string]string{"shop.test": "shop", "blog.test": "blog"} {
			resp, body := get(t, c, "GET", "https://"+host+"/", nil)
			if resp.StatusCode != http.StatusOK || decodeEcho(t, body).Backend != want {
				t.Errorf("%s: status %d, body %s", host, resp.StatusCode, body)
			}
			if got := resp.TLS.PeerCertificates[0].DNSNames; !slices.Equal(got, []string{host}) {
				t.Errorf("%s served with a certificate for %v", host, got)
			}
		}
	})
}

func TestHSTS(t *testing.T) {
	// The backend sets its own, weaker policy; the platform's must win.
	be := startBackend(t, "web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=60")
		_, _ = io.WriteString(w, "ok")
	}))
	routes := map[string]string{"shop": oneRoute("    paths: [\"/app\"]\n", be.url())}
	cases := []struct {
		name string
		tls  string
		want string // "" means no header at all
	}{
		{"default", "", "max-age=15552000"},
		{"configured", "  hsts: {max_age: 365d, include_subdomains: true, preload: true}", "max-age=31536000; includeSubDomains; preload"},
		{"disabled", "  hsts: {max_age: 0s}", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := startGatewayVariant(t, platformVariant{tls: tc.tls}, routes)
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			c := g.client(false)
			resp, body := get(t, c, "GET", "https://shop.test/app", nil)
			if resp.StatusCode != http.StatusOK || body != "ok" {
				t.Fatalf("status %d, body %q: the backend was not reached", resp.StatusCode, body)
			}
			if got := resp.Header.Values("Strict-Transport-Security"); !slices.Equal(got, want) {
				t.Errorf("proxied response Strict-Transport-Security %q, want %q", got, want)
			}
			resp, _ = get(t, c, "GET", "https://shop.test/other", nil) // no route: the renderer's 404
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("/other: status %d, want 404", resp.StatusCode)
			}
			if got := resp.Header.Values("Strict-Transport-Security"); !slices.Equal(got, want) {
				t.Errorf("404 Strict-Transport-Security %q, want %q", got, want)
			}
			// RFC 6797 §7.2: never over plain HTTP.
			resp, _ = get(t, plainHTTPClient(g), "GET", "http://shop.test/", nil)
			if resp.StatusCode != http.StatusPermanentRedirect {
				t.Fatalf("plain HTTP: status %d, want 308", resp.StatusCode)
			}
			if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 0 {
				t.Errorf("plain HTTP response carries Strict-Transport-Security %q", got)
			}
		})
	}
}

func TestHTTP2(t *testing.T) {
	g := tlsWebGateway(t, platformVariant{})
	resp, body := get(t, g.client(true), "GET", "https://shop.test/h2", nil)
	if resp.ProtoMajor != 2 || resp.TLS.NegotiatedProtocol != "h2" {
		t.Fatalf("served over %s (ALPN %q), want HTTP/2", resp.Proto, resp.TLS.NegotiatedProtocol)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	if e := decodeEcho(t, body); e.Backend != "web" || e.Path != "/h2" || e.Host != "shop.test" {
		t.Errorf("backend saw %+v", e)
	}
	rid := resp.Header.Get("X-Request-ID")
	if a := g.awaitEvent("access", func(e map[string]any) bool { return e["request_id"] == rid }); a["proto"] != "HTTP/2.0" {
		t.Errorf("access record proto %v, want HTTP/2.0", a["proto"])
	}
}
