package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestLoadFile(t *testing.T) {
	key := newECKey(t)
	hosts := []string{"WWW.Example.Test", "api.example.test.", "www.example.test"}
	good := selfSigned(t, key, hosts, testNow.AddDate(0, 6, 0))
	ecDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert := selfSigned(t, rsaKey, hosts, testNow.AddDate(0, 6, 0))
	expired := selfSigned(t, key, hosts, testNow.Add(-time.Hour))
	ca := openTestCA(t)
	issued, err := ca.Issue(hosts)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		certPEM   []byte
		keyPEM    []byte // nil: the key is in the certificate file
		wantLeaf  *x509.Certificate
		wantChain int
	}{
		{"pkcs8 ecdsa", certPEM(good), pkcs8PEM(t, key), good, 1},
		{"sec1 ecdsa", certPEM(good), pemBlock("EC PRIVATE KEY", ecDER), good, 1},
		{"pkcs1 rsa", certPEM(rsaCert), pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsaCert, 1},
		{"combined file", append(pkcs8PEM(t, key), certPEM(good)...), nil, good, 1},
		{"expired certificate still loads", certPEM(expired), pkcs8PEM(t, key), expired, 1},
		{"chain with CA", certPEM(issued.TLS.Leaf, ca.cert), pkcs8PEM(t, issued.TLS.PrivateKey.(crypto.Signer)), issued.TLS.Leaf, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certFile := writeFile(t, dir, "tls.crt", tt.certPEM)
			keyFile := certFile
			if tt.keyPEM != nil {
				keyFile = writeFile(t, dir, "tls.key", tt.keyPEM)
			}
			c, err := LoadFile(certFile, keyFile)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if c.Name != certFile || c.Source != "file" {
				t.Errorf("Name, Source = %q, %q; want %q, %q", c.Name, c.Source, certFile, "file")
			}
			if want := []string{"www.example.test", "api.example.test"}; !slices.Equal(c.Hosts, want) {
				t.Errorf("Hosts = %q, want %q", c.Hosts, want)
			}
			if !c.NotAfter.Equal(tt.wantLeaf.NotAfter) {
				t.Errorf("NotAfter = %v, want %v", c.NotAfter, tt.wantLeaf.NotAfter)
			}
			if c.TLS.Leaf == nil || !c.TLS.Leaf.Equal(tt.wantLeaf) {
				t.Errorf("TLS.Leaf is not the leaf from the file")
			}
			if len(c.TLS.Certificate) != tt.wantChain {
				t.Errorf("chain length = %d, want %d", len(c.TLS.Certificate), tt.wantChain)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	key := newECKey(t)
	good := selfSigned(t, key, []string{"example.test"}, testNow.AddDate(0, 6, 0))
	noDNS := selfSigned(t, key, nil, testNow.AddDate(0, 6, 0))
	caKey := newECKey(t)
	caCert := selfSigned(t, caKey, []string{"ca.example.test"}, testNow.AddDate(1, 0, 0))

	tests := []struct {
		name    string
		certPEM []byte // nil: file missing
		keyPEM  []byte // nil: file missing
		inKey   bool   // the error must name the key file
		inCert  bool   // the error must name the certificate file
		want    string
		wantIs  error
	}{
		{"missing certificate file", nil, pkcs8PEM(t, key), false, true, "no such file", fs.ErrNotExist},
		{"missing key file", certPEM(good), nil, true, false, "no such file", fs.ErrNotExist},
		{"garbage certificate file", []byte("not a certificate"), pkcs8PEM(t, key), false, true, "no PEM CERTIFICATE block", nil},
		{"corrupt certificate block", pemBlock("CERTIFICATE", []byte("junk")), pkcs8PEM(t, key), false, true, "certificate 1", nil},
		{"garbage key file", certPEM(good), []byte("not a key"), true, false, "no PEM private key block", nil},
		{"key file holds the certificate", certPEM(good), certPEM(good), true, false, "found CERTIFICATE", nil},
		{"encrypted key", certPEM(good), pemBlock("ENCRYPTED PRIVATE KEY", []byte("x")), true, false, "encrypted", nil},
		{"unsupported key type", certPEM(good), pemBlock("OPENSSH PRIVATE KEY", []byte("x")), true, false, "unsupported", nil},
		{"corrupt key block", certPEM(good), pemBlock("PRIVATE KEY", []byte("junk")), true, false, "PRIVATE KEY", nil},
		{"mismatched key", certPEM(good), pkcs8PEM(t, newECKey(t)), true, true, "does not match", nil},
		{"chain in wrong order", certPEM(caCert, good), pkcs8PEM(t, key), true, true, "leaf must come first", nil},
		{"no DNS names", certPEM(noDNS), pkcs8PEM(t, key), false, true, "no DNS names", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certFile := filepath.Join(dir, "tls.crt")
			keyFile := filepath.Join(dir, "tls.key")
			if tt.certPEM != nil {
				writeFile(t, dir, "tls.crt", tt.certPEM)
			}
			if tt.keyPEM != nil {
				writeFile(t, dir, "tls.key", tt.keyPEM)
			}
			c, err := LoadFile(certFile, keyFile)
			if c != nil {
				t.Errorf("LoadFile returned a certificate with error %v", err)
			}
			wantErrContains(t, err, tt.want)
			if tt.inKey {
				wantErrContains(t, err, keyFile)
			}
			if tt.inCert {
				wantErrContains(t, err, certFile)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
}
