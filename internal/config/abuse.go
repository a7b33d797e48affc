package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a request rate written as "N/s", "N/m" or "N/h".
type Rate struct {
	N   int64
	Per time.Duration
}

func (r *Rate) decodeScalar(s string) error {
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return errExpected
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 {
		return errExpected
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[strings.TrimSpace(unit)]
	if per == 0 {
		return errExpected
	}
	*r = Rate{N: n, Per: per}
	return nil
}

func (Rate) expected() string { return "a rate such as 10/s, 600/m or 5000/h" }

func (r Rate) String() string {
	if r.N == 0 {
		return "0"
	}
	return fmt.Sprintf("%d/%s", r.N, map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per])
}

// PerSecond is the rate in requests per second.
func (r Rate) PerSecond() float64 {
	if r.Per == 0 {
		return 0
	}
	return float64(r.N) / r.Per.Seconds()
}

// Redis is a Redis server shared by gateway replicas.
type Redis struct {
	Address      string   `yaml:"address" doc:"host:port of the Redis server. Empty: no Redis."`
	PasswordFile string   `yaml:"password_file" doc:"File holding the Redis password (a mounted secret), relative to the configuration directory unless absolute; never the password itself in Git."`
	DB           int      `yaml:"db" doc:"Redis database number."`
	Timeout      Duration `yaml:"timeout" doc:"Time allowed for one Redis command; slower counts as unreachable."`
	KeyPrefix    string   `yaml:"key_prefix" doc:"Prefix of every key Bulwark writes."`
}

// RateLimitPolicy is the platform's rate limiting: the store, the defaults
// routes get and the bounds tenants may choose within.
type RateLimitPolicy struct {
	Store         string     `yaml:"store" doc:"memory (per process) or redis (one budget shared by every replica)."`
	MaxMemoryKeys int        `yaml:"max_memory_keys" doc:"Most client keys the memory store (and the fallback when Redis is down) holds; the least recently used are evicted."`
	Defaults      RouteLimit `yaml:"defaults" doc:"Limits of a route that sets none."`
	Bounds        RouteLimit `yaml:"bounds" doc:"The most a tenant may set (RFC §3.4: route rate limits within bounds)."`
}

// RouteLimit is a per-client rate limit of a route.
type RouteLimit struct {
	Rate       Rate `yaml:"rate" doc:"Sustained requests per client IP."`
	Burst      int  `yaml:"burst" doc:"Requests a client may send at once above the sustained rate."`
	Concurrent int  `yaml:"concurrent" doc:"Requests a client may have in flight at once; 0: no limit."`
}

// ChallengePolicy is the platform's bot challenge.
type ChallengePolicy struct {
	Difficulty          int      `yaml:"difficulty" doc:"Proof-of-work difficulty: leading zero bits of SHA-256. Each step doubles the work."`
	PassTTL             Duration `yaml:"pass_ttl" doc:"How long a solved challenge's pass cookie is valid."`
	ChallengeTTL        Duration `yaml:"challenge_ttl" doc:"How long a challenge may take to solve; its nonce is forgotten after."`
	KeyRotation         Duration `yaml:"key_rotation" doc:"How often the pass-cookie signing key changes."`
	KeyOverlap          Duration `yaml:"key_overlap" doc:"How long cookies signed with the previous key stay valid after a rotation."`
	SuspiciousThreshold int      `yaml:"suspicious_threshold" doc:"Score from which a route with challenge: suspicious challenges a client."`
	IPv4Prefix          int      `yaml:"ipv4_prefix" doc:"The pass cookie is bound to the client's IPv4 address masked to this many bits."`
	IPv6Prefix          int      `yaml:"ipv6_prefix" doc:"The pass cookie is bound to the client's IPv6 address masked to this many bits."`
}

// ReputationPolicy is the platform's IP reputation.
type ReputationPolicy struct {
	Allow      []string `yaml:"allow" doc:"CIDRs never rate-limited or challenged. They still pass the WAF (INV-1)."`
	AllowFiles []string `yaml:"allow_files" doc:"Files of CIDRs, one per line (# comments), in the configuration directory."`
	Deny       []string `yaml:"deny" doc:"CIDRs always refused (403)."`
	DenyFiles  []string `yaml:"deny_files" doc:"Files of CIDRs to refuse, in the configuration directory."`
	Feeds      []Feed   `yaml:"feeds" doc:"Remote lists of CIDRs fetched over HTTP(S)."`
	DNSBL      DNSBL    `yaml:"dnsbl" doc:"DNS blocklists."`
	Bans       Bans     `yaml:"bans" doc:"Bans for bad behaviour."`
}

// Feed is a remote CIDR list.
type Feed struct {
	URL      string   `yaml:"url" doc:"http:// or https:// URL of a list of CIDRs, one per line."`
	Interval Duration `yaml:"interval" doc:"How often to fetch it; failures keep the last good list."`
	Action   string   `yaml:"action" doc:"deny (refuse) or greylist (count towards the bot-challenge score)."`
}

// DNSBL configures DNS blocklist lookups.
type DNSBL struct {
	Zones       []string `yaml:"zones" doc:"DNSBL zones, such as zen.spamhaus.org. Empty: no lookups."`
	Resolver    string   `yaml:"resolver" doc:"host:port of the DNS server to ask. Empty: the system's."`
	Action      string   `yaml:"action" doc:"deny or greylist for a listed address."`
	Timeout     Duration `yaml:"timeout" doc:"Time allowed for a lookup; a timeout counts as not listed."`
	PositiveTTL Duration `yaml:"positive_ttl" doc:"How long a listed answer is cached."`
	NegativeTTL Duration `yaml:"negative_ttl" doc:"How long a not-listed answer is cached."`
	MaxEntries  int      `yaml:"max_entries" doc:"Most cached answers."`
}

// Bans configures bad-behaviour bans.
type Bans struct {
	Threshold int      `yaml:"threshold" doc:"Blocked or 4xx responses within window that ban a client. 0: no bans."`
	Window    Duration `yaml:"window" doc:"The window threshold counts in."`
	Duration  Duration `yaml:"duration" doc:"How long a ban lasts."`
	Store     string   `yaml:"store" doc:"memory or redis (bans shared by replicas)."`
}

func defaultAbuse(p *Platform) {
	p.RateLimit = RateLimitPolicy{
		Store: "memory", MaxMemoryKeys: 1_000_000,
		Defaults: RouteLimit{Rate: Rate{N: 50, Per: time.Second}, Burst: 100, Concurrent: 64},
		Bounds:   RouteLimit{Rate: Rate{N: 1000, Per: time.Second}, Burst: 2000, Concurrent: 256},
	}
	p.Challenge = ChallengePolicy{
		Difficulty: 16, PassTTL: Duration(time.Hour), ChallengeTTL: Duration(5 * time.Minute),
		KeyRotation: Duration(24 * time.Hour), KeyOverlap: Duration(time.Hour),
		SuspiciousThreshold: 3, IPv4Prefix: 24, IPv6Prefix: 64,
	}
	p.Reputation.DNSBL = DNSBL{Action: "deny", Timeout: Duration(300 * time.Millisecond),
		PositiveTTL: Duration(time.Hour), NegativeTTL: Duration(10 * time.Minute), MaxEntries: 100_000}
	p.Reputation.Bans = Bans{Window: Duration(time.Minute), Duration: Duration(10 * time.Minute), Store: "memory"}
	p.Redis = Redis{Timeout: Duration(50 * time.Millisecond), KeyPrefix: "bulwark:"}
}
