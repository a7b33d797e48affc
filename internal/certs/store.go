package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Store selects the certificate for a TLS handshake by SNI host name. It is
// immutable after NewStore and so safe for concurrent handshakes without
// locks; the gateway builds a new Store on config reload and swaps it.
// The Certs it holds must not be modified once passed to NewStore.
type Store struct {
	exact    map[string]*Cert // by host name
	wildcard map[string]*Cert // by the domain after "*."
	certs    []*Cert          // sorted by Name
}

// Store.GetCertificate must keep the signature crypto/tls expects.
var _ func(*tls.ClientHelloInfo) (*tls.Certificate, error) = (*Store)(nil).GetCertificate

// NewStore indexes certs by host. Two different certificates claiming the
// same host name (exact or the same wildcard) are an error naming both:
// picking one silently would make which certificate is served depend on
// config order. An exact name and a wildcard covering it do not conflict;
// the exact one wins. The same *Cert listed twice is kept once.
func NewStore(certs []*Cert) (*Store, error) {
	s := &Store{exact: map[string]*Cert{}, wildcard: map[string]*Cert{}}
	for i, c := range certs {
		switch {
		case c == nil:
			return nil, fmt.Errorf("index certificates: certificate %d is nil", i)
		case c.TLS == nil:
			return nil, fmt.Errorf("index certificates: certificate %q has no key pair", c.Name)
		case len(c.Hosts) == 0:
			return nil, fmt.Errorf("index certificates: certificate %q covers no hosts", c.Name)
		case slices.Contains(s.certs, c):
			continue
		}
		for _, host := range c.Hosts {
			if err := s.add(c, host); err != nil {
				return nil, fmt.Errorf("index certificates: %w", err)
			}
		}
		s.certs = append(s.certs, c)
	}
	slices.SortStableFunc(s.certs, func(a, b *Cert) int { return strings.Compare(a.Name, b.Name) })
	return s, nil
}

// add indexes c under one of its host names.
func (s *Store) add(c *Cert, host string) error {
	name := normalizeHost(host)
	if name == "" {
		return fmt.Errorf("certificate %q has an empty host name", c.Name)
	}
	index, key := s.exact, name
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		index, key = s.wildcard, rest
	}
	if prev, ok := index[key]; ok && prev != c {
		return fmt.Errorf("host %q is claimed by both %q and %q", name, prev.Name, c.Name)
	}
	index[key] = c
	return nil
}

// GetCertificate implements tls.Config.GetCertificate. A client without SNI
// or asking for a host no certificate covers gets an error, which fails the
// handshake: serving an unrelated certificate would reveal other host names
// and only produce a confusing verification error on the client.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello == nil || hello.ServerName == "" {
		return nil, errors.New("select certificate: client sent no server name (SNI)")
	}
	c, ok := s.Lookup(hello.ServerName)
	if !ok {
		return nil, fmt.Errorf("select certificate: no certificate for server name %q", hello.ServerName)
	}
	return c.TLS, nil
}

// Lookup selects a certificate for host exactly as a handshake would, so
// config validation can check that every routed host is covered. Matching
// is case-insensitive and ignores one trailing dot. An exact name wins over
// a wildcard; "*.example.com" covers exactly one more leftmost label
// (a.example.com, not a.b.example.com nor example.com). Looking up a
// wildcard pattern such as "*.example.com" finds the wildcard certificate.
func (s *Store) Lookup(host string) (*Cert, bool) {
	name := normalizeHost(host)
	if name == "" {
		return nil, false
	}
	if c, ok := s.exact[name]; ok {
		return c, true
	}
	label, rest, ok := strings.Cut(name, ".")
	if !ok || label == "" || rest == "" {
		return nil, false
	}
	c, ok := s.wildcard[rest]
	return c, ok
}

// Certs returns every certificate sorted by Name, for the expiry metric and
// `config check` output. The slice is a copy; the Certs are shared.
func (s *Store) Certs() []*Cert {
	return slices.Clone(s.certs)
}

// normalizeHost puts a host name in the form the Store indexes by:
// lowercase, without the trailing dot of a fully qualified name.
func normalizeHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(host), ".")
}
