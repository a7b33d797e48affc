package certs

import (
	"crypto/tls"
	"slices"
	"testing"
)

// fakeCert is a Cert without crypto, for tests of indexing and matching
// only; the handshake tests use real certificates.
func fakeCert(name string, hosts ...string) *Cert {
	return &Cert{Name: name, Source: "file", Hosts: hosts, TLS: &tls.Certificate{}}
}

func TestStoreMatching(t *testing.T) {
	apex := fakeCert("apex.crt", "example.test")
	exact := fakeCert("exact.crt", "a.example.test", "Mixed.Example.Test.")
	wild := fakeCert("wild.crt", "*.example.test")
	deep := fakeCert("deep.crt", "*.apps.other.test")
	s, err := NewStore([]*Cert{apex, exact, wild, deep})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		host string
		want *Cert // nil: no certificate
	}{
		{"exact", "example.test", apex},
		{"exact over wildcard", "a.example.test", exact},
		{"upper case SNI", "A.EXAMPLE.TEST", exact},
		{"mixed case in certificate", "mixed.example.test", exact},
		{"trailing dot", "example.test.", apex},
		{"trailing dot on wildcard match", "b.example.test.", wild},
		{"wildcard one label", "b.example.test", wild},
		{"wildcard upper case", "B.Example.TEST", wild},
		{"wildcard two labels deep", "x.b.example.test", nil},
		{"wildcard does not cover apex", "other.test", nil},
		{"deep wildcard one label", "web.apps.other.test", deep},
		{"deep wildcard does not cover its apex", "apps.other.test", nil},
		{"empty leftmost label", ".example.test", nil},
		{"wildcard pattern finds wildcard", "*.example.test", wild},
		{"unknown host", "unknown.test", nil},
		{"suffix of a name is not a match", "xexample.test", nil},
		{"only a dot", ".", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.Lookup(tt.host)
			if got != tt.want || ok != (tt.want != nil) {
				t.Errorf("Lookup(%q) = %v, %v; want %v", tt.host, name(got), ok, name(tt.want))
			}
			tlsCert, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: tt.host})
			switch {
			case tt.want == nil && err == nil:
				t.Errorf("GetCertificate(%q) succeeded, want an error", tt.host)
			case tt.want != nil && (err != nil || tlsCert != tt.want.TLS):
				t.Errorf("GetCertificate(%q) = %p, %v; want %s's certificate", tt.host, tlsCert, err, tt.want.Name)
			}
		})
	}
}

// name returns c's name, or "none".
func name(c *Cert) string {
	if c == nil {
		return "none"
	}
	return c.Name
}

func TestGetCertificateErrors(t *testing.T) {
	s, err := NewStore([]*Cert{fakeCert("a.crt", "a.test")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		hello *tls.ClientHelloInfo
		want  string
	}{
		{"no hello", nil, "no server name"},
		{"no SNI", &tls.ClientHelloInfo{}, "no server name"},
		{"unknown host", &tls.ClientHelloInfo{ServerName: "b.test"}, `no certificate for server name "b.test"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.GetCertificate(tt.hello)
			if c != nil {
				t.Error("GetCertificate returned a certificate along with an error")
			}
			wantErrContains(t, err, "select certificate", tt.want)
		})
	}
}

func TestNewStoreRejects(t *testing.T) {
	tests := []struct {
		name  string
		certs []*Cert
		want  []string
	}{
		{"same exact host", []*Cert{fakeCert("one.crt", "a.test", "b.test"), fakeCert("two.crt", "b.test")},
			[]string{`"b.test"`, `"one.crt"`, `"two.crt"`}},
		{"same host in other case and dot", []*Cert{fakeCert("one.crt", "A.Test."), fakeCert("two.crt", "a.test")},
			[]string{`"a.test"`, `"one.crt"`, `"two.crt"`}},
		{"same wildcard", []*Cert{fakeCert("one.crt", "*.a.test"), fakeCert("two.crt", "*.a.test")},
			[]string{`"*.a.test"`, `"one.crt"`, `"two.crt"`}},
		{"nil certificate", []*Cert{nil}, []string{"certificate 0 is nil"}},
		{"no key pair", []*Cert{{Name: "bare.crt", Hosts: []string{"a.test"}}}, []string{`"bare.crt"`, "no key pair"}},
		{"no hosts", []*Cert{fakeCert("empty.crt")}, []string{`"empty.crt"`, "covers no hosts"}},
		{"empty host", []*Cert{fakeCert("blank.crt", "")}, []string{`"blank.crt"`, "empty host name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewStore(tt.certs)
			if s != nil {
				t.Error("NewStore returned a Store along with an error")
			}
			wantErrContains(t, err, append([]string{"index certificates"}, tt.want...)...)
		})
	}
}

func TestNewStoreAllowsOverlap(t *testing.T) {
	wild := fakeCert("wild.crt", "*.a.test")
	dup := fakeCert("dup.crt", "a.test", "A.test.")
	s, err := NewStore([]*Cert{wild, fakeCert("x.crt", "x.a.test"), dup, dup})
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	if n := len(s.Certs()); n != 3 {
		t.Errorf("Certs() has %d entries, want 3 (the same *Cert twice is kept once)", n)
	}
}

func TestStoreCerts(t *testing.T) {
	c1, c2, c3 := fakeCert("b.crt", "b.test"), fakeCert("c.crt", "c.test"), fakeCert("a.crt", "a.test")
	s, err := NewStore([]*Cert{c1, c2, c3})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Certs()
	if want := []*Cert{c3, c1, c2}; !slices.Equal(got, want) {
		t.Errorf("Certs() order = %v, %v, %v; want a.crt, b.crt, c.crt", got[0].Name, got[1].Name, got[2].Name)
	}
	got[0] = nil
	if s.Certs()[0] != c3 {
		t.Error("modifying the returned slice changed the Store")
	}

	empty, err := NewStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Certs()) != 0 {
		t.Error("empty Store has certificates")
	}
	if _, err := empty.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.test"}); err == nil {
		t.Error("empty Store served a certificate")
	}
}
