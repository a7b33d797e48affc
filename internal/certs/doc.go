// Package certs supplies the certificates the gateway's HTTPS listener
// serves. It exists so the listener never has to care where a certificate
// came from: PEM files, the local development CA, and later ACME or
// Kubernetes secrets all produce the same Cert value, and a Store built from
// those values answers crypto/tls's GetCertificate by SNI host name.
//
// A Store is immutable. On a config reload the gateway loads certificates
// again, builds a new Store and swaps it in, so a handshake never sees a
// half-updated index. Selection is strict on purpose: a client that sends no
// SNI, or a name no certificate covers, fails the handshake instead of
// receiving an unrelated certificate that would leak other host names and
// train users to click through warnings.
//
// The development CA (DevCA) exists for the quickstart: the gateway creates
// it once in its state directory, issues short-lived in-memory leaf
// certificates from it, and prints ca.crt's path so that
// `curl --cacert <path>` works without disabling verification.
package certs
