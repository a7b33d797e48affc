package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
)

// handshakeResult is what both ends of one TLS handshake saw.
type handshakeResult struct {
	leaf      *x509.Certificate // the leaf the client received; nil on failure
	clientErr error
	serverErr error
}

// handshake runs one real TLS handshake over loopback TCP: a server whose
// only certificate source is store, and a client trusting roots that sends
// serverName as SNI. An empty serverName sends no SNI; the client then skips
// verification so that only the server can fail the handshake.
func handshake(t *testing.T, store *Store, roots *x509.CertPool, serverName string) handshakeResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer conn.Close()
		serverErr <- tls.Server(conn, &tls.Config{GetCertificate: store.GetCertificate}).Handshake()
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	client := tls.Client(conn, &tls.Config{
		RootCAs:            roots,
		ServerName:         serverName,
		InsecureSkipVerify: serverName == "",
		Time:               fixedClock(testNow),
	})
	var res handshakeResult
	res.clientErr = client.Handshake()
	if res.clientErr == nil {
		res.leaf = client.ConnectionState().PeerCertificates[0]
	}
	client.Close()
	res.serverErr = <-serverErr
	return res
}

func TestHandshake(t *testing.T) {
	ca := openTestCA(t)
	exact, err := ca.Issue([]string{"api.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	wild, err := ca.Issue([]string{"*.apps.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := NewStore([]*Cert{exact, wild})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		serverName string
		want       *Cert  // the certificate served; nil: handshake fails
		serverErr  string // on failure, what the server's error says
	}{
		{"exact host", "api.example.test", exact, ""},
		{"exact host in upper case", "API.Example.Test", exact, ""},
		{"one-label wildcard", "web.apps.example.test", wild, ""},
		{"two labels under wildcard", "a.web.apps.example.test", nil, "no certificate for server name"},
		{"wildcard apex", "apps.example.test", nil, "no certificate for server name"},
		{"unknown host", "unknown.example.test", nil, "no certificate for server name"},
		{"no SNI", "", nil, "no server name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := handshake(t, store, rootsOf(ca), tt.serverName)
			if tt.want != nil {
				if res.clientErr != nil || res.serverErr != nil {
					t.Fatalf("handshake failed: client %v, server %v", res.clientErr, res.serverErr)
				}
				if !res.leaf.Equal(tt.want.TLS.Leaf) {
					t.Errorf("served %v, want %s", res.leaf.DNSNames, tt.want.Name)
				}
				return
			}
			if res.clientErr == nil {
				t.Errorf("client handshake succeeded with %v, want failure", res.leaf.DNSNames)
			}
			wantErrContains(t, res.serverErr, tt.serverErr)
		})
	}
}

func TestHandshakeRejectsOtherCA(t *testing.T) {
	ca := openTestCA(t)
	c, err := ca.Issue([]string{"api.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := NewStore([]*Cert{c})
	if err != nil {
		t.Fatal(err)
	}
	res := handshake(t, store, rootsOf(openTestCA(t)), "api.example.test")
	if res.clientErr == nil {
		t.Error("client trusting a different dev CA accepted the certificate")
	}
}
