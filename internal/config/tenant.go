package config

// TenantFile is tenants/<tenant>.yaml: what a tenant declares about its own
// applications. Everything here is checked against the platform's registry
// and bounds before it is used.
type TenantFile struct {
	Tenant string      `yaml:"tenant" doc:"The tenant's name; must match the file name and an entry of the platform's tenant registry."`
	Routes []RouteSpec `yaml:"routes" doc:"The tenant's routes."`
}

// RouteSpec is one route as a tenant writes it. Limits are pointers so
// that "not set" (take the platform default) differs from any value.
type RouteSpec struct {
	Name            string    `yaml:"name" doc:"Route name, unique within the tenant; the route's ID is tenant/name."`
	Hosts           []string  `yaml:"hosts" doc:"Hosts the route serves; each must be owned by the tenant in the registry."`
	Paths           []string  `yaml:"paths" doc:"Path prefixes, matched by whole path segments (/api matches /api and /api/x, not /apix). Default: /."`
	Backends        []Backend `yaml:"backends" doc:"Backends, used round-robin; one that refuses connections is ejected for proxy.eject_cooldown."`
	MaxBodySize     *ByteSize `yaml:"max_body_size" doc:"Largest request body, up to routes.bounds.max_body_size."`
	ConnectTimeout  *Duration `yaml:"connect_timeout" doc:"Backend connect timeout, up to routes.bounds.connect_timeout."`
	ResponseTimeout *Duration `yaml:"response_timeout" doc:"Backend response-header timeout, up to routes.bounds.response_timeout."`
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
	"tenants":         "platform-only field: the tenant registry is owned by the platform team; a tenant cannot grant itself hosts",
}
