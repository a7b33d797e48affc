package gateway

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/bulwark-sec/bulwark/internal/certs"
	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/listener"
	"github.com/bulwark-sec/bulwark/internal/proxy"
	"github.com/bulwark-sec/bulwark/internal/request"
	"github.com/bulwark-sec/bulwark/internal/route"
	"github.com/bulwark-sec/bulwark/internal/waf"
)

// generation is one configuration made live: the routing table, every
// route's chain, the certificates and the TLS policy. It is built whole
// and validated before it replaces the previous one, and never changes
// afterwards, so a request sees one consistent configuration from start to
// end even while a reload happens.
type generation struct {
	gw       *Gateway
	n        int64
	cfg      *config.Config
	loadedAt time.Time
	routes   *route.Table[*routed]
	certs    *certs.Store
	tls      *tls.Config
	trusted  listener.Trusted
	hsts     string
	proxies  map[string]*proxy.Handler
	closers  []func()
	// closeOnce makes close safe to call twice (Shutdown after a reload,
	// Shutdown twice): engines are reference-counted process-wide.
	closeOnce sync.Once

	waf           *wafInputs
	ledgerChanges []waf.LedgerChange
	enforceNow    []string // routes blocking early through waf.enforce_now
}

// build turns a loaded configuration into a generation, or explains why it
// cannot be served: a certificate that does not load, a host without one.
func (g *Gateway) build(cfg *config.Config, n int64) (*generation, error) {
	gen := &generation{
		gw: g, n: n, cfg: cfg, loadedAt: g.now(),
		routes:  route.New[*routed](),
		trusted: listener.Trusted(cfg.Platform.TrustedPrefixes()),
		hsts:    hstsHeader(cfg.Platform.TLS.HSTS),
		proxies: map[string]*proxy.Handler{},
	}
	store, err := g.certificates(cfg)
	if err != nil {
		return nil, err
	}
	gen.certs = store
	if gen.tls, err = listener.TLSConfig(cfg.Platform.TLS.MinVersion, store.GetCertificate); err != nil {
		return nil, err
	}
	if gen.waf, err = loadWAFInputs(cfg); err != nil {
		return nil, err
	}
	for _, r := range cfg.Routes {
		chain, err := buildChain(gen, r)
		if err != nil {
			gen.close()
			return nil, err
		}
		gen.routes.Add(r.Hosts, r.Paths, &routed{
			info:    &request.Route{ID: r.ID, Tenant: r.Tenant, Name: r.Name},
			chain:   chain,
			maxBody: r.MaxBodySize,
		})
	}
	return gen, nil
}

// close releases what the generation holds (idle backend connections)
// once it is no longer current. In-flight requests finish unaffected.
func (gen *generation) close() {
	gen.closeOnce.Do(func() {
		for _, c := range gen.closers {
			c()
		}
	})
}

// certificates loads the file certificates the platform names and, with
// dev_ca, issues development certificates for routed hosts no file covers.
// Every routed host must end up covered.
func (g *Gateway) certificates(cfg *config.Config) (*certs.Store, error) {
	list, uncovered, err := fileCertificates(cfg)
	if err != nil {
		return nil, err
	}
	for _, h := range uncovered {
		c, err := g.devCert(cfg, h)
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return certs.NewStore(dedupe(list))
}

// Check validates what config.Load cannot see on its own: that the
// certificate files load and every routed host has a certificate, that the
// WAF rule files load and exceptions name existing rules, and that every
// route in block mode is allowed to block by the INV-4 ledger in stateDir
// (the platform's state_dir when empty). It has no side effects: no
// development CA is created, no rule set compiled, the ledger not written;
// for `bulwark config check`.
func Check(cfg *config.Config, stateDir string) error {
	if _, _, err := fileCertificates(cfg); err != nil {
		return err
	}
	return checkWAF(cfg, stateDir)
}

// fileCertificates loads tls.certificates and returns the routed hosts
// they leave uncovered; without dev_ca an uncovered host is an error.
func fileCertificates(cfg *config.Config) (list []*certs.Cert, uncovered []string, err error) {
	for i, cf := range cfg.Platform.TLS.Certificates {
		c, err := certs.LoadFile(cfg.Path(cf.Cert), cfg.Path(cf.Key))
		if err != nil {
			return nil, nil, cfg.Errorf(config.PlatformFile, fmt.Sprintf("tls.certificates[%d]", i), "%v", err)
		}
		list = append(list, c)
	}
	files, err := certs.NewStore(list)
	if err != nil {
		return nil, nil, cfg.Errorf(config.PlatformFile, "tls.certificates", "%v", err)
	}
	seen := map[string]bool{}
	for _, r := range cfg.Routes {
		for i, h := range r.Hosts {
			if _, ok := files.Lookup(h); ok || seen[h] {
				continue
			}
			if !cfg.Platform.TLS.DevCA {
				return nil, nil, cfg.Errorf(r.Source, fmt.Sprintf("%s.hosts[%d]", r.Field, i),
					"host %s of route %s has no certificate: add one to tls.certificates in %s, or enable tls.dev_ca for development", h, r.ID, config.PlatformFile)
			}
			seen[h] = true
			uncovered = append(uncovered, h)
		}
	}
	return list, uncovered, nil
}

// devCert returns the development certificate for host, issuing it on
// first use. Issued certificates are kept for the life of the process so
// a reload does not churn them.
func (g *Gateway) devCert(cfg *config.Config, host string) (*certs.Cert, error) {
	g.devMu.Lock()
	defer g.devMu.Unlock()
	if g.devCA == nil {
		dir := filepath.Join(g.stateDir(cfg), "dev-ca")
		ca, err := certs.OpenDevCA(dir, g.now)
		if err != nil {
			return nil, cfg.Errorf(config.PlatformFile, "tls.dev_ca", "%v", err)
		}
		g.devCA = ca
		g.log.Info("development CA ready; trust it with curl --cacert", "ca", ca.CertFile())
	}
	if c, ok := g.devCerts[host]; ok && c.NotAfter.After(g.now().Add(24*time.Hour)) {
		return c, nil
	}
	c, err := g.devCA.Issue([]string{host})
	if err != nil {
		return nil, cfg.Errorf(config.PlatformFile, "tls.dev_ca", "issue a certificate for %s: %v", host, err)
	}
	g.devCerts[host] = c
	return c, nil
}

func dedupe(list []*certs.Cert) []*certs.Cert {
	seen := map[*certs.Cert]bool{}
	out := list[:0]
	for _, c := range list {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func hstsHeader(h config.HSTS) string {
	if h.MaxAge <= 0 {
		return ""
	}
	v := "max-age=" + strconv.FormatInt(int64(h.MaxAge.D()/time.Second), 10)
	if h.IncludeSubdomains {
		v += "; includeSubDomains"
	}
	if h.Preload {
		v += "; preload"
	}
	return v
}
