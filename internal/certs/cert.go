package certs

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Values of Cert.Source.
const (
	sourceFile  = "file"
	sourceDevCA = "dev-ca"
)

// Cert is one certificate the listener can serve. It carries what the Store
// indexes by and what logs and the expiry metric report, so neither needs to
// know which source produced it.
type Cert struct {
	// Name is stable and human-readable, for logs and metric labels: the
	// certificate file path as configured, or "dev-ca:" + first host.
	Name string
	// Source says where the certificate came from: "file" or "dev-ca".
	Source string
	// Hosts are the DNS names the leaf covers, lowercase, without a trailing
	// dot, taken from its subjectAltName. "*.example.com" is a wildcard.
	Hosts []string
	// NotAfter is the leaf's expiry, reported so callers can warn or refuse.
	NotAfter time.Time
	// TLS is the chain and key handed to crypto/tls, with Leaf set so the
	// handshake does not parse the leaf again.
	TLS *tls.Certificate
}

// LoadFile reads a PEM certificate chain (leaf first) and its private key.
// certFile and keyFile may be the same file. Errors name the file and the
// problem so a config check can be acted on without reading code. Expired
// certificates load: whether to serve one is the caller's decision, made
// from NotAfter.
func LoadFile(certFile, keyFile string) (*Cert, error) {
	certPEM, err := readFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read certificate file %q: %w", certFile, err)
	}
	chain, err := decodeCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("parse certificate file %q: %w", certFile, err)
	}
	keyPEM, err := readFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read key file %q: %w", keyFile, err)
	}
	key, err := decodePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parse key file %q: %w", keyFile, err)
	}
	if !keyMatches(chain[0], key) {
		return nil, fmt.Errorf("check key file %q: private key does not match the certificate in %q%s",
			keyFile, certFile, orderHint(chain, key))
	}
	cert, err := newCert(certFile, sourceFile, chain, key)
	if err != nil {
		return nil, fmt.Errorf("check certificate file %q: %w", certFile, err)
	}
	return cert, nil
}

// orderHint explains a key mismatch caused by a chain written CA first,
// which looks like a wrong key but is fixed by reordering the file.
func orderHint(chain []*x509.Certificate, key crypto.Signer) string {
	for _, c := range chain[1:] {
		if keyMatches(c, key) {
			return " (it matches a later certificate: the leaf must come first)"
		}
	}
	return ""
}

// newCert builds a Cert from a parsed chain whose first element is the leaf
// for key. Every source goes through here so Hosts is derived one way.
func newCert(name, source string, chain []*x509.Certificate, key crypto.Signer) (*Cert, error) {
	leaf := chain[0]
	hosts := leafHosts(leaf)
	if len(hosts) == 0 {
		return nil, errors.New("no DNS names in the certificate's subjectAltName; the listener selects certificates by SNI host name")
	}
	der := make([][]byte, len(chain))
	for i, c := range chain {
		der[i] = c.Raw
	}
	return &Cert{
		Name:     name,
		Source:   source,
		Hosts:    hosts,
		NotAfter: leaf.NotAfter,
		TLS:      &tls.Certificate{Certificate: der, PrivateKey: key, Leaf: leaf},
	}, nil
}

// leafHosts returns the leaf's DNS names normalized and without duplicates,
// in certificate order.
func leafHosts(leaf *x509.Certificate) []string {
	var hosts []string
	for _, name := range leaf.DNSNames {
		host := normalizeHost(name)
		if host != "" && !slices.Contains(hosts, host) {
			hosts = append(hosts, host)
		}
	}
	return hosts
}
