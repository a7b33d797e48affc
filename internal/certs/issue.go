package certs

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// leafValidity keeps dev certificates short-lived; they are re-issued on
// every start, so nothing has to renew them.
const leafValidity = 90 * 24 * time.Hour

// Issue signs a new ECDSA P-256 server certificate for hosts, kept in memory
// only: the CA is the thing users trust, leaves are cheap to re-create on
// every start. Hosts are DNS names, case-insensitive, and may be one-label
// wildcards such as "*.example.com"; IP addresses are refused because the
// Store selects by SNI, which never carries one. The leaf is valid from
// now-1h to now+90 days, cut off at the CA's own expiry, and the chain is
// leaf + CA certificate.
func (ca *DevCA) Issue(hosts []string) (*Cert, error) {
	names, err := issueHosts(hosts)
	if err != nil {
		return nil, fmt.Errorf("issue dev certificate: %w", err)
	}
	notBefore, notAfter, err := ca.leafWindow()
	if err != nil {
		return nil, fmt.Errorf("issue dev certificate: %w", err)
	}
	leaf, key, err := ca.signLeaf(names, notBefore, notAfter)
	if err != nil {
		return nil, fmt.Errorf("issue dev certificate: %w", err)
	}
	return newCert(sourceDevCA+":"+names[0], sourceDevCA, []*x509.Certificate{leaf, ca.cert}, key)
}

// leafWindow returns the validity of a leaf issued now: backdated for clock
// skew, and never outside the CA's own validity, which clients would reject.
func (ca *DevCA) leafWindow() (notBefore, notAfter time.Time, err error) {
	now := ca.now()
	notBefore = later(now.Add(-backdate), ca.cert.NotBefore)
	notAfter = now.Add(leafValidity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	if !notAfter.After(now) {
		return time.Time{}, time.Time{}, fmt.Errorf("CA %q expired at %s; delete the directory %q to create a new CA",
			ca.certPath, ca.cert.NotAfter.UTC().Format(time.RFC3339), ca.dir)
	}
	return notBefore, notAfter, nil
}

// signLeaf generates a key and a server certificate for names signed by the CA.
func (ca *DevCA) signLeaf(names []string, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	return signNewKey(&x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"Bulwark development certificate"}},
		DNSNames:              names,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}, ca.cert, ca.key)
}

// later returns the later of a and b; a leaf must not start before its CA.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// issueHosts normalizes and checks the names for Issue, dropping
// duplicates so the first name (which names the Cert) stays first.
func issueHosts(hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		return nil, errors.New("no host names given")
	}
	var names []string
	for _, h := range hosts {
		name := normalizeHost(h)
		if err := checkDNSName(name); err != nil {
			return nil, fmt.Errorf("host %q: %w", h, err)
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// checkDNSName accepts a lowercase DNS name, optionally with "*" as its
// whole leftmost label. It is deliberately loose about label syntax
// (underscores pass) but refuses what no client would ever match.
func checkDNSName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if net.ParseIP(name) != nil {
		return errors.New("IP addresses are not supported; use a DNS name")
	}
	if len(name) > 253 {
		return errors.New("name longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	for i, label := range labels {
		switch {
		case label == "*" && i == 0 && len(labels) > 1:
			continue
		case strings.Contains(label, "*"):
			return errors.New("a wildcard must be the whole leftmost label of a longer name, as in *.example.com")
		case label == "":
			return errors.New("empty label")
		case len(label) > 63:
			return fmt.Errorf("label %q longer than 63 characters", label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("invalid character %q", r)
			}
		}
	}
	return nil
}
