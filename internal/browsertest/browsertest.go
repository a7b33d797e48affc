// Package browsertest starts a real headless Chromium (the Debian chromium
// package) for tests that need a browser: the bot challenge's proof of
// work runs in it. The browser reaches only what resolverRules map (on
// loopback) and trusts only the certificate whose key is given.
package browsertest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is the Debian chromium package's launcher. Tests fail
// without it: ./test.sh installs it.
const ChromiumPath = "/usr/bin/chromium"

// SPKI returns the base64 SHA-256 of a certificate's public key, the form
// Chromium's --ignore-certificate-errors-spki-list takes.
func SPKI(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Context returns a chromedp context on a fresh headless Chromium with a
// new profile, closed when the test ends. resolverRules is Chromium's
// --host-resolver-rules (e.g. "MAP shop.test 127.0.0.1, MAP * ~NOTFOUND");
// spki lists the certificates trusted despite their issuer. The timeout
// only guards against a hang.
func Context(t testing.TB, resolverRules, spki string, timeout time.Duration) context.Context {
	t.Helper()
	exe, err := exec.LookPath(ChromiumPath)
	if err != nil {
		t.Fatalf("chromium not installed (Debian package chromium; ./test.sh installs it): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// No traffic but the test's: these stop Chromium's own calls home.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", resolverRules),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
	}
	ctx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}
