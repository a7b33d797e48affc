package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// validatePlatform checks platform.yaml after defaults are applied.
func validatePlatform(src *source, p *Platform) {
	validateListeners(src, &p.Listeners)
	validateTLS(src, &p.TLS)
	s := p.Server
	positive(src, "server.read_header_timeout", s.ReadHeaderTimeout)
	positive(src, "server.read_timeout", s.ReadTimeout)
	positive(src, "server.write_timeout", s.WriteTimeout)
	positive(src, "server.idle_timeout", s.IdleTimeout)
	positive(src, "server.drain_timeout", s.DrainTimeout)
	if s.MaxHeaderBytes < 4<<10 || s.MaxHeaderBytes > 1<<20 {
		src.errorf("server.max_header_bytes", "expected between 4KiB and 1MiB, got %s", s.MaxHeaderBytes)
	}
	for i, cidr := range p.TrustedProxies {
		if _, err := parsePrefix(cidr); err != nil {
			src.errorf(fmt.Sprintf("trusted_proxies[%d]", i), "%v", err)
		}
	}
	if p.StateDir == "" {
		src.errorf("state_dir", "expected a directory path")
	}
	positive(src, "proxy.eject_cooldown", p.Proxy.EjectCooldown)
	if p.Proxy.MaxIdleConns < 0 {
		src.errorf("proxy.max_idle_conns_per_backend", "must not be negative")
	}
	validateRoutePolicy(src, &p.Routes)
	validatePlatformWAF(src, &p.WAF)
	validateAbuse(src, p)
	validateNetwork(src, &p.Network)
	if len(p.Events.Sinks) == 0 {
		src.errorf("events.sinks", "expected at least one sink: security events must be written somewhere (INV-9)")
	}
	for i, s := range p.Events.Sinks {
		field := fmt.Sprintf("events.sinks[%d]", i)
		switch {
		case s.Type == "stdout" && s.Path != "":
			src.errorf(field+".path", "a stdout sink takes no path")
		case s.Type == "file" && s.Path == "":
			src.errorf(field+".path", "a file sink needs a path")
		case s.Type != "stdout" && s.Type != "file":
			src.errorf(field+".type", "expected stdout or file, got %q", s.Type)
		}
	}
}

func validateListeners(src *source, l *Listeners) {
	addrs := map[string]string{}
	for _, f := range []struct{ field, addr string }{
		{"listeners.https", l.HTTPS}, {"listeners.http", l.HTTP}, {"listeners.admin", l.Admin},
	} {
		if f.addr == "" {
			if f.field == "listeners.https" {
				src.errorf(f.field, "expected an address such as :8443; the HTTPS listener cannot be disabled")
			}
			continue
		}
		host, port, err := net.SplitHostPort(f.addr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			src.errorf(f.field, "expected host:port such as :8443 or 127.0.0.1:9901, got %q", f.addr)
			continue
		}
		if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			src.errorf(f.field, "expected an IP address or localhost before the port, got %q", host)
			continue
		}
		if other, dup := addrs[f.addr]; dup && port != "0" {
			src.errorf(f.field, "%s is also the address of %s", f.addr, other)
		}
		addrs[f.addr] = f.field
	}
	if l.PublicHTTPSPort < 0 || l.PublicHTTPSPort > 65535 {
		src.errorf("listeners.public_https_port", "expected a port number from 1 to 65535, or 0 for the port of listeners.https, got %d", l.PublicHTTPSPort)
	}
}

func validateTLS(src *source, t *TLS) {
	switch t.MinVersion {
	case "1.2", "1.3":
	case "1.0", "1.1", "1", "ssl3", "SSLv3", "TLS1.0", "TLS1.1":
		src.errorf("tls.min_version", "%q is refused: public endpoints must use TLS 1.2 or higher (INV-2); expected \"1.2\" or \"1.3\"", t.MinVersion)
	default:
		src.errorf("tls.min_version", "expected \"1.2\" or \"1.3\", got %q", t.MinVersion)
	}
	if t.HSTS.Preload && (t.HSTS.MaxAge.D() < 365*24*time.Hour || !t.HSTS.IncludeSubdomains) {
		src.errorf("tls.hsts.preload", "preload needs max_age of at least 365d and include_subdomains: true")
	}
	for i, c := range t.Certificates {
		field := fmt.Sprintf("tls.certificates[%d]", i)
		if c.Cert == "" {
			src.errorf(field+".cert", "expected the path of a PEM certificate file")
		}
		if c.Key == "" {
			src.errorf(field+".key", "expected the path of a PEM private key file")
		}
	}
}

func validateRoutePolicy(src *source, rp *RoutePolicy) {
	d, b := rp.Defaults, rp.Bounds
	for _, f := range []struct {
		name     string
		def, max int64
		str      func(int64) string
	}{
		{"max_body_size", int64(d.MaxBodySize), int64(b.MaxBodySize), func(v int64) string { return ByteSize(v).String() }},
		{"connect_timeout", int64(d.ConnectTimeout), int64(b.ConnectTimeout), func(v int64) string { return Duration(v).String() }},
		{"response_timeout", int64(d.ResponseTimeout), int64(b.ResponseTimeout), func(v int64) string { return Duration(v).String() }},
	} {
		if f.def <= 0 {
			src.errorf("routes.defaults."+f.name, "must be greater than zero")
		}
		if f.max <= 0 {
			src.errorf("routes.bounds."+f.name, "must be greater than zero")
		}
		if f.def > f.max {
			// Say which side the file wrote: a bound set below the built-in
			// default is reported where the user set the bound.
			_, defSet := src.pos["routes.defaults."+f.name]
			_, maxSet := src.pos["routes.bounds."+f.name]
			switch {
			case !defSet:
				src.errorf("routes.bounds."+f.name, "bound %s is below the built-in default of %s; set routes.defaults.%s to at most %s as well", f.str(f.max), f.str(f.def), f.name, f.str(f.max))
			case !maxSet:
				src.errorf("routes.defaults."+f.name, "default %s is above the built-in bound of %s; set routes.bounds.%s to at least %s as well", f.str(f.def), f.str(f.max), f.name, f.str(f.def))
			default:
				src.errorf("routes.defaults."+f.name, "default %s is above the bound routes.bounds.%s of %s", f.str(f.def), f.name, f.str(f.max))
			}
		}
	}
}

func positive(src *source, field string, d Duration) {
	if d <= 0 {
		src.errorf(field, "must be greater than zero")
	}
}

// parsePrefix reads a CIDR, or a single address as a /32 or /128, and
// refuses a prefix with host bits set, which is almost always a typo.
func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("expected an IP address or CIDR such as 10.0.0.0/8, got %q", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set; did you mean %s?", s, p.Masked())
	}
	return p, nil
}

// TrustedPrefixes returns trusted_proxies parsed. Load has validated them.
func (p *Platform) TrustedPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(p.TrustedProxies))
	for _, s := range p.TrustedProxies {
		if pr, err := parsePrefix(s); err == nil {
			out = append(out, pr)
		}
	}
	return out
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// hostOwners maps each registered host pattern to the tenants that own it:
// one for a host in hosts, possibly several for a host in shared_hosts.
type hostOwners map[string]*ownership

type ownership struct {
	tenants []string
	shared  bool
}

// owns reports whether tenant owns host, exactly or through a wildcard, and
// otherwise names the owners for the error message.
func (o hostOwners) owns(tenant, host string) (bool, string) {
	var others []string
	for pattern, own := range o {
		if !HostCovers(pattern, host) {
			continue
		}
		if slices.Contains(own.tenants, tenant) {
			return true, ""
		}
		others = append(others, own.tenants...)
	}
	if len(others) == 0 {
		return false, "no tenant"
	}
	sort.Strings(others)
	return false, "tenant " + strings.Join(slices.Compact(others), ", ")
}

// validateRegistry checks the tenant registry: names, hosts, namespaces,
// and that no host or namespace belongs to two tenants, directly or through
// a wildcard, unless every one of them lists it in shared_hosts.
func validateRegistry(src *source, tenants map[string]*Tenant) hostOwners {
	names := make([]string, 0, len(tenants))
	for name := range tenants {
		names = append(names, name)
	}
	sort.Strings(names)
	owners, namespaces := hostOwners{}, map[string]string{}
	for _, name := range names {
		field := "tenants." + name
		if !nameRE.MatchString(name) {
			src.errorf(field, "tenant names are DNS labels: lower-case letters, digits and inner hyphens, at most 63 characters")
		}
		t := tenants[name]
		if t == nil {
			t = &Tenant{}
			tenants[name] = t
		}
		registerHosts(src, field+".hosts", name, t.Hosts, false, owners)
		registerHosts(src, field+".shared_hosts", name, t.SharedHosts, true, owners)
		for i, ns := range t.Namespaces {
			nf := fmt.Sprintf("%s.namespaces[%d]", field, i)
			if !nameRE.MatchString(ns) {
				src.errorf(nf, "%q is not a valid namespace name (a DNS label)", ns)
			} else if other, ok := namespaces[ns]; ok {
				src.errorf(nf, "namespace %s is already owned by tenant %q", ns, other)
			}
			namespaces[ns] = name
		}
	}
	return owners
}

func registerHosts(src *source, field, tenant string, hosts []string, shared bool, owners hostOwners) {
	for i, h := range hosts {
		hf := fmt.Sprintf("%s[%d]", field, i)
		if msg := checkHost(h); msg != "" {
			src.errorf(hf, "%q: %s", h, msg)
			continue
		}
		if own, ok := owners[h]; ok {
			switch {
			case slices.Contains(own.tenants, tenant):
				src.errorf(hf, "%s is listed twice for tenant %q", h, tenant)
			case !own.shared:
				src.errorf(hf, "%s is already owned by tenant %s; a host belongs to one tenant unless every tenant using it lists it in shared_hosts", h, strings.Join(own.tenants, ", "))
			case !shared:
				src.errorf(hf, "%s is a shared host of tenant %s; every tenant using a shared host lists it in shared_hosts, not hosts", h, strings.Join(own.tenants, ", "))
			default:
				own.tenants = append(own.tenants, tenant)
			}
			continue
		}
		overlap := false
		for pattern, own := range owners {
			if pattern != h && (HostCovers(pattern, h) || HostCovers(h, pattern)) {
				src.errorf(hf, "%s overlaps %s owned by tenant %s; a host name belongs to one registry entry", h, pattern, strings.Join(own.tenants, ", "))
				overlap = true
			}
		}
		if !overlap {
			owners[h] = &ownership{tenants: []string{tenant}, shared: shared}
		}
	}
}
