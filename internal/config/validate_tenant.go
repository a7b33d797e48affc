package config

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tenantRoutes checks one tenant file against the registry and the
// platform's bounds and returns its routes with defaults applied. claims
// collects host+path pairs across all tenant files to catch conflicts.
func (c *Config) tenantRoutes(src *source, stem string, tf *TenantFile, owners hostOwners, claims map[string]claim) []*Route {
	switch {
	case tf.Tenant == "":
		src.errorf("tenant", "missing; expected the tenant's name, %q for this file", stem)
		return nil
	case tf.Tenant != stem:
		src.errorf("tenant", "%q does not match the file name; tenants/%s.yaml must declare tenant: %s", tf.Tenant, stem, stem)
		return nil
	case c.Platform.Tenants[tf.Tenant] == nil:
		src.errorf("tenant", "%q is not in the tenant registry (tenants in %s)", tf.Tenant, PlatformFile)
		return nil
	}
	var routes []*Route
	names := map[string]string{}
	for i := range tf.Routes {
		field := fmt.Sprintf("routes[%d]", i)
		spec := &tf.Routes[i]
		if !nameRE.MatchString(spec.Name) {
			src.errorf(field+".name", "expected a route name (lower-case letters, digits and inner hyphens), got %q", spec.Name)
		} else if first, dup := names[spec.Name]; dup {
			src.errorf(field+".name", "route %q is already defined at %s", spec.Name, first)
		}
		p := src.lookup(field)
		names[spec.Name] = fmt.Sprintf("%s:%d", src.name, p.line)
		r := &Route{
			ID: tf.Tenant + "/" + spec.Name, Tenant: tf.Tenant, Name: spec.Name,
			File: src.name, Line: p.line, Source: src.rel, Field: field,
		}
		c.routeHosts(src, field, spec, r, owners)
		routePaths(src, field, spec, r)
		routeBackends(src, field, spec, r)
		c.routeLimits(src, field, spec, r)
		r.WAF = c.routeWAF(src, field, spec, r)
		c.routeAbuse(src, field, spec, r)
		for _, h := range r.Hosts {
			for j, pth := range r.Paths {
				key := h + pth
				pf := fmt.Sprintf("%s.paths[%d]", field, j)
				if len(spec.Paths) == 0 {
					pf = field + ".hosts"
				}
				if prev, taken := claims[key]; taken {
					src.errorf(pf, "host %s path %s is already routed by route %s (%s:%d:%d)", h, pth, prev.route, prev.file, prev.pos.line, prev.pos.col)
					continue
				}
				claims[key] = claim{route: r.ID, file: src.name, pos: src.lookup(pf)}
			}
		}
		routes = append(routes, r)
	}
	return routes
}

func (c *Config) routeHosts(src *source, field string, spec *RouteSpec, r *Route, owners hostOwners) {
	if len(spec.Hosts) == 0 {
		src.errorf(field+".hosts", "expected at least one host")
	}
	for i, h := range spec.Hosts {
		hf := fmt.Sprintf("%s.hosts[%d]", field, i)
		if msg := checkHost(h); msg != "" {
			src.errorf(hf, "%q: %s", h, msg)
			continue
		}
		if ok, who := owners.owns(r.Tenant, h); !ok {
			src.errorf(hf, "tenant %q does not own host %s (the registry in %s gives it to %s)", r.Tenant, h, PlatformFile, who)
			continue
		}
		if slices.Contains(r.Hosts, h) {
			src.errorf(hf, "host %s is listed twice", h)
			continue
		}
		r.Hosts = append(r.Hosts, h)
	}
}

func routePaths(src *source, field string, spec *RouteSpec, r *Route) {
	if len(spec.Paths) == 0 {
		r.Paths = []string{"/"}
		return
	}
	seen := map[string]bool{}
	for i, p := range spec.Paths {
		pf := fmt.Sprintf("%s.paths[%d]", field, i)
		switch {
		case !strings.HasPrefix(p, "/"):
			src.errorf(pf, "expected a path prefix starting with /, got %q", p)
			continue
		case strings.ContainsAny(p, "?#*%\\ \t") || strings.Contains(p, "//") || hasDotSegment(p):
			src.errorf(pf, "expected a plain path prefix: no query, fragment, wildcard, percent-encoding, backslash, space, empty or dot segments, got %q", p)
			continue
		}
		p = CleanPrefix(p)
		if seen[p] {
			src.errorf(pf, "path %s is listed twice", p)
			continue
		}
		seen[p] = true
		r.Paths = append(r.Paths, p)
	}
}

// CleanPrefix is a path prefix in the form routes are matched in: no
// trailing slash except for the root.
func CleanPrefix(p string) string {
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

func validPort(p string) bool {
	if p == "" {
		return true // the scheme's default
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func routeBackends(src *source, field string, spec *RouteSpec, r *Route) {
	if len(spec.Backends) == 0 {
		src.errorf(field+".backends", "expected at least one backend")
	}
	for i, b := range spec.Backends {
		bf := fmt.Sprintf("%s.backends[%d].url", field, i)
		u, err := url.Parse(b.URL)
		switch {
		case b.URL == "":
			src.errorf(bf, "expected a URL such as http://10.0.0.5:8080")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || !validPort(u.Port()):
			src.errorf(bf, "expected http://host:port or https://host:port, got %q", b.URL)
		case u.User != nil:
			src.errorf(bf, "credentials in a backend URL would end up in logs; remove them")
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
			src.errorf(bf, "expected no path, query or fragment, got %q", b.URL)
		default:
			r.Backends = append(r.Backends, &url.URL{Scheme: u.Scheme, Host: u.Host})
		}
	}
}

// routeLimits applies platform defaults and refuses tenant values above the
// platform's bounds: RFC §3.4 lets a tenant set route limits only within
// the platform's limits.
func (c *Config) routeLimits(src *source, field string, spec *RouteSpec, r *Route) {
	def, bound := c.Platform.Routes.Defaults, c.Platform.Routes.Bounds
	r.MaxBodySize = int64(def.MaxBodySize)
	if v := spec.MaxBodySize; v != nil {
		if within(src, field+".max_body_size", int64(*v), int64(bound.MaxBodySize), v.String(), bound.MaxBodySize.String()) {
			r.MaxBodySize = int64(*v)
		}
	}
	r.ConnectTimeout = durationWithin(src, field+".connect_timeout", spec.ConnectTimeout, def.ConnectTimeout, bound.ConnectTimeout)
	r.ResponseTimeout = durationWithin(src, field+".response_timeout", spec.ResponseTimeout, def.ResponseTimeout, bound.ResponseTimeout)
}

func durationWithin(src *source, field string, v *Duration, def, bound Duration) time.Duration {
	if v == nil {
		return def.D()
	}
	if within(src, field, int64(*v), int64(bound), v.String(), bound.String()) {
		return v.D()
	}
	return def.D()
}

func within(src *source, field string, v, bound int64, vs, bs string) bool {
	name := field[strings.LastIndexByte(field, '.')+1:]
	switch {
	case v <= 0:
		src.errorf(field, "must be greater than zero")
	case v > bound:
		src.errorf(field, "%s is above the platform bound of %s (routes.bounds.%s in %s)", vs, bs, name, PlatformFile)
	default:
		return true
	}
	return false
}
