// Package compile turns the tenant network declarations of a Bulwark
// configuration (platform.yaml's network section, each tenant file's
// network section) into policy manifests, deterministically: the same
// configuration always gives byte-identical files, so Git shows exactly
// what a change of declarations changes.
//
// The kubernetes flavor writes networking.k8s.io/v1 NetworkPolicies, per
// tenant namespace:
//
//   - bulwark-default-deny: every pod isolated for ingress and egress
//     (INV-5, INV-7);
//   - bulwark-allow-dns: egress to cluster DNS on port 53, UDP and TCP;
//   - bulwark-gateway-<service>: ingress from the gateway's pods to the
//     service's declared ports only (INV-1: the gateway is the way in);
//   - bulwark-platform-<namespace>: ingress from each platform namespace
//     (monitoring) on its declared ports;
//   - bulwark-grant-<service>-<tenant> and bulwark-call-<tenant>-<service>:
//     the two halves of a cross-tenant path both tenants declared (INV-6);
//   - bulwark-egress-internet: the tenant's internet allowlist, with the
//     platform's forbidden and cluster CIDRs carved out of every block
//     (INV-7).
//
// NetworkPolicy has no deny rules and no precedence, so in this flavor the
// forbidden destinations are enforced by never allowing them; the
// guardrail flavors (Calico tiers, AdminNetworkPolicy) add policies tenants
// cannot override (INV-8).
package compile

import (
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// nameLabel is the label Kubernetes puts on every namespace with its name.
const nameLabel = "kubernetes.io/metadata.name"

// managedBy marks every object Bulwark writes, so the auditor can tell
// compiled policies from hand-made ones (INV-12).
var managedBy = map[string]string{"app.kubernetes.io/managed-by": "bulwark"}

// Kubernetes compiles cfg's network declarations into NetworkPolicies,
// returned as files (path relative to the output directory → content).
func Kubernetes(cfg *config.Config) (map[string][]byte, error) {
	byNS := map[string][]networkingv1.NetworkPolicy{}
	add := func(p networkingv1.NetworkPolicy) { byNS[p.Namespace] = append(byNS[p.Namespace], p) }
	n := cfg.Platform.Network
	tenants := sortedKeys(cfg.Platform.Tenants)
	for _, t := range tenants {
		for _, ns := range cfg.Platform.Tenants[t].Namespaces {
			for _, p := range namespaceBase(ns, n) {
				add(p)
			}
		}
		decl := cfg.Networks[t]
		for _, s := range decl.Services {
			ns := serviceNamespace(cfg, t, s)
			add(policy(ns, "bulwark-gateway-"+s.Name, s.Labels, []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{peer(n.Gateway.Namespace, n.Gateway.Labels)},
				Ports: tcpPorts(s.Ports),
			}}, nil))
		}
		for _, g := range decl.Grants {
			s := service(decl, g.Service)
			for _, consumer := range sortedCopy(g.Tenants) {
				add(policy(serviceNamespace(cfg, t, s), "bulwark-grant-"+s.Name+"-"+consumer, s.Labels,
					[]networkingv1.NetworkPolicyIngressRule{{From: namespacesPeer(cfg.Platform.Tenants[consumer].Namespaces), Ports: tcpPorts(s.Ports)}}, nil))
			}
		}
		for _, ref := range decl.Consumes {
			s := service(cfg.Networks[ref.Tenant], ref.Service)
			for _, ns := range cfg.Platform.Tenants[t].Namespaces {
				add(policy(ns, "bulwark-call-"+ref.Tenant+"-"+ref.Service, nil, nil, []networkingv1.NetworkPolicyEgressRule{{
					To:    []networkingv1.NetworkPolicyPeer{peer(serviceNamespace(cfg, ref.Tenant, s), s.Labels)},
					Ports: tcpPorts(s.Ports),
				}}))
			}
		}
		if len(decl.Egress) > 0 {
			rules, err := internetEgress(decl.Egress, append(append([]string{}, n.Forbidden...), n.ClusterCIDRs...))
			if err != nil {
				return nil, fmt.Errorf("tenant %s: %w", t, err)
			}
			for _, ns := range cfg.Platform.Tenants[t].Namespaces {
				add(policy(ns, "bulwark-egress-internet", nil, nil, rules))
			}
		}
	}
	return render(byNS)
}

// namespaceBase is what every tenant namespace gets: default deny, DNS,
// and the platform namespaces' ingress.
func namespaceBase(ns string, n config.Network) []networkingv1.NetworkPolicy {
	deny := policy(ns, "bulwark-default-deny", nil, nil, nil)
	deny.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dns53 := intstr.FromInt32(53)
	out := []networkingv1.NetworkPolicy{deny, policy(ns, "bulwark-allow-dns", nil, nil, []networkingv1.NetworkPolicyEgressRule{{
		To:    []networkingv1.NetworkPolicyPeer{peer(n.DNS.Namespace, n.DNS.Labels)},
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns53}, {Protocol: &tcp, Port: &dns53}},
	}})}
	for _, w := range n.Platform {
		out = append(out, policy(ns, "bulwark-platform-"+w.Namespace, nil, []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{peer(w.Namespace, w.Labels)},
			Ports: tcpPorts(w.Ports),
		}}, nil))
	}
	return out
}

// policy builds a NetworkPolicy selecting pods by labels (nil: all pods of
// ns), with explicit policyTypes: only the directions it has rules for,
// so it never isolates a direction by accident.
func policy(ns, name string, labels map[string]string, in []networkingv1.NetworkPolicyIngressRule, out []networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicy {
	p := networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: managedBy},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: labels}, Ingress: in, Egress: out},
	}
	if in != nil {
		p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
	}
	if out != nil {
		p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
	return p
}

// peer selects pods with labels in namespace ns (by its name label).
func peer(ns string, labels map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{nameLabel: ns}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: labels},
	}
}

// namespacesPeer selects every pod of the given namespaces.
func namespacesPeer(namespaces []string) []networkingv1.NetworkPolicyPeer {
	return []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: nameLabel, Operator: metav1.LabelSelectorOpIn, Values: sortedCopy(namespaces)}},
	}}}
}

func tcpPorts(ports []int) []networkingv1.NetworkPolicyPort {
	tcp := corev1.ProtocolTCP
	out := make([]networkingv1.NetworkPolicyPort, 0, len(ports))
	for _, p := range sortedInts(ports) {
		v := intstr.FromInt32(int32(p))
		out = append(out, networkingv1.NetworkPolicyPort{Protocol: &tcp, Port: &v})
	}
	return out
}

// internetEgress allows each declared destination with every forbidden
// and cluster CIDR inside it excepted, so no declaration can open a
// forbidden address or another pod.
func internetEgress(rules []config.EgressRule, forbidden []string) ([]networkingv1.NetworkPolicyEgressRule, error) {
	var out []networkingv1.NetworkPolicyEgressRule
	for _, r := range rules {
		p, err := netip.ParsePrefix(r.CIDR)
		if err != nil {
			if a, err2 := netip.ParseAddr(r.CIDR); err2 == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, err
			}
		}
		block := &networkingv1.IPBlock{CIDR: p.String()}
		for _, f := range forbidden {
			fp, err := netip.ParsePrefix(f)
			if err != nil {
				continue
			}
			if fp.Addr().Is4() == p.Addr().Is4() && p.Bits() <= fp.Bits() && p.Contains(fp.Addr()) {
				block.Except = append(block.Except, fp.String())
			}
		}
		sort.Strings(block.Except)
		out = append(out, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: block}}, Ports: tcpPorts(r.Ports)})
	}
	return out, nil
}

// render writes one file per namespace, policies sorted by name.
func render(byNS map[string][]networkingv1.NetworkPolicy) (map[string][]byte, error) {
	files := map[string][]byte{}
	for ns, ps := range byNS {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
		var b bytes.Buffer
		b.WriteString("# Generated by bulwark policy compile --flavor kubernetes. Do not edit: change the declarations.\n")
		for _, p := range ps {
			data, err := yaml.Marshal(p)
			if err != nil {
				return nil, err
			}
			b.WriteString("---\n")
			b.Write(stripNulls(data))
		}
		files["kubernetes/"+ns+".yaml"] = b.Bytes()
	}
	return files, nil
}

// stripNulls drops the empty timestamps and status the API types marshal.
func stripNulls(data []byte) []byte {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == "creationTimestamp: null" {
			continue
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\n"))
}

func serviceNamespace(cfg *config.Config, tenant string, s config.Service) string {
	if s.Namespace != "" {
		return s.Namespace
	}
	return cfg.Platform.Tenants[tenant].Namespaces[0]
}

func service(decl config.TenantNetwork, name string) config.Service {
	for _, s := range decl.Services {
		if s.Name == name {
			return s
		}
	}
	return config.Service{Name: name}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func sortedInts(s []int) []int {
	c := append([]int(nil), s...)
	sort.Ints(c)
	return c
}
