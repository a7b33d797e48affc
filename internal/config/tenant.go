package config

// TenantFile is tenants/<tenant>.yaml: what a tenant declares about its own
// applications. Everything here is checked against the platform's registry
// and bounds before it is used.
type TenantFile struct {
	Tenant  string        `yaml:"tenant" doc:"The tenant's name; must match the file name and an entry of the platform's tenant registry."`
	Routes  []RouteSpec   `yaml:"routes" doc:"The tenant's routes."`
	Network TenantNetwork `yaml:"network" doc:"The tenant's network declarations: services, internet egress, cross-tenant calls."`
}

// RouteSpec is one route as a tenant writes it. Limits are pointers so
// that "not set" (take the platform default) differs from any value.
type RouteSpec struct {
	Name            string      `yaml:"name" doc:"Route name, unique within the tenant; the route's ID is tenant/name."`
	Hosts           []string    `yaml:"hosts" doc:"Hosts the route serves; each must be owned by the tenant in the registry."`
	Paths           []string    `yaml:"paths" doc:"Path prefixes, matched by whole path segments (/api matches /api and /api/x, not /apix). Default: /."`
	Backends        []Backend   `yaml:"backends" doc:"Backends, used round-robin; one that refuses connections is ejected for proxy.eject_cooldown."`
	MaxBodySize     *ByteSize   `yaml:"max_body_size" doc:"Largest request body, up to routes.bounds.max_body_size."`
	ConnectTimeout  *Duration   `yaml:"connect_timeout" doc:"Backend connect timeout, up to routes.bounds.connect_timeout."`
	ResponseTimeout *Duration   `yaml:"response_timeout" doc:"Backend response-header timeout, up to routes.bounds.response_timeout."`
	WAF             RouteWAF    `yaml:"waf" doc:"The route's WAF settings, within the platform's."`
	RateLimit       *RouteLimit `yaml:"ratelimit" doc:"The route's per-client limits; unset fields take ratelimit.defaults, and none may exceed ratelimit.bounds."`
	Challenge       string      `yaml:"challenge" doc:"Bot challenge: off, suspicious (clients whose score reaches challenge.suspicious_threshold) or always. Default: off."`
}

// RouteWAF is a route's WAF choice: its mode, and settings that may only
// make it stricter than the platform's.
type RouteWAF struct {
	Mode             string         `yaml:"mode" doc:"detect (log what would be blocked) or block. Default: waf.default_mode. There is no off."`
	Paranoia         int            `yaml:"paranoia" doc:"A paranoia level above the platform's. 0: the platform's."`
	InboundThreshold int            `yaml:"inbound_threshold" doc:"An inbound anomaly threshold below the platform's. 0: the platform's."`
	Exceptions       []WAFException `yaml:"exceptions" doc:"Approved exceptions (RFC §3.4): each needs a reason and two approvals."`
}

// WAFException removes rules, or a target from rules, on some paths of a
// route. It takes effect only with a security and a tenant approval.
type WAFException struct {
	Reason         string          `yaml:"reason" doc:"Why the exception exists (a false positive, with a ticket reference)."`
	Paths          []string        `yaml:"paths" doc:"Path prefixes it applies to (whole segments). Default: the route's paths."`
	RemoveRules    []int           `yaml:"remove_rules" doc:"Rule IDs not evaluated on these paths."`
	RemoveTags     []string        `yaml:"remove_tags" doc:"Rule tags (such as attack-sqli) not evaluated on these paths."`
	ExcludeTargets []ExcludeTarget `yaml:"exclude_targets" doc:"Targets (such as ARGS:password) that given rules do not inspect on these paths."`
	ApprovedBy     Approval        `yaml:"approved_by" doc:"The two approvals."`
}

// ExcludeTarget excludes one target from some rules.
type ExcludeTarget struct {
	Target string `yaml:"target" doc:"A variable and key, such as ARGS:password or REQUEST_COOKIES:session."`
	Rules  []int  `yaml:"rules" doc:"The rule IDs that skip the target."`
}

// Approval names the two approvers of an exception.
type Approval struct {
	Security string `yaml:"security" doc:"A security approver from waf.approvers in platform.yaml."`
	Tenant   string `yaml:"tenant" doc:"An approver of the tenant, from its registry entry's approvers."`
}

// Backend is one upstream server of a route.
type Backend struct {
	URL string `yaml:"url" doc:"http://host:port or https://host:port; no path, query or credentials."`
}

// platformOnly lists platform.yaml's top-level keys with the authority rule
// a tenant breaks by setting them; a tenant file using one is refused with
// that reason rather than a bare "unknown field".
var platformOnly = refusedKeys{
	"listeners":       "platform-only field: listeners belong to the platform team (platform.yaml), not to a tenant",
	"tls":             "platform-only field: TLS configuration belongs to the platform team with no tenant override (RFC §3.4, INV-2)",
	"server":          "platform-only field: connection limits are set by the platform team in platform.yaml",
	"trusted_proxies": "platform-only field: which proxies are trusted is decided by the platform team in platform.yaml",
	"state_dir":       "platform-only field: state_dir is set by the platform team in platform.yaml",
	"proxy":           "platform-only field: backend connection policy is set by the platform team in platform.yaml",
	"events":          "platform-only field: event sinks are set by the platform team in platform.yaml",
	"waf":             "platform-only field: global WAF settings belong to the security team with no tenant override (RFC §3.4); a route sets its mode and exceptions under routes[].waf",
	"ratelimit":       "platform-only field: global rate limits belong to the platform team (RFC §3.4); a route sets its own under routes[].ratelimit, within the bounds",
	"challenge":       "platform-only field: the challenge policy belongs to the platform team; a route chooses off, suspicious or always under routes[].challenge",
	"reputation":      "platform-only field: IP reputation is set by the platform team in platform.yaml",
	"redis":           "platform-only field: shared state is configured by the platform team in platform.yaml",
	"tenants":         "platform-only field: the tenant registry is owned by the platform team; a tenant cannot grant itself hosts",
}
