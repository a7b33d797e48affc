package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenDevCACreatesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "dev-ca")
	ca, err := OpenDevCA(dir, fixedClock(testNow))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "ca.crt"); ca.CertFile() != want {
		t.Errorf("CertFile() = %q, want %q", ca.CertFile(), want)
	}
	modes := []struct {
		path string
		want fs.FileMode
	}{
		{dir, fs.ModeDir | 0o700},
		{filepath.Join(dir, "ca.crt"), 0o644},
		{filepath.Join(dir, "ca.key"), 0o600},
	}
	for _, m := range modes {
		info, err := os.Stat(m.path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != m.want {
			t.Errorf("mode of %s = %v, want %v", m.path, info.Mode(), m.want)
		}
	}

	c := ca.cert
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("basic constraints: IsCA=%v valid=%v MaxPathLen=%d zero=%v", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage != x509.KeyUsageCertSign {
		t.Errorf("KeyUsage = %v, want KeyUsageCertSign", c.KeyUsage)
	}
	if !strings.HasPrefix(c.Subject.CommonName, "Bulwark Development CA ") {
		t.Errorf("CommonName = %q", c.Subject.CommonName)
	}
	if want := testNow.AddDate(10, 0, 0); !c.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key is %T, want ECDSA P-256", c.PublicKey)
	}
}

func TestOpenDevCAReusesExistingCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev-ca")
	first, err := OpenDevCA(dir, fixedClock(testNow))
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(first.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	second, err := OpenDevCA(dir, fixedClock(testNow.AddDate(1, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if !second.cert.PublicKey.(*ecdsa.PublicKey).Equal(first.cert.PublicKey) {
		t.Error("second OpenDevCA has a different public key")
	}
	after, err := os.ReadFile(second.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("ca.crt was rewritten")
	}
}

func TestOpenDevCARelativeDir(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	ca, err := OpenDevCA("dev-ca", fixedClock(testNow))
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(ca.CertFile()) {
		t.Errorf("CertFile() = %q, want an absolute path", ca.CertFile())
	}
}

func TestOpenDevCARejectsBadFiles(t *testing.T) {
	other := openTestCA(t)
	otherKey, err := os.ReadFile(other.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	leafKey := newECKey(t)
	leaf := selfSigned(t, leafKey, []string{"leaf.test"}, testNow.AddDate(1, 0, 0))

	tests := []struct {
		name string
		file string // "ca.crt" or "ca.key": the file damaged and named in the error
		data []byte // nil: remove the file
		want string
	}{
		{"corrupt key", "ca.key", []byte("garbage"), "no PEM private key block"},
		{"corrupt certificate", "ca.crt", []byte("garbage"), "no PEM CERTIFICATE block"},
		{"key of another CA", "ca.key", otherKey, "does not match"},
		{"certificate is not a CA", "ca.crt", certPEM(leaf), "not a CA"},
		{"missing key", "ca.key", nil, "missing"},
		{"missing certificate", "ca.crt", nil, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dev-ca")
			if _, err := OpenDevCA(dir, fixedClock(testNow)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tt.file)
			if tt.data == nil {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else {
				writeFile(t, dir, tt.file, tt.data)
			}
			ca, err := OpenDevCA(dir, fixedClock(testNow))
			if ca != nil {
				t.Error("OpenDevCA returned a CA along with an error")
			}
			wantErrContains(t, err, path, tt.want, "delete the directory")
			got, readErr := os.ReadFile(path)
			if tt.data == nil && readErr == nil || tt.data != nil && !bytes.Equal(got, tt.data) {
				t.Errorf("%s was regenerated", tt.file)
			}
		})
	}
}

func TestOpenDevCAExpiry(t *testing.T) {
	caNotAfter := testNow.AddDate(10, 0, 0)
	day := 24 * time.Hour
	tests := []struct {
		name    string
		now     time.Time
		wantErr bool
	}{
		{"one year in", testNow.AddDate(1, 0, 0), false},
		{"31 days left", caNotAfter.Add(-31 * day), false},
		{"29 days left", caNotAfter.Add(-29 * day), true},
		{"expired", caNotAfter.Add(day), true},
	}
	dir := filepath.Join(t.TempDir(), "dev-ca")
	if _, err := OpenDevCA(dir, fixedClock(testNow)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, err := OpenDevCA(dir, fixedClock(tt.now))
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("OpenDevCA: %v", err)
				}
				return
			}
			if ca != nil {
				t.Error("OpenDevCA returned a CA along with an error")
			}
			wantErrContains(t, err, filepath.Join(dir, "ca.crt"), "within 30 days", "delete the directory "+`"`+dir+`"`)
		})
	}
}
