package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

func validateAbuse(src *source, p *Platform) {
	validateRedis(src, &p.Redis)
	rl := &p.RateLimit
	switch rl.Store {
	case "memory":
	case "redis":
		needRedis(src, "ratelimit.store", p)
	default:
		src.errorf("ratelimit.store", "expected memory or redis, got %q", rl.Store)
	}
	if rl.MaxMemoryKeys < 1000 {
		src.errorf("ratelimit.max_memory_keys", "expected at least 1000, got %d", rl.MaxMemoryKeys)
	}
	for _, side := range []struct {
		name string
		l    RouteLimit
	}{{"defaults", rl.Defaults}, {"bounds", rl.Bounds}} {
		if side.l.Rate.N <= 0 {
			src.errorf("ratelimit."+side.name+".rate", "expected a rate such as 10/s")
		}
		if side.l.Burst < 1 {
			src.errorf("ratelimit."+side.name+".burst", "expected at least 1, got %d", side.l.Burst)
		}
		if side.l.Concurrent < 0 {
			src.errorf("ratelimit."+side.name+".concurrent", "must not be negative")
		}
	}
	if rl.Defaults.Rate.PerSecond() > rl.Bounds.Rate.PerSecond() {
		src.errorf("ratelimit.defaults.rate", "default %s is above the bound ratelimit.bounds.rate of %s", rl.Defaults.Rate, rl.Bounds.Rate)
	}
	if rl.Defaults.Burst > rl.Bounds.Burst {
		src.errorf("ratelimit.defaults.burst", "default %d is above the bound ratelimit.bounds.burst of %d", rl.Defaults.Burst, rl.Bounds.Burst)
	}
	if b := rl.Bounds.Concurrent; b > 0 && (rl.Defaults.Concurrent == 0 || rl.Defaults.Concurrent > b) {
		src.errorf("ratelimit.defaults.concurrent", "default %d is not within the bound ratelimit.bounds.concurrent of %d (0 means no limit)", rl.Defaults.Concurrent, b)
	}
	validateChallenge(src, &p.Challenge)
	validateReputation(src, p)
}

func validateRedis(src *source, r *Redis) {
	if r.Address != "" {
		if _, port, err := net.SplitHostPort(r.Address); err != nil || port == "" {
			src.errorf("redis.address", "expected host:port such as 127.0.0.1:6379, got %q", r.Address)
		}
	}
	if r.Timeout <= 0 {
		src.errorf("redis.timeout", "must be greater than zero")
	}
}

func needRedis(src *source, field string, p *Platform) {
	if p.Redis.Address == "" {
		src.errorf(field, "redis needs redis.address in %s", PlatformFile)
	}
}

func validateChallenge(src *source, c *ChallengePolicy) {
	if c.Difficulty < 1 || c.Difficulty > 28 {
		src.errorf("challenge.difficulty", "expected 1 to 28 leading zero bits, got %d", c.Difficulty)
	}
	positive(src, "challenge.pass_ttl", c.PassTTL)
	positive(src, "challenge.challenge_ttl", c.ChallengeTTL)
	positive(src, "challenge.key_rotation", c.KeyRotation)
	if c.KeyOverlap < 0 || c.KeyOverlap > c.KeyRotation {
		src.errorf("challenge.key_overlap", "expected between 0 and key_rotation (%s), got %s", c.KeyRotation, c.KeyOverlap)
	}
	if c.SuspiciousThreshold < 1 {
		src.errorf("challenge.suspicious_threshold", "expected at least 1, got %d", c.SuspiciousThreshold)
	}
	if c.IPv4Prefix < 8 || c.IPv4Prefix > 32 {
		src.errorf("challenge.ipv4_prefix", "expected 8 to 32 bits, got %d", c.IPv4Prefix)
	}
	if c.IPv6Prefix < 32 || c.IPv6Prefix > 128 {
		src.errorf("challenge.ipv6_prefix", "expected 32 to 128 bits, got %d", c.IPv6Prefix)
	}
}

func validateReputation(src *source, p *Platform) {
	rp := &p.Reputation
	for field, list := range map[string][]string{"reputation.allow": rp.Allow, "reputation.deny": rp.Deny} {
		for i, cidr := range list {
			if _, err := parsePrefix(cidr); err != nil {
				src.errorf(fmt.Sprintf("%s[%d]", field, i), "%v", err)
			}
		}
	}
	for field, files := range map[string][]string{"reputation.allow_files": rp.AllowFiles, "reputation.deny_files": rp.DenyFiles} {
		for i, f := range files {
			checkRuleFile(src, fmt.Sprintf("%s[%d]", field, i), f)
		}
	}
	for i, f := range rp.Feeds {
		field := fmt.Sprintf("reputation.feeds[%d]", i)
		if u, err := url.Parse(f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			src.errorf(field+".url", "expected an http:// or https:// URL, got %q", f.URL)
		}
		if f.Interval.D().Seconds() < 10 {
			src.errorf(field+".interval", "expected at least 10s, got %s", f.Interval)
		}
		checkListAction(src, field+".action", f.Action)
	}
	d := &rp.DNSBL
	for i, z := range d.Zones {
		if msg := checkHost(strings.TrimSuffix(z, ".")); msg != "" || strings.HasPrefix(z, "*.") {
			src.errorf(fmt.Sprintf("reputation.dnsbl.zones[%d]", i), "expected a DNS zone such as zen.spamhaus.org, got %q", z)
		}
	}
	if d.Resolver != "" {
		if _, port, err := net.SplitHostPort(d.Resolver); err != nil || port == "" {
			src.errorf("reputation.dnsbl.resolver", "expected host:port such as 127.0.0.1:53, got %q", d.Resolver)
		}
	}
	checkListAction(src, "reputation.dnsbl.action", d.Action)
	positive(src, "reputation.dnsbl.timeout", d.Timeout)
	positive(src, "reputation.dnsbl.positive_ttl", d.PositiveTTL)
	positive(src, "reputation.dnsbl.negative_ttl", d.NegativeTTL)
	if d.MaxEntries < 1 {
		src.errorf("reputation.dnsbl.max_entries", "expected at least 1, got %d", d.MaxEntries)
	}
	b := &rp.Bans
	if b.Threshold < 0 {
		src.errorf("reputation.bans.threshold", "must not be negative")
	}
	positive(src, "reputation.bans.window", b.Window)
	positive(src, "reputation.bans.duration", b.Duration)
	switch b.Store {
	case "memory":
	case "redis":
		needRedis(src, "reputation.bans.store", p)
	default:
		src.errorf("reputation.bans.store", "expected memory or redis, got %q", b.Store)
	}
}

func checkListAction(src *source, field, action string) {
	if action != "deny" && action != "greylist" {
		src.errorf(field, "expected deny or greylist, got %q", action)
	}
}

// routeAbuse applies the platform's rate-limit defaults to a route and
// refuses limits above the bounds and unknown challenge modes.
func (c *Config) routeAbuse(src *source, field string, spec *RouteSpec, r *Route) {
	rl := c.Platform.RateLimit
	r.RateLimit = rl.Defaults
	if l := spec.RateLimit; l != nil {
		f := field + ".ratelimit"
		if l.Rate.N != 0 {
			if l.Rate.PerSecond() > rl.Bounds.Rate.PerSecond() {
				src.errorf(f+".rate", "%s is above the platform bound of %s (ratelimit.bounds.rate in %s)", l.Rate, rl.Bounds.Rate, PlatformFile)
			} else {
				r.RateLimit.Rate = l.Rate
			}
		}
		if l.Burst != 0 {
			if l.Burst < 1 || l.Burst > rl.Bounds.Burst {
				src.errorf(f+".burst", "%d is not within 1 and the platform bound of %d (ratelimit.bounds.burst in %s)", l.Burst, rl.Bounds.Burst, PlatformFile)
			} else {
				r.RateLimit.Burst = l.Burst
			}
		}
		if l.Concurrent != 0 {
			if l.Concurrent < 0 || (rl.Bounds.Concurrent > 0 && l.Concurrent > rl.Bounds.Concurrent) {
				src.errorf(f+".concurrent", "%d is not within 1 and the platform bound of %d (ratelimit.bounds.concurrent in %s)", l.Concurrent, rl.Bounds.Concurrent, PlatformFile)
			} else {
				r.RateLimit.Concurrent = l.Concurrent
			}
		}
	}
	switch spec.Challenge {
	case "":
		r.Challenge = "off"
	case "off", "suspicious", "always":
		r.Challenge = spec.Challenge
	default:
		src.errorf(field+".challenge", "expected off, suspicious or always, got %q", spec.Challenge)
	}
}
