package compile

import (
	"fmt"
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// AdminNetworkPolicy priorities: lower is evaluated first. The isolation
// policies of all tenants share one priority: their subjects (the tenants'
// namespaces) are disjoint, so no connection is matched by two of them, and
// adding a tenant does not renumber the others.
const (
	anpForbiddenPriority = 10
	anpIsolatePriority   = 20
	// cnpBaselinePriority puts the baseline default deny last within the
	// Baseline tier, under any baseline policy the platform adds.
	cnpBaselinePriority = 1000
)

// anpAPI describes one of the two forms of the network-policy API: the
// v1alpha1 AdminNetworkPolicy/BaselineAdminNetworkPolicy kinds and the
// v1alpha2 ClusterNetworkPolicy kind with its tiers.
type anpAPI struct {
	flavor   string // output directory and header
	version  string
	allow    string // the allowing action: Allow (v1alpha1) or Accept (v1alpha2)
	maxRules int    // rules per direction
	maxPeers int    // peers per rule
}

var (
	anpV1alpha1 = anpAPI{flavor: "adminnetworkpolicy", version: "policy.networking.k8s.io/v1alpha1", allow: "Allow", maxRules: 100, maxPeers: 100}
	cnpV1alpha2 = anpAPI{flavor: "clusternetworkpolicy", version: "policy.networking.k8s.io/v1alpha2", allow: "Accept", maxRules: 25, maxPeers: 25}
)

// maxNetworks is how many CIDRs one networks peer may hold (both forms).
const maxNetworks = 25

type anpSpec struct {
	Tier     string     `json:"tier,omitempty"`
	Priority *int       `json:"priority,omitempty"`
	Subject  anpSubject `json:"subject"`
	Ingress  []anpRule  `json:"ingress,omitempty"`
	Egress   []anpRule  `json:"egress,omitempty"`
}

type anpSubject struct {
	Namespaces *metav1.LabelSelector `json:"namespaces"`
}

// anpRule is an ingress rule (From) or an egress rule (To); ports are
// Ports in v1alpha1 and Protocols in v1alpha2.
type anpRule struct {
	Name      string        `json:"name"`
	Action    string        `json:"action"`
	From      []anpPeer     `json:"from,omitempty"`
	To        []anpPeer     `json:"to,omitempty"`
	Ports     []anpPort     `json:"ports,omitempty"`
	Protocols []cnpProtocol `json:"protocols,omitempty"`
}

type anpPeer struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *anpPods              `json:"pods,omitempty"`
	Networks   []string              `json:"networks,omitempty"`
}

type anpPods struct {
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`
	PodSelector       metav1.LabelSelector `json:"podSelector"`
}

type anpPort struct {
	PortNumber anpPortNumber `json:"portNumber"`
}

type anpPortNumber struct {
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
}

type cnpProtocol struct {
	TCP cnpTCP `json:"tcp"`
}

type cnpTCP struct {
	DestinationPort cnpPort `json:"destinationPort"`
}

type cnpPort struct {
	Number int `json:"number"`
}

// AdminNetworkPolicy compiles cfg's network declarations for the
// network-policy API v1alpha1: AdminNetworkPolicies that deny egress to the
// forbidden networks and isolate each tenant (adminnetworkpolicy/admin.yaml),
// the BaselineAdminNetworkPolicy "default" (adminnetworkpolicy/baseline.yaml),
// and the kubernetes flavor's NetworkPolicies, unchanged, in kubernetes/:
// they hold the default deny and every allow, in the tier between the two.
//
// The baseline denies ingress to and egress from tenant pods that no
// NetworkPolicy selects: were a tenant to delete the compiled default deny
// in its namespace, its pods would still be isolated (INV-5, INV-7).
func AdminNetworkPolicy(cfg *config.Config) (map[string][]byte, error) {
	return compileANP(cfg, anpV1alpha1)
}

// ClusterNetworkPolicy is AdminNetworkPolicy in the v1alpha2 form: one
// kind, ClusterNetworkPolicy, in the Admin tier for the guardrails and the
// Baseline tier for the default deny (clusternetworkpolicy/), with Accept
// for Allow and protocols for ports. v1alpha2 allows 25 rules a direction
// and 25 peers a rule; a configuration needing more is refused.
func ClusterNetworkPolicy(cfg *config.Config) (map[string][]byte, error) {
	return compileANP(cfg, cnpV1alpha2)
}

func compileANP(cfg *config.Config, api anpAPI) (map[string][]byte, error) {
	g, files, err := withKubernetes(cfg)
	if err != nil {
		return nil, err
	}
	var admin []object
	if len(g.namespaces) > 0 && len(g.forbidden) > 0 {
		admin = append(admin, api.policy("bulwark-forbidden-egress", "Admin", anpForbiddenPriority, g.namespaces, nil,
			[]anpRule{{Name: "deny-forbidden", Action: "Deny", To: networksPeers(g.forbidden)}}))
	}
	for _, tg := range g.tenants {
		admin = append(admin, api.policy("bulwark-isolate-"+tg.tenant, "Admin", anpIsolatePriority, tg.namespaces, api.isolateRules(tg), nil))
	}
	var baseline []object
	if len(g.namespaces) > 0 {
		all := &metav1.LabelSelector{}
		baseline = append(baseline, api.policy("", "Baseline", cnpBaselinePriority, g.namespaces,
			[]anpRule{{Name: "deny-pods", Action: "Deny", From: []anpPeer{{Namespaces: all}}}},
			[]anpRule{
				{Name: "deny-pods", Action: "Deny", To: []anpPeer{{Namespaces: all}}},
				{Name: "deny-networks", Action: "Deny", To: []anpPeer{{Networks: []string{"0.0.0.0/0", "::/0"}}}},
			}))
	}
	for _, o := range append(append([]object(nil), admin...), baseline...) {
		if err := api.check(o); err != nil {
			return nil, err
		}
	}
	for name, objs := range map[string][]object{"admin.yaml": admin, "baseline.yaml": baseline} {
		data, err := renderObjects(api.header(), objs)
		if err != nil {
			return nil, err
		}
		files[api.flavor+"/"+name] = data
	}
	return files, nil
}

// isolateRules passes the tenant's declared sources and denies every
// other pod; what is not a pod goes on to the NetworkPolicy tier.
func (api anpAPI) isolateRules(tg tenantGuard) []anpRule {
	var rules []anpRule
	for _, p := range tg.passes {
		r := anpRule{Name: p.name, Action: "Pass"}
		if p.fromLabels == nil {
			r.From = []anpPeer{{Namespaces: namespacesSelector(p.from)}}
		} else {
			r.From = []anpPeer{{Pods: &anpPods{NamespaceSelector: *namespacesSelector(p.from), PodSelector: metav1.LabelSelector{MatchLabels: p.fromLabels}}}}
		}
		// The subject is the tenant's namespaces as a whole: a grant
		// passes its ports into all of them, and the NetworkPolicies
		// decide which pods answer.
		api.setPorts(&r, p.ports)
		rules = append(rules, r)
	}
	return append(rules, anpRule{Name: "deny-other-namespaces", Action: "Deny", From: []anpPeer{{Namespaces: &metav1.LabelSelector{}}}})
}

func (api anpAPI) setPorts(r *anpRule, ports []int) {
	for _, p := range ports {
		if api.version == anpV1alpha1.version {
			r.Ports = append(r.Ports, anpPort{PortNumber: anpPortNumber{Protocol: "TCP", Port: p}})
		} else {
			r.Protocols = append(r.Protocols, cnpProtocol{TCP: cnpTCP{DestinationPort: cnpPort{Number: p}}})
		}
	}
}

// policy builds an admin (tier "Admin") or baseline policy in the API's
// form. v1alpha1 has a kind per tier and a singleton baseline named
// default without priority.
func (api anpAPI) policy(name, tier string, priority int, namespaces []string, in, out []anpRule) object {
	spec := anpSpec{Subject: anpSubject{Namespaces: namespacesSelector(namespaces)}, Ingress: in, Egress: out}
	o := object{APIVersion: api.version, Metadata: objectMeta{Name: name, Labels: managedBy}, Spec: &spec}
	switch {
	case api.version == cnpV1alpha2.version:
		o.Kind, spec.Tier, spec.Priority = "ClusterNetworkPolicy", tier, &priority
		if tier == "Baseline" {
			o.Metadata.Name = "bulwark-baseline"
		}
	case tier == "Baseline":
		o.Kind, o.Metadata.Name = "BaselineAdminNetworkPolicy", "default"
	default:
		o.Kind, spec.Priority = "AdminNetworkPolicy", &priority
	}
	return o
}

// check refuses a policy beyond the API's limits, naming it.
func (api anpAPI) check(o object) error {
	spec := o.Spec.(*anpSpec)
	for dir, rules := range map[string][]anpRule{"ingress": spec.Ingress, "egress": spec.Egress} {
		if len(rules) > api.maxRules {
			return fmt.Errorf("%s %s: %d %s rules, more than the %d %s allows", o.Kind, o.Metadata.Name, len(rules), dir, api.maxRules, api.version)
		}
		for _, r := range rules {
			if peers := len(r.From) + len(r.To); peers > api.maxPeers {
				return fmt.Errorf("%s %s: rule %s has %d peers, more than the %d %s allows", o.Kind, o.Metadata.Name, r.Name, peers, api.maxPeers, api.version)
			}
		}
	}
	return nil
}

func (api anpAPI) header() string {
	if api.version == cnpV1alpha2.version {
		return " --flavor adminnetworkpolicy --cnp-v1alpha2"
	}
	return " --flavor adminnetworkpolicy"
}

// networksPeers puts CIDRs into networks peers of at most maxNetworks.
func networksPeers(ps []netip.Prefix) []anpPeer {
	var peers []anpPeer
	for i := 0; i < len(ps); i += maxNetworks {
		var nets []string
		for _, p := range ps[i:min(i+maxNetworks, len(ps))] {
			nets = append(nets, p.String())
		}
		peers = append(peers, anpPeer{Networks: nets})
	}
	return peers
}

// namespacesSelector selects namespaces by name, as the kubernetes
// flavor's peers do.
func namespacesSelector(namespaces []string) *metav1.LabelSelector {
	return namespacesPeer(namespaces)[0].NamespaceSelector
}
