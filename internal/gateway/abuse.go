package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
	"net/http"

	"github.com/bulwark-sec/bulwark/internal/challenge"
	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/events"
	"github.com/bulwark-sec/bulwark/internal/ratelimit"
	"github.com/bulwark-sec/bulwark/internal/reputation"
)

// The abuse controls (issue #4) keep state across reloads — rate-limit
// counters, bans, feed lists, DNSBL answers, the challenge key ring — so
// each is one process-lifetime service, reconfigured on reload, that hands
// out a stage per route.

// redisLog sends go-redis's own messages (dial failures) to the
// operational log instead of stderr.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn("redis: " + fmt.Sprintf(format, v...))
}

// startAbuse creates the services from the first configuration.
func (g *Gateway) startAbuse(cfg *config.Config) error {
	redis.SetLogger(redisLog{g.log})
	p := &cfg.Platform
	var err error
	g.reputation, err = reputation.New(reputation.Options{Policy: p.Reputation, Files: cfg.ReadFile, Redis: p.Redis,
		Now: g.now, Log: g.log, Registerer: g.reg})
	if err != nil {
		return err
	}
	g.limiter, err = ratelimit.New(ratelimit.Options{Policy: p.RateLimit, Redis: p.Redis, Files: cfg.ReadFile, Now: g.now, Log: g.log, Registerer: g.reg,
		OnFallback: g.rateLimitFallback})
	if err != nil {
		return err
	}
	g.challenger, err = challenge.New(challenge.Options{Policy: p.Challenge, StateDir: g.stateDir(cfg), Recent: g.recent,
		Now: g.now, Log: g.log, Registerer: g.reg})
	return err
}

// reconfigureAbuse applies a new configuration to the services; it runs
// once the new generation is built, before it is swapped in.
func (g *Gateway) reconfigureAbuse(cfg *config.Config) error {
	p := &cfg.Platform
	if err := g.reputation.Reconfigure(p.Reputation, cfg.ReadFile); err != nil {
		return cfg.Errorf(config.PlatformFile, "reputation", "%v", err)
	}
	if err := g.limiter.Reconfigure(p.RateLimit, p.Redis); err != nil {
		return cfg.Errorf(config.PlatformFile, "ratelimit", "%v", err)
	}
	if err := g.challenger.Reconfigure(p.Challenge); err != nil {
		return cfg.Errorf(config.PlatformFile, "challenge", "%v", err)
	}
	return nil
}

func (g *Gateway) stopAbuse() {
	if g.reputation != nil {
		_ = g.reputation.Close()
	}
	if g.limiter != nil {
		_ = g.limiter.Close()
	}
}

// rateLimitFallback reports Redis going away and coming back: while it is
// away every replica limits on its own (never unlimited).
func (g *Gateway) rateLimitFallback(down bool, err error) {
	n := events.Notice{Time: g.now(), Type: "ratelimit", Level: "info", Message: "Redis reachable again: rate limits are shared across replicas"}
	if down {
		n.Level, n.Message = "error", "Redis unreachable: rate limiting falls back to this replica's own counters"
		if err != nil {
			n.Detail = map[string]any{"error": err.Error()}
		}
	}
	g.events.Emit("ratelimit", n)
}

func buildReputation(g *generation, r *config.Route, next http.Handler) (http.Handler, error) {
	return g.gw.reputation.Stage(r.ID).Wrap(next), nil
}

func buildRateLimit(g *generation, r *config.Route, next http.Handler) (http.Handler, error) {
	return g.gw.limiter.Stage(r.ID, r.RateLimit).Wrap(next), nil
}

// buildChallenge leaves the stage out of a route whose challenge is off:
// absent, not a pass-through.
func buildChallenge(g *generation, r *config.Route, next http.Handler) (http.Handler, error) {
	if r.Challenge == "off" {
		return next, nil
	}
	return g.gw.challenger.Stage(r.ID, r.Tenant, r.Challenge).Wrap(next), nil
}
