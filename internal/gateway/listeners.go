package gateway

import (
	"crypto/tls"
	"net"
	"net/http"
	"strconv"

	"github.com/bulwark-sec/bulwark/internal/listener"
	"github.com/bulwark-sec/bulwark/internal/request"
)

// baseTLS is the HTTPS server's TLS configuration. Every handshake takes
// the policy and certificates of the generation current at that moment, so
// a reload changes both without restarting the listener.
func (g *Gateway) baseTLS() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return g.gen.Load().tls, nil
		},
	}
}

// serveHTTP is the plain-HTTP listener: a 308 to HTTPS for hosts the
// gateway serves, 404 for others. ACME HTTP-01 challenges are answered
// here once certificate automation lands; until then they get 404.
func (g *Gateway) serveHTTP(gen *generation, w http.ResponseWriter, r *http.Request) {
	rd := &listener.Redirect{
		Port:  gen.redirectPort(g.addrs.HTTPS),
		Known: gen.routes.HasHost,
		NotFound: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			request.Deny(w, r, request.Verdict{Layer: request.LayerRoute, Action: request.ActionReject,
				Status: http.StatusNotFound, Cause: "plain HTTP for a host the gateway does not serve"})
		}),
	}
	rd.ServeHTTP(w, r)
}

// redirectPort is the HTTPS port clients see: the platform's
// public_https_port, or the port the HTTPS listener is bound to.
func (gen *generation) redirectPort(bound string) int {
	if p := gen.cfg.Platform.Listeners.PublicHTTPSPort; p != 0 {
		return p
	}
	_, port, err := net.SplitHostPort(bound)
	if err != nil {
		return 443
	}
	n, _ := strconv.Atoi(port)
	return n
}
