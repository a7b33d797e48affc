package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/gateway"
)

// writeSelfSigned writes a self-signed certificate for hosts and its key
// as PEM files in dir and returns the certificate.
func writeSelfSigned(t *testing.T, dir string, hosts ...string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "certs", "site.crt"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, "certs", "site.key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
	cert, _ := x509.ParseCertificate(der)
	return cert
}

const fileCertPlatform = `
listeners: {https: "127.0.0.1:0", http: "", admin: ""}
tls:
  dev_ca: %v
  certificates:
    - cert: certs/site.crt
      key: certs/site.key
state_dir: %q
tenants:
  shop:
    hosts: ["shop.test", "other.test"]
`

// TestFileCertificate serves a certificate from PEM files for the host it
// covers, and the development CA only for the hosts it does not.
func TestFileCertificate(t *testing.T) {
	be := startBackend(t, "web", nil)
	dir := t.TempDir()
	file := writeSelfSigned(t, dir, "shop.test")
	writeFile(t, filepath.Join(dir, "platform.yaml"), fmt.Sprintf(fileCertPlatform, true, t.TempDir()))
	writeFile(t, filepath.Join(dir, "tenants", "shop.yaml"), fmt.Sprintf(
		"tenant: shop\nroutes:\n  - name: web\n    hosts: [\"shop.test\", \"other.test\"]\n    backends: [{url: %q}]\n", be.url()))
	g, err := gateway.New(gateway.Options{Dir: dir, Stdout: &lockedBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Shutdown(context.Background()) })

	for host, wantFile := range map[string]bool{"shop.test": true, "other.test": false} {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.Addrs().HTTPS,
			&tls.Config{ServerName: host, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		leaf := conn.ConnectionState().PeerCertificates[0]
		conn.Close()
		if got := leaf.Equal(file); got != wantFile {
			t.Errorf("%s: served the file certificate = %v, want %v (got %v)", host, got, wantFile, leaf.DNSNames)
		}
		if leaf.DNSNames[0] != host {
			t.Errorf("%s: certificate names %v", host, leaf.DNSNames)
		}
	}
}

// TestHostWithoutCertificate refuses, at start, a routed host that no
// certificate covers when the development CA is off.
func TestHostWithoutCertificate(t *testing.T) {
	dir := t.TempDir()
	writeSelfSigned(t, dir, "shop.test")
	writeFile(t, filepath.Join(dir, "platform.yaml"), fmt.Sprintf(fileCertPlatform, false, t.TempDir()))
	writeFile(t, filepath.Join(dir, "tenants", "shop.yaml"),
		"tenant: shop\nroutes:\n  - name: web\n    hosts: [\"shop.test\", \"other.test\"]\n    backends: [{url: \"http://127.0.0.1:1\"}]\n")
	_, err := gateway.New(gateway.Options{Dir: dir, Stdout: &lockedBuffer{}})
	want := filepath.Join(dir, "tenants", "shop.yaml") + ":4:26: routes[0].hosts[1]: host other.test of route shop/web has no certificate"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v\nwant prefix %s", err, want)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "state")); statErr == nil {
		t.Error("a state directory was created for a configuration that was refused")
	}
}
