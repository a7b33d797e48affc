package certs

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestIssue(t *testing.T) {
	ca := openTestCA(t)
	c, err := ca.Issue([]string{"API.Example.Test.", "*.apps.example.test", "api.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "dev-ca:api.example.test" || c.Source != "dev-ca" {
		t.Errorf("Name, Source = %q, %q", c.Name, c.Source)
	}
	if want := []string{"api.example.test", "*.apps.example.test"}; !slices.Equal(c.Hosts, want) {
		t.Errorf("Hosts = %q, want %q", c.Hosts, want)
	}
	leaf := c.TLS.Leaf
	if want := testNow.Add(-time.Hour); !leaf.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", leaf.NotBefore, want)
	}
	if want := testNow.Add(90 * 24 * time.Hour); !leaf.NotAfter.Equal(want) || !c.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v (Cert %v), want %v", leaf.NotAfter, c.NotAfter, want)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || leaf.IsCA {
		t.Errorf("ExtKeyUsage = %v, IsCA = %v", leaf.ExtKeyUsage, leaf.IsCA)
	}
	if leaf.SerialNumber.BitLen() != 128 {
		t.Errorf("serial is %d bits, want 128", leaf.SerialNumber.BitLen())
	}
	if len(c.TLS.Certificate) != 2 || !bytes.Equal(c.TLS.Certificate[1], ca.cert.Raw) {
		t.Error("chain is not leaf + CA certificate")
	}
	opts := x509.VerifyOptions{Roots: rootsOf(ca), DNSName: "x.apps.example.test", CurrentTime: testNow}
	if _, err := leaf.Verify(opts); err != nil {
		t.Errorf("leaf does not verify against the CA: %v", err)
	}
	entries, err := os.ReadDir(filepath.Dir(ca.CertFile()))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("dev CA directory holds %d files, want only ca.crt and ca.key", len(entries))
	}
}

func TestIssueSerialsDiffer(t *testing.T) {
	ca := openTestCA(t)
	a, err := ca.Issue([]string{"a.test"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.Issue([]string{"a.test"})
	if err != nil {
		t.Fatal(err)
	}
	if a.TLS.Leaf.SerialNumber.Cmp(b.TLS.Leaf.SerialNumber) == 0 {
		t.Error("two leaves share a serial number")
	}
}

func TestIssueNeverOutlivesCA(t *testing.T) {
	clock := testNow
	dir := filepath.Join(t.TempDir(), "dev-ca")
	ca, err := OpenDevCA(dir, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	clock = ca.cert.NotAfter.Add(-40 * 24 * time.Hour)
	c, err := ca.Issue([]string{"late.test"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.NotAfter.Equal(ca.cert.NotAfter) {
		t.Errorf("leaf NotAfter = %v, want the CA's %v", c.NotAfter, ca.cert.NotAfter)
	}

	clock = ca.cert.NotAfter.Add(time.Hour)
	_, err = ca.Issue([]string{"late.test"})
	wantErrContains(t, err, "expired", ca.CertFile())
}

func TestIssueRejectsBadHosts(t *testing.T) {
	ca := openTestCA(t)
	tests := []struct {
		name  string
		hosts []string
		want  string
	}{
		{"no hosts", nil, "no host names"},
		{"empty name", []string{""}, "empty name"},
		{"empty label", []string{"a..example.test"}, "empty label"},
		{"bare wildcard", []string{"*"}, "wildcard"},
		{"wildcard not leftmost", []string{"a.*.example.test"}, "wildcard"},
		{"partial wildcard label", []string{"web*.example.test"}, "wildcard"},
		{"wildcard without domain", []string{"*."}, "wildcard"},
		{"IPv4 address", []string{"127.0.0.1"}, "IP addresses"},
		{"IPv6 address", []string{"::1"}, "IP addresses"},
		{"space", []string{"bad host.test"}, "invalid character"},
		{"one bad among good", []string{"good.test", "bad/host.test"}, `"bad/host.test"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ca.Issue(tt.hosts)
			if c != nil {
				t.Error("Issue returned a certificate along with an error")
			}
			wantErrContains(t, err, "issue dev certificate", tt.want)
		})
	}
}
