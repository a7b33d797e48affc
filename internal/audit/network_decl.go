package audit

import (
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// Declarations.

// declarations are what the configuration authorizes.
type declarations struct {
	gateway, dns config.Workload
	platform     []config.Workload
	services     map[string][]serviceDecl // by tenant
	calls        map[[2]string]bool       // consumer tenant, provider tenant/service: both declared
	egress       map[string][]egressDecl  // by tenant
	forbidden    []netip.Prefix
	cluster      []netip.Prefix
}

type serviceDecl struct {
	name, ns string
	labels   map[string]string
	ports    []int32
}

type egressDecl struct {
	net   netip.Prefix
	ports []int32
}

func newDeclarations(cfg *config.Config) *declarations {
	nw := cfg.Platform.Network
	d := &declarations{gateway: nw.Gateway, dns: nw.DNS, platform: nw.Platform,
		services: map[string][]serviceDecl{}, calls: map[[2]string]bool{}, egress: map[string][]egressDecl{}}
	d.forbidden = prefixes(nw.Forbidden)
	d.cluster = prefixes(nw.ClusterCIDRs)
	for t, tn := range cfg.Networks {
		nss := cfg.Platform.Tenants[t].Namespaces
		for _, s := range tn.Services {
			ns := s.Namespace
			if ns == "" && len(nss) > 0 {
				ns = nss[0]
			}
			d.services[t] = append(d.services[t], serviceDecl{s.Name, ns, s.Labels, int32s(s.Ports)})
		}
		for _, e := range tn.Egress {
			if p, err := parseNet(e.CIDR); err == nil {
				d.egress[t] = append(d.egress[t], egressDecl{p, int32s(e.Ports)})
			}
		}
	}
	for consumer, tn := range cfg.Networks {
		for _, ref := range tn.Consumes {
			for _, g := range cfg.Networks[ref.Tenant].Grants {
				if g.Service == ref.Service && slices.Contains(g.Tenants, consumer) {
					d.calls[[2]string{consumer, ref.Tenant + "/" + ref.Service}] = true
				}
			}
		}
	}
	return d
}

func prefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := parseNet(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func int32s(ports []int) []int32 {
	out := make([]int32, len(ports))
	for i, p := range ports {
		out[i] = int32(p)
	}
	return out
}

// matches reports whether p is one of w's pods.
func matches(w config.Workload, p *pod) bool {
	if w.Namespace == "" || p.ns != w.Namespace {
		return false
	}
	for k, v := range w.Labels {
		if p.k8s.Labels[k] != v {
			return false
		}
	}
	return true
}

// ports are the ports declared for connections from s to d.
func (d *declarations) ports(n *network, s, dst *pod) []netpol.Port {
	var out []netpol.Port
	tcp := func(ports ...int32) {
		for _, p := range ports {
			out = append(out, netpol.Port{Protocol: corev1.ProtocolTCP, Port: p})
		}
	}
	src, to := n.owner[s.ns], n.owner[dst.ns]
	if src != "" && matches(d.dns, dst) {
		out = append(out, netpol.Port{Protocol: corev1.ProtocolUDP, Port: 53}, netpol.Port{Protocol: corev1.ProtocolTCP, Port: 53})
	}
	if to == "" {
		return out
	}
	for _, w := range d.platform {
		if matches(w, s) {
			tcp(int32s(w.Ports)...)
		}
	}
	for _, svc := range d.services[to] {
		if !matches(config.Workload{Namespace: svc.ns, Labels: svc.labels}, dst) {
			continue
		}
		if matches(d.gateway, s) || (src != "" && d.calls[[2]string{src, to + "/" + svc.name}]) {
			tcp(svc.ports...)
		}
	}
	return out
}

// undeclared narrows flows to their undeclared ports. What is declared
// depends on a few facts about each side (tenant, gateway, platform
// workload, DNS, services matched), so the flows are split by those and
// the declarations read once per split. A nil d declares nothing.
func (d *declarations) undeclared(n *network, flows []flow) []flow {
	var out []flow
	for _, f := range flows {
		srcs, dsts := d.split(n, f.srcs, true), d.split(n, f.dsts, false)
		for _, ss := range srcs {
			for _, ds := range dsts {
				var declared []netpol.Port
				if d != nil {
					declared = d.ports(n, ss[0], ds[0])
				}
				if ports := subtractPorts(f.ports, declared); len(ports) > 0 {
					out = append(out, flow{ss, ds, ports})
				}
			}
		}
	}
	return out
}

// split groups pods by what the declarations can say of them as sources
// (src) or destinations.
func (d *declarations) split(n *network, list []*pod, src bool) [][]*pod {
	if d == nil {
		return [][]*pod{list}
	}
	var order []string
	by := map[string][]*pod{}
	for _, p := range list {
		key := d.role(n, p, src)
		if by[key] == nil {
			order = append(order, key)
		}
		by[key] = append(by[key], p)
	}
	out := make([][]*pod, len(order))
	for i, k := range order {
		out[i] = by[k]
	}
	return out
}

func (d *declarations) role(n *network, p *pod, src bool) string {
	key := n.owner[p.ns]
	if src {
		key += fmt.Sprint(matches(d.gateway, p))
		for _, w := range d.platform {
			key += fmt.Sprint(matches(w, p))
		}
		return key
	}
	key += fmt.Sprint(matches(d.dns, p))
	for _, svc := range d.services[n.owner[p.ns]] {
		key += fmt.Sprint(matches(config.Workload{Namespace: svc.ns, Labels: svc.labels}, p))
	}
	return key
}

// egressCuts are the boundaries the declarations draw outside the
// cluster: the forbidden and cluster CIDRs, the declared destinations and
// their ports. Cutting the grid there makes "declared" the same for a
// whole interval.
func (d *declarations) egressCuts(rules []egressDecl) ([]netip.Prefix, cuts) {
	nets := append(slices.Clone(d.forbidden), d.cluster...)
	ports := cuts{}
	for _, r := range rules {
		nets = append(nets, r.net)
		for _, p := range r.ports {
			ports.add(corev1.ProtocolTCP, p, p)
		}
	}
	return nets, ports
}

// egressPorts are the TCP ports the rules declare for addresses a (one
// elementary interval: inside or outside each rule's CIDR, each forbidden
// CIDR and each cluster CIDR as a whole). The compiler carves the
// forbidden and cluster CIDRs out of every declared destination.
func (d *declarations) egressPorts(a addrRange, rules []egressDecl) []netpol.Port {
	if slices.ContainsFunc(d.cluster, a.within) {
		return nil
	}
	var out []netpol.Port
	for _, r := range rules {
		if a.within(r.net) {
			for _, p := range r.ports {
				out = append(out, netpol.Port{Protocol: corev1.ProtocolTCP, Port: p})
			}
		}
	}
	return out
}
