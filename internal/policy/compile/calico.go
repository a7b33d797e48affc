package compile

// The guardrail flavors (calico, adminnetworkpolicy) share one model of
// what the platform enforces above the tenants' own policies (INV-8):
//
//   - egress from every tenant namespace to a forbidden CIDR is denied,
//     whatever any other policy says;
//   - ingress into a tenant's namespaces from pods of any other namespace
//     is denied, except from the sources the declarations name: the
//     tenant's own namespaces, the gateway, the platform namespaces (on
//     their ports) and the consumers of a declared cross-tenant path (on
//     the service's ports). Those are passed on, not allowed: the tenant
//     tier (the compiled NetworkPolicies, which a tenant may edit in its
//     own namespaces) still decides, so a guardrail never opens a path.
//
// Everything the guardrails do not deny is passed on as well: sources that
// are not pods (nodes, the internet) and all other egress. The default
// deny, DNS and the allows are the kubernetes flavor's NetworkPolicies,
// which both guardrail flavors include unchanged.

import (
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// guardrails is the flavor-neutral guardrail set of a configuration.
type guardrails struct {
	namespaces []string       // every tenant namespace, sorted
	forbidden  []netip.Prefix // sorted, IPv4 first
	tenants    []tenantGuard  // sorted by tenant
}

// tenantGuard isolates one tenant's namespaces for ingress.
type tenantGuard struct {
	tenant     string
	namespaces []string // sorted
	passes     []pass   // in evaluation order
}

// pass is a source whose traffic into the tenant the guardrail hands on to
// the tenant tier instead of denying it.
type pass struct {
	name       string            // rule name, unique in the tenant
	from       []string          // source namespaces, sorted
	fromLabels map[string]string // source pods; nil: every pod of from
	to         string            // destination namespace; "": any of the tenant's
	toLabels   map[string]string // destination pods; nil: every pod
	ports      []int             // TCP ports, sorted; empty: all traffic
}

// buildGuardrails derives the guardrails from cfg's declarations.
func buildGuardrails(cfg *config.Config) (guardrails, error) {
	n := cfg.Platform.Network
	var g guardrails
	for _, c := range n.Forbidden {
		p, err := parseCIDR(c)
		if err != nil {
			return g, fmt.Errorf("network.forbidden: %w", err)
		}
		g.forbidden = append(g.forbidden, p)
	}
	sort.Slice(g.forbidden, func(i, j int) bool {
		a, b := g.forbidden[i], g.forbidden[j]
		if a.Addr().Is4() != b.Addr().Is4() {
			return a.Addr().Is4()
		}
		return a.String() < b.String()
	})
	for _, t := range sortedKeys(cfg.Platform.Tenants) {
		nss := sortedCopy(cfg.Platform.Tenants[t].Namespaces)
		if len(nss) == 0 {
			continue
		}
		g.namespaces = append(g.namespaces, nss...)
		tg := tenantGuard{tenant: t, namespaces: nss}
		tg.passes = append(tg.passes, pass{name: "pass-same-tenant", from: nss})
		if n.Gateway.Namespace != "" {
			tg.passes = append(tg.passes, pass{name: "pass-gateway", from: []string{n.Gateway.Namespace}, fromLabels: n.Gateway.Labels})
		}
		for _, w := range n.Platform {
			tg.passes = append(tg.passes, pass{name: "pass-platform-" + w.Namespace, from: []string{w.Namespace},
				fromLabels: w.Labels, ports: sortedInts(w.Ports)})
		}
		decl := cfg.Networks[t]
		grants := append([]config.ServiceGrant(nil), decl.Grants...)
		sort.SliceStable(grants, func(i, j int) bool { return grants[i].Service < grants[j].Service })
		for _, gr := range grants {
			s := service(decl, gr.Service)
			for _, consumer := range sortedCopy(gr.Tenants) {
				tg.passes = append(tg.passes, pass{name: "pass-grant-" + s.Name + "-" + consumer,
					from: sortedCopy(cfg.Platform.Tenants[consumer].Namespaces),
					to:   serviceNamespace(cfg, t, s), toLabels: s.Labels, ports: sortedInts(s.Ports)})
			}
		}
		g.tenants = append(g.tenants, tg)
	}
	sort.Strings(g.namespaces)
	return g, nil
}

// parseCIDR accepts a CIDR or a bare address (a /32 or /128), masked.
func parseCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// byFamily splits prefixes into IPv4 and IPv6 strings: a Calico rule must
// not mix the two.
func byFamily(ps []netip.Prefix) (v4, v6 []string) {
	for _, p := range ps {
		if p.Addr().Is4() {
			v4 = append(v4, p.String())
		} else {
			v6 = append(v6, p.String())
		}
	}
	return v4, v6
}

// Calico tier orders. The default tier, where Calico puts every Kubernetes
// NetworkPolicy and every Calico policy without a tier, has the fixed order
// 1,000,000; lower orders are evaluated first.
const (
	PlatformTierOrder = 100
	DefaultTierOrder  = 1000000
)

// Calico policy orders within the platform tier.
const (
	calicoForbiddenOrder = 100
	calicoIsolateOrder   = 200
)

// calicoTierName is the tier the guardrails live in.
const calicoTierName = "platform"

// object is a manifest of a kind this module has no Go types for (Calico
// and the network-policy API are not dependencies): our own structs with
// the upstream JSON field names, enough for what the compiler writes.
type object struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       any        `json:"spec"`
}

type objectMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

type calicoTierSpec struct {
	Order int `json:"order"`
}

type calicoPolicySpec struct {
	Tier              string       `json:"tier"`
	Order             int          `json:"order"`
	NamespaceSelector string       `json:"namespaceSelector"`
	Types             []string     `json:"types"`
	Ingress           []calicoRule `json:"ingress,omitempty"`
	Egress            []calicoRule `json:"egress,omitempty"`
}

type calicoRule struct {
	Action      string        `json:"action"`
	Metadata    calicoRuleMD  `json:"metadata"`
	Protocol    string        `json:"protocol,omitempty"`
	Source      *calicoEntity `json:"source,omitempty"`
	Destination *calicoEntity `json:"destination,omitempty"`
}

// calicoRuleMD names a rule, for flow logs and explanations.
type calicoRuleMD struct {
	Annotations map[string]string `json:"annotations"`
}

type calicoEntity struct {
	Nets              []string `json:"nets,omitempty"`
	NamespaceSelector string   `json:"namespaceSelector,omitempty"`
	Selector          string   `json:"selector,omitempty"`
	Ports             []int    `json:"ports,omitempty"`
}

// ruleAnnotation carries the rule's name in Calico rule metadata.
const ruleAnnotation = "bulwark/rule"

// Calico compiles cfg's network declarations for Calico: the platform tier
// (order 100, before the default tier) with GlobalNetworkPolicies for the
// guardrails, in calico/platform.yaml, and the kubernetes flavor's
// NetworkPolicies, unchanged, in kubernetes/. Those land in Calico's
// default tier; writing them as Calico NetworkPolicies instead would give
// tenants a second kind to manage and the auditor a second form to compare,
// for no gain: every pass the guardrails make ends in the default tier.
func Calico(cfg *config.Config) (map[string][]byte, error) {
	g, files, err := withKubernetes(cfg)
	if err != nil {
		return nil, err
	}
	objs := []object{{APIVersion: "projectcalico.org/v3", Kind: "Tier",
		Metadata: objectMeta{Name: calicoTierName, Labels: managedBy}, Spec: calicoTierSpec{Order: PlatformTierOrder}}}
	if len(g.namespaces) > 0 && len(g.forbidden) > 0 {
		objs = append(objs, calicoForbidden(g))
	}
	for _, tg := range g.tenants {
		objs = append(objs, calicoIsolate(tg))
	}
	data, err := renderObjects(" --flavor calico", objs)
	if err != nil {
		return nil, err
	}
	files["calico/platform.yaml"] = data
	return files, nil
}

// calicoForbidden denies egress from every tenant namespace to the
// forbidden CIDRs and passes the rest of egress to the next tier.
func calicoForbidden(g guardrails) object {
	var rules []calicoRule
	v4, v6 := byFamily(g.forbidden)
	for _, nets := range [][]string{v4, v6} {
		if len(nets) > 0 {
			rules = append(rules, calicoRule{Action: "Deny", Metadata: ruleName("deny-forbidden"), Destination: &calicoEntity{Nets: nets}})
		}
	}
	rules = append(rules, calicoRule{Action: "Pass", Metadata: ruleName("pass-rest")})
	return calicoGNP("bulwark-forbidden-egress", calicoForbiddenOrder, g.namespaces, "Egress", nil, rules)
}

// calicoIsolate passes the declared sources into one tenant's namespaces,
// denies every other pod, and passes what is not a pod.
func calicoIsolate(tg tenantGuard) object {
	var rules []calicoRule
	for _, p := range tg.passes {
		r := calicoRule{Action: "Pass", Metadata: ruleName(p.name),
			Source: &calicoEntity{NamespaceSelector: namespaceIn(p.from), Selector: labelsMatch(p.fromLabels)}}
		if p.to != "" || len(p.ports) > 0 {
			r.Destination = &calicoEntity{Selector: labelsMatch(p.toLabels), Ports: p.ports}
			if p.to != "" {
				r.Destination.NamespaceSelector = namespaceIn([]string{p.to})
			}
			if len(p.ports) > 0 {
				r.Protocol = "TCP"
			}
		}
		rules = append(rules, r)
	}
	rules = append(rules,
		calicoRule{Action: "Deny", Metadata: ruleName("deny-other-namespaces"), Source: &calicoEntity{NamespaceSelector: "all()"}},
		calicoRule{Action: "Pass", Metadata: ruleName("pass-rest")})
	return calicoGNP("bulwark-isolate-"+tg.tenant, calicoIsolateOrder, tg.namespaces, "Ingress", rules, nil)
}

func calicoGNP(name string, order int, namespaces []string, typ string, in, out []calicoRule) object {
	return object{APIVersion: "projectcalico.org/v3", Kind: "GlobalNetworkPolicy",
		// Policies in a tier other than default are named tier.name.
		Metadata: objectMeta{Name: calicoTierName + "." + name, Labels: managedBy},
		Spec: calicoPolicySpec{Tier: calicoTierName, Order: order, NamespaceSelector: namespaceIn(namespaces),
			Types: []string{typ}, Ingress: in, Egress: out}}
}

func ruleName(name string) calicoRuleMD {
	return calicoRuleMD{Annotations: map[string]string{ruleAnnotation: name}}
}

// namespaceIn is a Calico namespace selector for namespaces by name, on
// the label Kubernetes sets on every namespace (as the kubernetes flavor
// does), so one Namespace manifest serves every flavor.
func namespaceIn(namespaces []string) string {
	quoted := make([]string, len(namespaces))
	for i, ns := range sortedCopy(namespaces) {
		quoted[i] = "'" + ns + "'"
	}
	return nameLabel + " in {" + strings.Join(quoted, ", ") + "}"
}

// labelsMatch is a Calico selector for pods with every label; "" for none
// (no selector: every endpoint in the namespaces).
func labelsMatch(labels map[string]string) string {
	var terms []string
	for _, k := range sortedKeys(labels) {
		terms = append(terms, k+" == '"+labels[k]+"'")
	}
	return strings.Join(terms, " && ")
}

// renderObjects writes objs as one multi-document YAML file in the given
// order, under a generated-file header naming what to change instead.
func renderObjects[T any](header string, objs []T) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Generated by bulwark policy compile" + header + ". Do not edit: change the declarations.\n")
	for _, o := range objs {
		data, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		b.WriteString("---\n")
		b.Write(stripNulls(data))
	}
	return b.Bytes(), nil
}

// withKubernetes is the start of every guardrail flavor: the guardrails,
// and the kubernetes flavor's files they pass traffic on to.
func withKubernetes(cfg *config.Config) (guardrails, map[string][]byte, error) {
	g, err := buildGuardrails(cfg)
	if err != nil {
		return g, nil, err
	}
	files, err := Kubernetes(cfg)
	return g, files, err
}
