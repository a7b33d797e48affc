package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bulwark-sec/bulwark/internal/gateway"
)

const gatewayHelp = `
Run the ingress gateway on a configuration directory (platform.yaml and
tenants/*.yaml). It serves HTTPS, redirects HTTP to HTTPS, and exposes
/metrics, /healthz and /readyz on the admin listener. Events are JSON lines
on the configured sinks; the operational log goes to stderr.

SIGHUP, or any change in the directory, reloads the configuration: a new
configuration is validated completely before it replaces the old one, and an
invalid one leaves the old one serving. SIGTERM or SIGINT drains in-flight
requests (up to server.drain_timeout) and exits.`

func runGateway(env Env, args []string) error {
	fs := flags(env, "gateway", "bulwark gateway [flags] CONFIG_DIR", gatewayHelp)
	stateDir := fs.String("state-dir", "", "directory for the gateway's state (default: state_dir in platform.yaml)")
	logLevel := fs.String("log-level", "info", "operational log level: debug, info, warn, error")
	if done, err := parse(env, fs, args); done || err != nil {
		return err
	}
	dir, err := oneArg(env, fs, "configuration directory")
	if err != nil {
		return err
	}
	log, err := newLogger(env, *logLevel)
	if err != nil {
		return err
	}
	g, err := gateway.New(gateway.Options{Dir: dir, StateDir: *stateDir, Stdout: env.Stdout, Log: log})
	if err != nil {
		return err
	}
	return serve(g)
}

// serve runs g until SIGTERM or SIGINT.
func serve(g *gateway.Gateway) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return g.Run(ctx)
}

func newLogger(env Env, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level: expected debug, info, warn or error, got %q", ErrUsage, level)
	}
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: l})), nil
}
