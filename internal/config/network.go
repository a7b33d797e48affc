package config

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

type prefixT = netip.Prefix

// withinAny reports whether p lies inside one of bounds.
func withinAny(p netip.Prefix, bounds []netip.Prefix) bool {
	for _, b := range bounds {
		if b.Addr().Is4() == p.Addr().Is4() && b.Bits() <= p.Bits() && b.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// Network is the platform's side of tenant network policy (INV-5…8):
// where the gateway and the cluster services every tenant needs live, what
// no tenant may reach, and how far tenants may open internet egress.
type Network struct {
	Gateway   Workload   `yaml:"gateway" doc:"The gateway's namespace and pod labels: the only source tenant services accept ingress from, besides declared grants."`
	DNS       Workload   `yaml:"dns" doc:"Cluster DNS (namespace and pod labels); every tenant namespace may reach it on port 53, UDP and TCP."`
	Platform  []Workload `yaml:"platform_namespaces" doc:"Platform namespaces allowed into every tenant namespace (monitoring, for example), on the ports listed."`
	Forbidden []string   `yaml:"forbidden" doc:"CIDRs no tenant may reach, whatever it declares, such as the cloud metadata address 169.254.169.254/32."`
	// ClusterCIDRs are excepted from every internet egress block: many
	// CNIs apply ipBlock to pod addresses too, and "the internet on 443"
	// must not include other tenants' pods on 443.
	ClusterCIDRs []string `yaml:"cluster_cidrs" doc:"The cluster's pod and service CIDRs, excepted from every internet egress allowlist so that it never opens a path to other pods (INV-6)."`
	// EgressBounds are the CIDRs tenants may allowlist for internet
	// egress; a tenant asking for a destination outside them is refused.
	EgressBounds []string `yaml:"egress_bounds" doc:"CIDRs within which tenants may allowlist internet egress. Empty: tenants may allowlist nothing; egress to the internet is denied (INV-7)."`
}

// Workload names pods by namespace and labels.
type Workload struct {
	Namespace string            `yaml:"namespace" doc:"Namespace."`
	Labels    map[string]string `yaml:"labels" doc:"Pod labels; empty means every pod of the namespace."`
	Ports     []int             `yaml:"ports" doc:"TCP ports (platform_namespaces only): where those pods may connect to in tenant namespaces."`
}

// TenantNetwork is what a tenant declares about its own traffic.
type TenantNetwork struct {
	Services []Service      `yaml:"services" doc:"The tenant's services: pods by label and the TCP ports the gateway (and granted tenants) may reach."`
	Egress   []EgressRule   `yaml:"egress" doc:"Internet destinations the tenant's pods may reach, within network.egress_bounds."`
	Consumes []ServiceRef   `yaml:"consumes" doc:"Services of other tenants this tenant calls; the provider must grant it too."`
	Grants   []ServiceGrant `yaml:"grants" doc:"Which other tenants may call which of this tenant's services; the consumer must ask too."`
}

// Service is a set of a tenant's pods with the ports they serve.
type Service struct {
	Name      string            `yaml:"name" doc:"Service name, unique in the tenant."`
	Namespace string            `yaml:"namespace" doc:"Namespace of the pods; must be one of the tenant's. Default: the tenant's first namespace."`
	Labels    map[string]string `yaml:"labels" doc:"Pod labels selecting the service's pods."`
	Ports     []int             `yaml:"ports" doc:"TCP ports served."`
}

// EgressRule is an allowed internet destination.
type EgressRule struct {
	CIDR  string `yaml:"cidr" doc:"Destination CIDR, within network.egress_bounds."`
	Ports []int  `yaml:"ports" doc:"TCP ports; empty means none: name the ports."`
}

// ServiceRef names another tenant's service.
type ServiceRef struct {
	Tenant  string `yaml:"tenant" doc:"The providing tenant."`
	Service string `yaml:"service" doc:"Its service name."`
}

// ServiceGrant lets other tenants call one of this tenant's services.
type ServiceGrant struct {
	Service string   `yaml:"service" doc:"This tenant's service."`
	Tenants []string `yaml:"tenants" doc:"Tenants allowed to call it."`
}

func validateNetwork(src *source, n *Network) {
	for i, w := range append([]Workload{n.Gateway, n.DNS}, n.Platform...) {
		field := []string{"network.gateway", "network.dns"}
		f := ""
		if i < 2 {
			f = field[i]
		} else {
			f = fmt.Sprintf("network.platform_namespaces[%d]", i-2)
		}
		if w.Namespace != "" && !nameRE.MatchString(w.Namespace) {
			src.errorf(f+".namespace", "%q is not a valid namespace name", w.Namespace)
		}
		for _, p := range w.Ports {
			if p < 1 || p > 65535 {
				src.errorf(f+".ports", "expected ports from 1 to 65535, got %d", p)
			}
		}
	}
	for i, c := range n.Forbidden {
		if _, err := parsePrefix(c); err != nil {
			src.errorf(fmt.Sprintf("network.forbidden[%d]", i), "%v", err)
		}
	}
	for i, c := range n.ClusterCIDRs {
		if _, err := parsePrefix(c); err != nil {
			src.errorf(fmt.Sprintf("network.cluster_cidrs[%d]", i), "%v", err)
		}
	}
	for i, c := range n.EgressBounds {
		if _, err := parsePrefix(c); err != nil {
			src.errorf(fmt.Sprintf("network.egress_bounds[%d]", i), "%v", err)
		}
	}
}

// validateTenantNetworks checks every tenant's declarations against the
// registry and the platform's bounds, and pairs cross-tenant requests
// with grants: a path exists only when both sides declare it.
func (c *Config) validateTenantNetworks(files map[string]*tenantNetFile) {
	n := c.Platform.Network
	bounds := make([]prefixT, 0, len(n.EgressBounds))
	for _, b := range n.EgressBounds {
		if p, err := parsePrefix(b); err == nil {
			bounds = append(bounds, p)
		}
	}
	names := make([]string, 0, len(files))
	for t := range files {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		f := files[t]
		services := map[string]bool{}
		for i, s := range f.net.Services {
			field := fmt.Sprintf("network.services[%d]", i)
			if !nameRE.MatchString(s.Name) || services[s.Name] {
				f.src.errorf(field+".name", "expected a unique service name, got %q", s.Name)
			}
			services[s.Name] = true
			if s.Namespace != "" && !slices.Contains(c.Platform.Tenants[t].Namespaces, s.Namespace) {
				f.src.errorf(field+".namespace", "%s is not a namespace of tenant %q (tenants.%s.namespaces in %s)", s.Namespace, t, t, PlatformFile)
			}
			if len(c.Platform.Tenants[t].Namespaces) == 0 {
				f.src.errorf(field, "tenant %q has no namespaces in the registry (tenants.%s.namespaces in %s)", t, t, PlatformFile)
			}
			checkPorts(f.src, field+".ports", s.Ports)
		}
		for i, e := range f.net.Egress {
			field := fmt.Sprintf("network.egress[%d]", i)
			p, err := parsePrefix(e.CIDR)
			if err != nil {
				f.src.errorf(field+".cidr", "%v", err)
				continue
			}
			if !withinAny(p, bounds) {
				f.src.errorf(field+".cidr", "%s is outside the platform's egress bounds (network.egress_bounds in %s: %s)", e.CIDR, PlatformFile, orNone(n.EgressBounds))
			}
			checkPorts(f.src, field+".ports", e.Ports)
		}
		for i, g := range f.net.Grants {
			if !services[g.Service] {
				f.src.errorf(fmt.Sprintf("network.grants[%d].service", i), "no service %q in this tenant", g.Service)
			}
		}
	}
	// Pair consumers and providers: both halves or an error naming the
	// missing one.
	for _, t := range names {
		f := files[t]
		for i, ref := range f.net.Consumes {
			field := fmt.Sprintf("network.consumes[%d]", i)
			p, ok := files[ref.Tenant]
			if !ok || !p.hasService(ref.Service) {
				f.src.errorf(field, "tenant %q has no service %q", ref.Tenant, ref.Service)
				continue
			}
			if !p.grants(ref.Service, t) {
				f.src.errorf(field, "tenant %q does not grant %q access to service %q: add it to network.grants in %s (a cross-tenant path needs both sides, INV-6)", ref.Tenant, t, ref.Service, p.src.name)
			}
		}
		for i, g := range f.net.Grants {
			for j, consumer := range g.Tenants {
				field := fmt.Sprintf("network.grants[%d].tenants[%d]", i, j)
				cf, ok := files[consumer]
				if !ok {
					f.src.errorf(field, "no tenant file for %q", consumer)
					continue
				}
				if !cf.consumes(t, g.Service) {
					f.src.errorf(field, "tenant %q does not ask for service %q: add it to network.consumes in %s (a cross-tenant path needs both sides, INV-6)", consumer, g.Service, cf.src.name)
				}
			}
		}
	}
}

// tenantNetFile is one tenant's network declarations with their source.
type tenantNetFile struct {
	src *source
	net TenantNetwork
}

func (f *tenantNetFile) hasService(name string) bool {
	for _, s := range f.net.Services {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (f *tenantNetFile) grants(service, tenant string) bool {
	for _, g := range f.net.Grants {
		if g.Service == service && slices.Contains(g.Tenants, tenant) {
			return true
		}
	}
	return false
}

func (f *tenantNetFile) consumes(tenant, service string) bool {
	for _, r := range f.net.Consumes {
		if r.Tenant == tenant && r.Service == service {
			return true
		}
	}
	return false
}

func checkPorts(src *source, field string, ports []int) {
	if len(ports) == 0 {
		src.errorf(field, "expected at least one port")
	}
	for _, p := range ports {
		if p < 1 || p > 65535 {
			src.errorf(field, "expected ports from 1 to 65535, got %d", p)
		}
	}
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
