package tiered

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// Cluster is the layered model's input: the Kubernetes objects netpol
// evaluates, plus the Calico and network-policy API objects around them.
type Cluster struct {
	netpol.Cluster

	Tiers  []Tier
	Calico []CalicoPolicy
	// Admin holds AdminNetworkPolicies and the BaselineAdminNetworkPolicy.
	Admin []AdminPolicy
}

// Verdict answers "can src reach dst on port" with each side's decision.
type Verdict struct {
	Allowed bool     `json:"allowed"`
	Egress  Decision `json:"egress"`
	Ingress Decision `json:"ingress"`
}

// Layer names the stage of the evaluation order that decided.
type Layer string

// The layers, in evaluation order (see the package doc).
const (
	LayerSelf          Layer = "self"
	LayerExternal      Layer = "outside the cluster"
	LayerAdmin         Layer = "AdminNetworkPolicy"
	LayerCalico        Layer = "Calico tier"
	LayerNetworkPolicy Layer = "NetworkPolicy"
	LayerBaseline      Layer = "BaselineAdminNetworkPolicy"
	LayerDefault       Layer = "no policy decided (allow)"
)

// Decision is one direction's answer and what decided it.
type Decision struct {
	Allowed bool  `json:"allowed"`
	Layer   Layer `json:"layer"`
	// Tier is the Calico tier ("platform (order 100)") or the
	// AdminNetworkPolicy priority ("priority 20").
	Tier string `json:"tier,omitempty"`
	// Policy, Rule (index in the direction's rules, -1 for none), RuleName
	// (ANP rule name or Calico bulwark/rule annotation) and Action of the
	// deciding rule; EndOfTier when the tier's default action decided.
	Policy    string `json:"policy,omitempty"`
	Rule      int    `json:"rule"`
	RuleName  string `json:"ruleName,omitempty"`
	Action    string `json:"action,omitempty"`
	EndOfTier bool   `json:"endOfTier,omitempty"`
	// NetworkPolicy is the Kubernetes engine's decision when the
	// NetworkPolicies decided.
	NetworkPolicy *netpol.Decision `json:"networkPolicy,omitempty"`
	// Passed lists the rules that passed the connection on, in order.
	Passed []string `json:"passed,omitempty"`
}

// String renders the decision in one line for --explain.
func (d Decision) String() string {
	verdict := "deny"
	if d.Allowed {
		verdict = "allow"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", verdict, d.Layer)
	if d.Tier != "" {
		fmt.Fprintf(&b, " %s", d.Tier)
	}
	switch {
	case d.NetworkPolicy != nil:
		fmt.Fprintf(&b, ": %s", d.NetworkPolicy)
	case d.EndOfTier:
		fmt.Fprintf(&b, ": selected by %s, no rule matched (end of tier)", d.Policy)
	case d.Policy != "":
		fmt.Fprintf(&b, ": %s rule %d", d.Policy, d.Rule)
		if d.RuleName != "" {
			fmt.Fprintf(&b, " (%s)", d.RuleName)
		}
		fmt.Fprintf(&b, ": %s", d.Action)
	}
	if len(d.Passed) > 0 {
		fmt.Fprintf(&b, " [passed by %s]", strings.Join(d.Passed, ", "))
	}
	return b.String()
}

// ep is a resolved endpoint: a pod (name set) or an external address.
type ep struct {
	namespace, name string
	labels          labels.Set // pod labels plus Calico's implicit ones
	nsLabels        labels.Set
	ips             []netip.Addr
	ports           []corev1.ContainerPort
}

func (e *ep) isPod() bool { return e.name != "" }

func (e *ep) inAny(nets []netip.Prefix) bool {
	for _, n := range nets {
		for _, ip := range e.ips {
			if n.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// Calico's implicit labels: every namespace carries projectcalico.org/name
// and every pod projectcalico.org/namespace and orchestrator k8s.
const (
	nameLabel       = "kubernetes.io/metadata.name"
	calicoNameLabel = "projectcalico.org/name"
	calicoNSLabel   = "projectcalico.org/namespace"
	calicoOrchLabel = "projectcalico.org/orchestrator"
)

// index resolves endpoints against the cluster's pods and namespaces.
type index struct {
	ns   map[string]labels.Set
	pods map[string]*ep
}

func newIndex(c *netpol.Cluster) *index {
	ix := &index{ns: map[string]labels.Set{}, pods: map[string]*ep{}}
	for _, n := range c.Namespaces {
		ix.ns[n.Name] = nsLabels(n.Name, n.Labels)
	}
	for _, p := range c.Pods {
		ns := p.Namespace
		if ns == "" {
			ns = "default"
		}
		if ix.ns[ns] == nil {
			ix.ns[ns] = nsLabels(ns, nil)
		}
		e := &ep{namespace: ns, name: p.Name, nsLabels: ix.ns[ns], labels: labels.Set{}}
		for k, v := range p.Labels {
			e.labels[k] = v
		}
		e.labels[calicoNSLabel], e.labels[calicoOrchLabel] = ns, "k8s"
		for _, ctr := range p.Spec.Containers {
			e.ports = append(e.ports, ctr.Ports...)
		}
		for _, s := range append([]string{p.Status.PodIP}, podIPs(p)...) {
			if ip, err := netip.ParseAddr(s); err == nil {
				e.ips = append(e.ips, ip.Unmap())
			}
		}
		ix.pods[ns+"/"+p.Name] = e
	}
	return ix
}

func podIPs(p corev1.Pod) []string {
	var out []string
	for _, ip := range p.Status.PodIPs {
		out = append(out, ip.IP)
	}
	return out
}

func nsLabels(name string, declared map[string]string) labels.Set {
	set := labels.Set{}
	for k, v := range declared {
		set[k] = v
	}
	set[nameLabel], set[calicoNameLabel] = name, name
	return set
}

// resolve assumes netpol already validated e.
func (ix *index) resolve(e netpol.Endpoint) *ep {
	if e.Pod == "" {
		return &ep{ips: []netip.Addr{e.IP.Unmap()}}
	}
	ns := e.Namespace
	if ns == "" {
		ns = "default"
	}
	return ix.pods[ns+"/"+e.Pod]
}
