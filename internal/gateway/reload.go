package gateway

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/events"
	"github.com/fsnotify/fsnotify"
)

// Reload loads the configuration again, builds a complete new generation
// and swaps it in atomically. On any error nothing changes: the previous
// generation keeps serving, and the failure is logged as an event,
// counted, and shown by /readyz. why says what triggered the reload.
func (g *Gateway) Reload(why string) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	old := g.gen.Load()
	cfg, err := g.load()
	var gen *generation
	if err == nil {
		gen, err = g.build(cfg, old.n+1)
	}
	if err == nil {
		if err = g.events.Configure(cfg.Platform.Events.Sinks); err != nil {
			err = cfg.Errorf(config.PlatformFile, "events", "%v", err)
		}
	}
	if err == nil {
		err = g.reconfigureAbuse(cfg)
	}
	if err == nil {
		err = g.ledger.Commit(gen.ledgerChanges)
	}
	if err != nil && gen != nil {
		gen.close()
	}
	if err != nil {
		g.metrics.reloads.WithLabelValues("failure").Inc()
		g.status.failed(g.now(), err)
		g.events.Emit("config", events.Notice{Time: g.now(), Type: "config", Level: "error",
			Message: "configuration reload failed; still serving generation " + strconv.FormatInt(old.n, 10),
			Detail:  map[string]any{"trigger": why, "error": err.Error()}})
		g.log.Error("reload failed, keeping the previous configuration", "trigger", why, "error", err)
		return err
	}
	g.gen.Store(gen)
	old.close()
	g.metrics.reloads.WithLabelValues("success").Inc()
	g.served(gen)
	detail := map[string]any{"trigger": why, "generation": gen.n, "routes": len(cfg.Routes)}
	if restart := needsRestart(old.cfg, cfg); len(restart) > 0 {
		detail["needs_restart"] = restart
	}
	g.events.Emit("config", events.Notice{Time: g.now(), Type: "config", Level: "info", Message: "configuration reloaded", Detail: detail})
	return nil
}

// needsRestart lists settings that changed but only take effect when the
// process restarts: they belong to sockets and servers that stay up across
// reloads.
func needsRestart(old, cur *config.Config) []string {
	var out []string
	if old.Platform.Listeners != cur.Platform.Listeners {
		out = append(out, "listeners")
	}
	if old.Platform.Server != cur.Platform.Server {
		out = append(out, "server")
	}
	if old.Platform.StateDir != cur.Platform.StateDir {
		out = append(out, "state_dir")
	}
	return out
}

// Run starts the gateway and serves until ctx is cancelled, reloading on
// SIGHUP and on changes to the configuration directory; then it drains for
// up to the platform's drain_timeout.
func (g *Gateway) Run(ctx context.Context) error {
	// SIGHUP and the watch are set up before Start: once the gateway is
	// up (and /readyz answers), a SIGHUP must reload rather than kill the
	// process, and a change to the directory must not go unseen.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	changes := make(chan struct{}, 1)
	if g.opts.Dir != "" {
		stop, err := watch(g.opts.Dir, changes, g.log)
		if err != nil {
			g.log.Warn("not watching the configuration directory; reload with SIGHUP", "error", err)
		} else {
			defer stop()
		}
	}
	if err := g.Start(); err != nil {
		return err
	}
	for {
		select {
		case <-hup:
			_ = g.Reload("SIGHUP")
		case <-changes:
			_ = g.Reload("file change")
		case <-ctx.Done():
			drain := g.gen.Load().cfg.Platform.Server.DrainTimeout.D()
			sctx, cancel := context.WithTimeout(context.Background(), drain)
			defer cancel()
			return g.Shutdown(sctx)
		}
	}
}

// watch reports changes in dir and dir/tenants on changes, coalescing a
// burst (an editor's write-rename-chmod, a git checkout) into one signal
// after it settles.
func watch(dir string, changes chan<- struct{}, log interface{ Warn(string, ...any) }) (stop func(), err error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, err
	}
	tenants := filepath.Join(dir, config.TenantDir)
	_ = w.Add(tenants) // may not exist yet; added when it appears
	const settle = 300 * time.Millisecond
	go func() {
		var timer <-chan time.Time
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Name == tenants && ev.Has(fsnotify.Create) {
					_ = w.Add(tenants)
				}
				timer = time.After(settle)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("configuration watch error", "error", err)
			case <-timer:
				timer = nil
				select {
				case changes <- struct{}{}:
				default:
				}
			}
		}
	}()
	return func() { w.Close() }, nil
}
