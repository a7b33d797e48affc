package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

const (
	caCertName = "ca.crt"
	caKeyName  = "ca.key"
	// caValidityYears is long so a developer trusts the CA once.
	caValidityYears = 10
	// caRenewWindow is how close to expiry an existing CA is refused, so it
	// never expires in the middle of someone's work.
	caRenewWindow = 30 * 24 * time.Hour
	// backdate absorbs clock skew between the gateway and its clients.
	backdate = time.Hour
)

// DevCA is a local development certificate authority (ECDSA P-256) kept in
// the gateway's state directory. It lets the quickstart serve HTTPS that
// clients verify against one stable file instead of skipping verification.
// The CA is created once and reused across restarts so the user trusts it
// once; files that are corrupt or do not match are reported, never replaced,
// because replacing them would silently break that trust.
//
// A DevCA is safe for concurrent use: Issue only reads it.
type DevCA struct {
	dir      string
	certPath string
	keyPath  string
	cert     *x509.Certificate
	key      crypto.Signer
	now      func() time.Time
}

// OpenDevCA loads the CA in dir (the caller passes <state_dir>/dev-ca), or
// creates it there when neither ca.crt nor ca.key exists: the directory with
// mode 0700, ca.crt 0644 and ca.key 0600. A CA that expires within 30 days of
// now is an error asking the user to delete dir. now is the clock used here
// and by Issue; nil means time.Now.
func OpenDevCA(dir string, now func() time.Time) (*DevCA, error) {
	if now == nil {
		now = time.Now
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open dev CA: resolve directory %q: %w", dir, err)
	}
	ca := &DevCA{
		dir:      abs,
		certPath: filepath.Join(abs, caCertName),
		keyPath:  filepath.Join(abs, caKeyName),
		now:      now,
	}
	if err := ca.loadOrCreate(); err != nil {
		return nil, fmt.Errorf("open dev CA: %w", err)
	}
	if left := ca.cert.NotAfter.Sub(now()); left < caRenewWindow {
		return nil, fmt.Errorf("open dev CA: CA certificate %q expires at %s, within 30 days; delete the directory %q to create a new CA, then trust the new %s",
			ca.certPath, ca.cert.NotAfter.UTC().Format(time.RFC3339), ca.dir, caCertName)
	}
	return ca, nil
}

// CertFile returns the absolute path of ca.crt, for the user to pass to
// `curl --cacert` or add to a trust store.
func (ca *DevCA) CertFile() string {
	return ca.certPath
}

// loadOrCreate decides between reusing and creating the CA. Exactly one file
// present means a damaged directory, which the user must look at.
func (ca *DevCA) loadOrCreate() error {
	certExists, err := fileExists(ca.certPath)
	if err != nil {
		return err
	}
	keyExists, err := fileExists(ca.keyPath)
	if err != nil {
		return err
	}
	switch {
	case certExists && keyExists:
		if err := ca.load(); err != nil {
			return fmt.Errorf("%w (to start over, delete the directory %q)", err, ca.dir)
		}
		return nil
	case !certExists && !keyExists:
		return ca.create()
	case certExists:
		return fmt.Errorf("%q exists but %q is missing; delete the directory %q to create a new CA", ca.certPath, ca.keyPath, ca.dir)
	default:
		return fmt.Errorf("%q exists but %q is missing; delete the directory %q to create a new CA", ca.keyPath, ca.certPath, ca.dir)
	}
}

// fileExists reports whether path exists; errors other than "not found"
// (for example permission denied) are returned rather than guessed at.
func fileExists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %q: %w", path, err)
	}
	return true, nil
}

// load reads and checks an existing CA pair.
func (ca *DevCA) load() error {
	certPEM, err := readFile(ca.certPath)
	if err != nil {
		return fmt.Errorf("read %q: %w", ca.certPath, err)
	}
	chain, err := decodeCertificates(certPEM)
	if err != nil {
		return fmt.Errorf("parse %q: %w", ca.certPath, err)
	}
	cert := chain[0]
	if !cert.BasicConstraintsValid || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("check %q: not a CA certificate", ca.certPath)
	}
	keyPEM, err := readFile(ca.keyPath)
	if err != nil {
		return fmt.Errorf("read %q: %w", ca.keyPath, err)
	}
	key, err := decodePrivateKey(keyPEM)
	if err != nil {
		return fmt.Errorf("parse %q: %w", ca.keyPath, err)
	}
	if !keyMatches(cert, key) {
		return fmt.Errorf("check %q: private key does not match the CA certificate %q", ca.keyPath, ca.certPath)
	}
	ca.cert, ca.key = cert, key
	return nil
}

// create makes a new CA and writes it. The key is written first and removed
// again if the certificate cannot be written, so a failed attempt does not
// leave a half CA that blocks the next start.
func (ca *DevCA) create() error {
	if err := os.MkdirAll(ca.dir, 0o700); err != nil {
		return fmt.Errorf("create directory %q: %w", ca.dir, err)
	}
	cert, key, err := newCACertificate(ca.now())
	if err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("create CA: encode key: %w", err)
	}
	if err := writeNewFile(ca.keyPath, pemBytes("PRIVATE KEY", keyDER), 0o600); err != nil {
		return err
	}
	if err := writeNewFile(ca.certPath, pemBytes("CERTIFICATE", cert.Raw), 0o644); err != nil {
		_ = os.Remove(ca.keyPath)
		return err
	}
	ca.cert, ca.key = cert, key
	return nil
}

// newCACertificate generates the self-signed CA. The random suffix in the
// name tells apart CAs from different machines or resets in a trust store.
func newCACertificate(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	return signNewKey(&x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   fmt.Sprintf("Bulwark Development CA %08x", uint32(serial.Uint64())),
			Organization: []string{"Bulwark development CA"},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(caValidityYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}, nil, nil)
}

// writeNewFile creates path with exactly perm (umask is overridden so the
// documented modes hold). It refuses to overwrite, so two gateways starting
// at once cannot pair one's key with the other's certificate; a partial
// file is removed.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write %q: %w", path, err)
	}
	return nil
}

// pemBytes encodes one PEM block.
func pemBytes(blockType string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
}
