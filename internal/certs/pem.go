package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// readFile reads path and drops the path from a *fs.PathError, so callers
// can name the file once in their own words while errors.Is still sees the
// cause (for example fs.ErrNotExist).
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return nil, pathErr.Err
	}
	return data, err
}

// decodeCertificates parses every CERTIFICATE block in data, in file order
// (leaf first, as chains are written). Other blocks are skipped so a
// combined file holding both the chain and the key can be used for both.
func decodeCertificates(data []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d in file: %w", len(chain)+1, err)
		}
		chain = append(chain, cert)
	}
	if len(chain) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return chain, nil
}

// decodePrivateKey returns the first private key in data. The block types
// seen are reported when there is none, because the most common mistake is
// swapping the certificate and key paths.
func decodePrivateKey(data []byte) (crypto.Signer, error) {
	var seen []string
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		switch {
		case block.Type == "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("encrypted private keys are not supported; decrypt the key first")
		case block.Type == "PRIVATE KEY", block.Type == "RSA PRIVATE KEY", block.Type == "EC PRIVATE KEY":
			return parsePrivateKey(block)
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			return nil, fmt.Errorf("unsupported private key type %q (want PKCS#8, PKCS#1 RSA or SEC 1 EC)", block.Type)
		}
		seen = append(seen, block.Type)
	}
	if len(seen) == 0 {
		return nil, errors.New("no PEM private key block found")
	}
	return nil, fmt.Errorf("no PEM private key block found (found %s)", strings.Join(seen, ", "))
}

// parsePrivateKey decodes one key block and keeps only the key types
// crypto/tls can sign handshakes with.
func parsePrivateKey(block *pem.Block) (crypto.Signer, error) {
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s block: %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", key)
}

// keyMatches reports whether key is the private half of cert's public key;
// a mismatch would otherwise only show up as failed handshakes.
func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}
