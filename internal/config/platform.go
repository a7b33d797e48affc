package config

import (
	"time"
)

// Platform is platform.yaml: everything owned by the platform and security
// teams (RFC-TENANT-SECURITY-0001 §3.4). Tenants cannot set any of it.
type Platform struct {
	Listeners      Listeners          `yaml:"listeners" doc:"Addresses the gateway listens on."`
	TLS            TLS                `yaml:"tls" doc:"TLS policy and certificates (INV-2, INV-3)."`
	Server         Server             `yaml:"server" doc:"Connection limits and timeouts, the same for every route."`
	TrustedProxies []string           `yaml:"trusted_proxies" doc:"CIDRs of proxies (load balancers) whose X-Forwarded-For and X-Request-ID are believed. Empty: the TCP peer is the client."`
	StateDir       string             `yaml:"state_dir" doc:"Directory for state the gateway keeps (development CA, later the detection ledger). Overridden by --state-dir."`
	Proxy          Proxy              `yaml:"proxy" doc:"How the gateway talks to backends."`
	Routes         RoutePolicy        `yaml:"routes" doc:"Defaults for tenant routes and the bounds tenants may choose within."`
	Events         Events             `yaml:"events" doc:"Where access records and security events go (INV-9)."`
	WAF            WAF                `yaml:"waf" doc:"The web application firewall: Coraza with the OWASP CRS v4 (INV-1, INV-4, INV-13)."`
	RateLimit      RateLimitPolicy    `yaml:"ratelimit" doc:"Per-client rate and concurrency limits (RFC L3)."`
	Challenge      ChallengePolicy    `yaml:"challenge" doc:"The proof-of-work bot challenge (RFC L4)."`
	Reputation     ReputationPolicy   `yaml:"reputation" doc:"IP allow and deny lists, feeds, DNSBLs and bans."`
	Redis          Redis              `yaml:"redis" doc:"Redis shared by replicas, for rate limits and bans."`
	Network        Network            `yaml:"network" doc:"Tenant network isolation: what bulwark policy compile builds policies from (INV-5…8)."`
	Tenants        map[string]*Tenant `yaml:"tenants" doc:"The tenant registry: which hosts and namespaces each tenant owns. A tenant may route only hosts listed here."`
}

// Listeners are the gateway's sockets.
type Listeners struct {
	HTTPS string `yaml:"https" doc:"HTTPS listener address."`
	HTTP  string `yaml:"http" doc:"Plain HTTP listener: answers 308 to HTTPS, except /.well-known/acme-challenge/. Empty disables it."`
	Admin string `yaml:"admin" doc:"Admin listener: /metrics, /healthz, /readyz. Keep it on loopback or a private network."`
	// PublicHTTPSPort is the port clients use for HTTPS when a load balancer
	// maps it (443 → 8443): redirects must point at what the client sees.
	PublicHTTPSPort int `yaml:"public_https_port" doc:"HTTPS port that clients see, used in redirects. 0: the port of listeners.https."`
}

// TLS is the TLS policy. It is platform-only: RFC §3.4 gives TLS
// configuration to the platform team with no override.
type TLS struct {
	MinVersion   string     `yaml:"min_version" doc:"Lowest TLS version accepted: \"1.2\" or \"1.3\". Anything lower is refused (INV-2). TLS 1.2 uses only forward-secret AEAD suites (ECDHE with AES-GCM or ChaCha20-Poly1305)."`
	HSTS         HSTS       `yaml:"hsts" doc:"Strict-Transport-Security header on HTTPS responses."`
	Certificates []CertFile `yaml:"certificates" doc:"Certificates from PEM files. Each covers the DNS names in its SAN; SNI picks the certificate."`
	DevCA        bool       `yaml:"dev_ca" doc:"Issue certificates for hosts no file certificate covers from a local development CA kept in state_dir/dev-ca. For trying Bulwark out, never for production (INV-3)."`
}

// HSTS configures the Strict-Transport-Security header.
type HSTS struct {
	MaxAge            Duration `yaml:"max_age" doc:"max-age of the header. 0 sends no header."`
	IncludeSubdomains bool     `yaml:"include_subdomains" doc:"Add includeSubDomains."`
	Preload           bool     `yaml:"preload" doc:"Add preload (needs max_age of at least 365d and include_subdomains)."`
}

// CertFile is a certificate and key in PEM files, relative to the
// configuration directory unless absolute.
type CertFile struct {
	Cert string `yaml:"cert" doc:"PEM certificate chain, leaf first."`
	Key  string `yaml:"key" doc:"PEM private key."`
}

// Server holds the connection-level limits of the HTTPS and HTTP listeners.
type Server struct {
	ReadHeaderTimeout Duration `yaml:"read_header_timeout" doc:"Time allowed to read request headers (slowloris protection)."`
	ReadTimeout       Duration `yaml:"read_timeout" doc:"Time allowed to read a whole request, body included."`
	WriteTimeout      Duration `yaml:"write_timeout" doc:"Time allowed to write a response. Upgraded (WebSocket) connections are exempt."`
	IdleTimeout       Duration `yaml:"idle_timeout" doc:"How long an idle keep-alive connection stays open."`
	MaxHeaderBytes    ByteSize `yaml:"max_header_bytes" doc:"Largest request header block accepted."`
	DrainTimeout      Duration `yaml:"drain_timeout" doc:"On SIGTERM, how long in-flight requests get to finish."`
}

// Proxy configures the backend side of the gateway.
type Proxy struct {
	EjectCooldown Duration `yaml:"eject_cooldown" doc:"How long a backend that refused a connection is left out of rotation."`
	MaxIdleConns  int      `yaml:"max_idle_conns_per_backend" doc:"Idle keep-alive connections kept per backend."`
}

// RoutePolicy is the platform's side of route settings: what a route gets
// when its tenant says nothing, and the most a tenant may ask for.
type RoutePolicy struct {
	Defaults RouteLimits `yaml:"defaults" doc:"Values a route gets when its tenant file does not set them."`
	Bounds   RouteLimits `yaml:"bounds" doc:"The largest values a tenant may set (RFC §3.4: route limits within bounds)."`
}

// RouteLimits are the per-route settings a tenant may choose within bounds.
type RouteLimits struct {
	MaxBodySize     ByteSize `yaml:"max_body_size" doc:"Largest request body; larger gets 413."`
	ConnectTimeout  Duration `yaml:"connect_timeout" doc:"Time allowed to connect to a backend."`
	ResponseTimeout Duration `yaml:"response_timeout" doc:"Time allowed for a backend to send response headers; longer gets 504."`
}

// Events configures event sinks.
type Events struct {
	Sinks  []Sink `yaml:"sinks" doc:"Where JSON-lines events go. Default: stdout."`
	Access bool   `yaml:"access" doc:"Write an access record for every request, besides security events."`
}

// Sink is one destination of JSON-lines events.
type Sink struct {
	Type string `yaml:"type" doc:"stdout or file."`
	Path string `yaml:"path" doc:"For type file: the file, appended to, reopened on reload (for log rotation)."`
}

// WAF is the platform's WAF policy. The security team owns it (RFC §3.4:
// global WAF rules, no override); tenants choose per route within it.
type WAF struct {
	Paranoia             int           `yaml:"paranoia" doc:"CRS blocking paranoia level, 1 to 4. A route may ask for a higher one, never a lower."`
	InboundThreshold     int           `yaml:"inbound_threshold" doc:"CRS inbound anomaly score at which a request is blocked. A route may ask for a lower one, never a higher."`
	OutboundThreshold    int           `yaml:"outbound_threshold" doc:"CRS outbound anomaly score at which a response is blocked."`
	RequestBodyLimit     ByteSize      `yaml:"request_body_limit" doc:"How much of a request body the WAF inspects (held in memory while it does). With request_body_over_limit: reject, no route can accept a larger body, whatever its max_body_size; the default equals the default max_body_size."`
	RequestBodyOverLimit string        `yaml:"request_body_over_limit" doc:"What happens to a larger body: reject (413) or partial (inspect the first request_body_limit bytes, pass the rest uninspected)."`
	ResponseBody         bool          `yaml:"response_body" doc:"Inspect response bodies (CRS data-leakage rules). Costs latency and memory."`
	ResponseBodyLimit    ByteSize      `yaml:"response_body_limit" doc:"How much of a response body is inspected when response_body is on."`
	Rules                WAFRules      `yaml:"rules" doc:"Global custom rules: SecLang files in the configuration directory, applied to every route; tenants cannot override them (INV-13)."`
	DefaultMode          string        `yaml:"default_mode" doc:"Mode of a route that does not choose one: detect or block."`
	DetectionPeriod      Duration      `yaml:"detection_period" doc:"How long a rule set must serve in detect mode before a route may block with it (INV-4)."`
	EnforceNow           []string      `yaml:"enforce_now" doc:"Route IDs (tenant/name) allowed to block before their detection period ends. A security-team override; each use is an event and a metric."`
	Approvers            []string      `yaml:"approvers" doc:"Security approvers of WAF exceptions; every exception names one of them."`
	Candidate            *WAFCandidate `yaml:"candidate" doc:"A candidate rule set run in detection beside the enforced one on the same traffic; its events are tagged candidate. It never changes a response."`
}

// WAFRules are the platform's SecLang files, before and after the CRS.
type WAFRules struct {
	BeforeCRS []string `yaml:"before_crs" doc:"Files loaded after the CRS setup and before its rules: configuration (setvar), exclusions."`
	AfterCRS  []string `yaml:"after_crs" doc:"Files loaded after the CRS rules."`
}

// WAFCandidate is a shadow rule set.
type WAFCandidate struct {
	Paranoia int    `yaml:"paranoia" doc:"Paranoia level of the candidate; 0 means the enforced one's."`
	RulesDir string `yaml:"rules_dir" doc:"A directory of CRS rule files (REQUEST-*.conf, *.data) of another CRS version, in the configuration directory; empty means the embedded CRS."`
}

// Tenant is one entry of the tenant registry.
type Tenant struct {
	Hosts []string `yaml:"hosts" doc:"Host names the tenant owns alone: exact (shop.example.com) or one-label wildcards (*.shop.example.com)."`
	// SharedHosts supports path-based tenancy on one host name
	// (example.com/shop, example.com/blog): every tenant sharing the host
	// lists it here, and their routes must not claim the same path.
	SharedHosts []string `yaml:"shared_hosts" doc:"Host names this tenant shares with other tenants that list them here too; the tenants split it by path, and the same host and path in two tenants is an error."`
	Namespaces  []string `yaml:"namespaces" doc:"Kubernetes namespaces of the tenant."`
	Approvers   []string `yaml:"approvers" doc:"Who may approve WAF exceptions on the tenant's side."`
}

// DefaultPlatform returns the platform settings used for every field
// platform.yaml leaves out. The values are chosen to be safe in production,
// not merely convenient.
func DefaultPlatform() Platform {
	p := Platform{
		Listeners: Listeners{HTTPS: ":8443", HTTP: ":8080", Admin: "127.0.0.1:9901"},
		TLS: TLS{
			MinVersion: "1.2",
			HSTS:       HSTS{MaxAge: Duration(180 * 24 * time.Hour)},
		},
		Server: Server{
			ReadHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout:       Duration(60 * time.Second),
			WriteTimeout:      Duration(120 * time.Second),
			IdleTimeout:       Duration(120 * time.Second),
			MaxHeaderBytes:    64 << 10,
			DrainTimeout:      Duration(30 * time.Second),
		},
		StateDir: "/var/lib/bulwark",
		Proxy:    Proxy{EjectCooldown: Duration(10 * time.Second), MaxIdleConns: 64},
		Routes: RoutePolicy{
			Defaults: RouteLimits{MaxBodySize: 10 << 20, ConnectTimeout: Duration(5 * time.Second), ResponseTimeout: Duration(30 * time.Second)},
			Bounds:   RouteLimits{MaxBodySize: 100 << 20, ConnectTimeout: Duration(30 * time.Second), ResponseTimeout: Duration(300 * time.Second)},
		},
		Events: Events{Sinks: []Sink{{Type: "stdout"}}, Access: true},
		WAF:    defaultWAF(),
	}
	defaultAbuse(&p)
	p.Network = Network{
		Gateway:      Workload{Namespace: "ingress-system", Labels: map[string]string{"app.kubernetes.io/name": "bulwark"}},
		DNS:          Workload{Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}},
		Forbidden:    []string{"169.254.169.254/32"},
		ClusterCIDRs: []string{"10.0.0.0/8"},
	}
	return p
}

func defaultWAF() WAF {
	return WAF{
		Paranoia: 1, InboundThreshold: 5, OutboundThreshold: 4,
		RequestBodyLimit: 10 << 20, RequestBodyOverLimit: "reject",
		ResponseBodyLimit: 512 << 10,
		DefaultMode:       "detect", DetectionPeriod: Duration(7 * 24 * time.Hour),
	}
}
