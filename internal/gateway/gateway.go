// Package gateway wires the gateway together: it loads the configuration,
// builds a generation (routes, certificates, every route's chain), serves
// it on the HTTPS, HTTP and admin listeners, swaps generations on reload,
// and drains on shutdown. The order of the request path is in pipeline.go.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-sec/bulwark/internal/certs"
	"github.com/bulwark-sec/bulwark/internal/challenge"
	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/events"
	"github.com/bulwark-sec/bulwark/internal/proxy"
	"github.com/bulwark-sec/bulwark/internal/ratelimit"
	"github.com/bulwark-sec/bulwark/internal/reputation"
	"github.com/bulwark-sec/bulwark/internal/signals"
	"github.com/bulwark-sec/bulwark/internal/waf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options configure a Gateway. Exactly one of Dir and FS is set.
type Options struct {
	// Dir is the configuration directory; it is watched for changes.
	Dir string
	// FS is a configuration that is not on disk (the embedded quickstart),
	// labelled Label in messages. It is not watched.
	FS    fs.FS
	Label string
	// StateDir overrides the platform's state_dir when set.
	StateDir string
	// Stdout receives events for "stdout" sinks; nil means os.Stdout.
	Stdout io.Writer
	// Log is the operational log (human-oriented, stderr); nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Gateway is a running gateway.
type Gateway struct {
	opts    Options
	now     func() time.Time
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics
	events  *events.Log

	proxyMetrics *proxy.Metrics
	wafMetrics   *waf.Metrics
	ledger       *waf.Ledger
	// recent remembers clients' WAF scores for the bot challenge.
	recent *signals.Recent
	// The abuse controls' services: state that outlives a generation.
	reputation *reputation.Reputation
	limiter    *ratelimit.Limiter
	challenger *challenge.Challenger

	gen      atomic.Pointer[generation]
	reloadMu sync.Mutex
	status   reloadStatus
	draining atomic.Bool

	devMu    sync.Mutex
	devCA    *certs.DevCA
	devCerts map[string]*certs.Cert

	servers []*http.Server
	admin   *http.Server // the admin server when its listener is bound
	addrs   Addrs
}

// Addrs are the addresses the listeners are bound to (useful with ":0").
type Addrs struct{ HTTPS, HTTP, Admin string }

// New loads and validates the configuration and builds the first
// generation. It does not listen yet; Start does. A configuration that
// does not load is an error here: the gateway never starts without one.
func New(opts Options) (*Gateway, error) {
	g := &Gateway{opts: opts, now: opts.Now, log: opts.Log, reg: prometheus.NewRegistry(), devCerts: map[string]*certs.Cert{}}
	if g.now == nil {
		g.now = time.Now
	}
	g.recent = signals.NewRecent(100_000, 10*time.Minute, g.now)
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	stdout := opts.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}
	g.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g.metrics = newMetrics(g.reg)
	g.proxyMetrics = proxy.NewMetrics(g.reg)
	g.wafMetrics = waf.NewMetrics(g.reg)
	g.events = events.NewLog(stdout, g.reg)
	cfg, err := g.load()
	if err != nil {
		return nil, err
	}
	if g.ledger, err = waf.OpenLedger(g.stateDir(cfg)); err != nil {
		return nil, err
	}
	if err := g.startAbuse(cfg); err != nil {
		g.stopAbuse()
		return nil, err
	}
	gen, err := g.build(cfg, 1)
	if err == nil {
		err = g.events.Configure(cfg.Platform.Events.Sinks)
		if err != nil {
			err = cfg.Errorf(config.PlatformFile, "events", "%v", err)
		}
	}
	if err == nil {
		err = g.ledger.Commit(gen.ledgerChanges)
	}
	if err != nil {
		if gen != nil {
			gen.close()
		}
		g.stopAbuse()
		return nil, err
	}
	g.gen.Store(gen)
	g.served(gen)
	return g, nil
}

// served records a generation going live: metrics, readiness, and the
// events a security team must see (the enforce_now override).
func (g *Gateway) served(gen *generation) {
	g.metrics.served(gen)
	g.status.succeeded(gen)
	g.wafMetrics.Engines(waf.Shared.Len())
	for _, id := range gen.enforceNow {
		g.wafMetrics.EnforceNow(id)
		g.events.Emit("config", events.Notice{Time: g.now(), Type: "config", Level: "warn",
			Message: "waf.enforce_now: route blocks before its detection period ended (INV-4 override by the security team)",
			Detail:  map[string]any{"route": id, "generation": gen.n}})
	}
}

func (g *Gateway) load() (*config.Config, error) {
	if g.opts.FS != nil {
		return config.Load(g.opts.FS, g.opts.Label)
	}
	return config.LoadDir(g.opts.Dir)
}

func (g *Gateway) stateDir(cfg *config.Config) string {
	if g.opts.StateDir != "" {
		return g.opts.StateDir
	}
	return cfg.Platform.StateDir
}

// Config returns the configuration being served.
func (g *Gateway) Config() *config.Config { return g.gen.Load().cfg }

// DevCAFile returns the development CA certificate path, or "" when no
// development certificate has been issued.
func (g *Gateway) DevCAFile() string {
	g.devMu.Lock()
	defer g.devMu.Unlock()
	if g.devCA == nil {
		return ""
	}
	return g.devCA.CertFile()
}

// Registry is the Prometheus registry the admin listener serves.
func (g *Gateway) Registry() *prometheus.Registry { return g.reg }

// Pool returns the backend pool of a route, for status and tests.
func (g *Gateway) Pool(routeID string) *proxy.Pool {
	if p, ok := g.gen.Load().proxies[routeID]; ok {
		return p.Pool()
	}
	return nil
}

// Addrs returns the bound listener addresses; valid after Start.
func (g *Gateway) Addrs() Addrs { return g.addrs }

// Start binds the listeners and serves on them in the background. Errors
// binding any listener close the others and are returned.
func (g *Gateway) Start() error {
	p := g.gen.Load().cfg.Platform
	srv := p.Server
	https := g.server(srv, g.record(true, func(gen *generation, w http.ResponseWriter, r *http.Request) { gen.serveRoute(w, r) }))
	https.TLSConfig = g.baseTLS()
	plain := g.server(srv, g.record(false, g.serveHTTP))
	admin := &http.Server{Handler: g.adminHandler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}

	type bound struct {
		srv  *http.Server
		ln   net.Listener
		addr *string
		tls  bool
	}
	var bs []bound
	for _, b := range []struct {
		addr string
		srv  *http.Server
		dst  *string
		tls  bool
	}{{p.Listeners.HTTPS, https, &g.addrs.HTTPS, true}, {p.Listeners.HTTP, plain, &g.addrs.HTTP, false}, {p.Listeners.Admin, admin, &g.addrs.Admin, false}} {
		if b.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", b.addr)
		if err != nil {
			for _, o := range bs {
				o.ln.Close()
			}
			return fmt.Errorf("listen on %s: %w", b.addr, err)
		}
		*b.dst = ln.Addr().String()
		bs = append(bs, bound{b.srv, ln, b.dst, b.tls})
	}
	for _, b := range bs {
		g.servers = append(g.servers, b.srv)
		if b.srv == admin {
			g.admin = admin
		}
		go func() {
			var err error
			if b.tls {
				err = b.srv.ServeTLS(b.ln, "", "")
			} else {
				err = b.srv.Serve(b.ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				g.log.Error("listener stopped", "addr", *b.addr, "error", err)
			}
		}()
	}
	g.events.Emit("lifecycle", events.Notice{Time: g.now(), Type: "lifecycle", Level: "info", Message: "gateway started",
		Detail: map[string]any{"https": g.addrs.HTTPS, "http": g.addrs.HTTP, "admin": g.addrs.Admin, "routes": len(g.Config().Routes)}})
	return nil
}

func (g *Gateway) server(s config.Server, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.ReadHeaderTimeout.D(),
		ReadTimeout:       s.ReadTimeout.D(),
		WriteTimeout:      s.WriteTimeout.D(),
		IdleTimeout:       s.IdleTimeout.D(),
		MaxHeaderBytes:    int(s.MaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		// "OPTIONS *" goes through the pipeline (and its records) like
		// every other request, instead of Go answering it unseen.
		DisableGeneralOptionsHandler: true,
	}
}

// Shutdown stops accepting connections, reports not-ready, lets in-flight
// requests finish until ctx ends, then closes what remains. The HTTPS and
// HTTP listeners stop and drain together; the admin listener closes last,
// so /readyz answers "draining" for as long as requests are draining.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.draining.Store(true)
	g.events.Emit("lifecycle", events.Notice{Time: g.now(), Type: "lifecycle", Level: "info", Message: "draining"})
	stop := func(s *http.Server) error {
		if err := s.Shutdown(ctx); err != nil {
			s.Close()
			return err
		}
		return nil
	}
	errs := make([]error, len(g.servers))
	var wg sync.WaitGroup
	for i, s := range g.servers {
		if s == g.admin {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stop(s)
		}()
	}
	wg.Wait()
	if g.admin != nil {
		errs = append(errs, stop(g.admin))
	}
	g.gen.Load().close()
	g.stopAbuse()
	g.events.Emit("lifecycle", events.Notice{Time: g.now(), Type: "lifecycle", Level: "info", Message: "gateway stopped"})
	g.events.Close()
	return errors.Join(errs...)
}
