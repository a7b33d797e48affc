package listener

import (
	"crypto/tls"
	"fmt"
)

// TLSConfig returns the server TLS configuration for a minimum version of
// "1.2" or "1.3" (INV-2). For TLS 1.2 only forward-secret AEAD suites are
// offered: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305. TLS 1.3
// suites are all AEAD with forward secrecy and are not configurable in Go.
func TLSConfig(minVersion string, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) (*tls.Config, error) {
	cfg := &tls.Config{
		GetCertificate: getCert,
		NextProtos:     []string{"h2", "http/1.1"},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
	switch minVersion {
	case "1.2":
		cfg.MinVersion = tls.VersionTLS12
	case "1.3":
		cfg.MinVersion = tls.VersionTLS13
	default:
		// config.Load refuses anything else; refusing here too keeps a
		// wiring mistake from ever producing a weaker listener.
		return nil, fmt.Errorf("tls: minimum version %q is not 1.2 or 1.3", minVersion)
	}
	return cfg, nil
}

// VersionName is the name of a TLS version for access records.
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}
