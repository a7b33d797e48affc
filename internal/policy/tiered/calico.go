package tiered

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// Calico's default tier: every Kubernetes NetworkPolicy, and every Calico
// policy without a tier, lives there. Kubernetes NetworkPolicies sit at
// order 1000 within it, named knp.default.NAME.
const (
	defaultTier        = "default"
	defaultTierOrder   = 1_000_000
	knpOrder           = 1000
	knpName            = "knp.default"
	ruleNameAnnotation = "bulwark/rule"
)

type tier struct {
	name     string
	order    float64
	pass     bool // defaultAction Pass
	policies []*cpolicy
}

// cpolicy is a compiled Calico policy; knp marks the place of the
// Kubernetes NetworkPolicies in the default tier.
type cpolicy struct {
	key             string
	global, knp     bool
	namespace, name string
	order           float64
	sel, nsSel      selector
	types           [2]bool // by direction: ingress, egress
	rules           [2][]crule
}

type crule struct {
	action, name string
	protocol     corev1.Protocol
	notProtocol  corev1.Protocol
	src, dst     centity
}

type centity struct {
	nets, notNets      []netip.Prefix
	sel, notSel, nsSel selector
	ports, notPorts    []portMatch
	hasPorts           bool
}

const (
	dirIngress = 0
	dirEgress  = 1
)

func orderOf(o *float64) float64 {
	if o == nil {
		return math.Inf(1) // "omitted: applied last"
	}
	return *o
}

// compileTiers builds the tiers in evaluation order, the default tier
// included (with the NetworkPolicies' place in it), last unless a
// declared tier orders after it.
func compileTiers(decl []Tier, pols []CalicoPolicy) ([]*tier, error) {
	byName := map[string]*tier{defaultTier: {name: defaultTier, order: defaultTierOrder}}
	for _, t := range decl {
		if t.Name != defaultTier {
			if _, dup := byName[t.Name]; dup {
				return nil, fmt.Errorf("tier %s: declared twice", t.Name)
			}
		}
		nt := &tier{name: t.Name, order: orderOf(t.Spec.Order)}
		if t.Name == defaultTier && t.Spec.Order == nil {
			nt.order = defaultTierOrder
		}
		switch t.Spec.DefaultAction {
		case "", "Deny":
		case "Pass":
			nt.pass = true
		default:
			return nil, fmt.Errorf("tier %s: spec.defaultAction %q: want Deny or Pass", t.Name, t.Spec.DefaultAction)
		}
		byName[t.Name] = nt
	}
	byName[defaultTier].policies = []*cpolicy{{knp: true, name: knpName, order: knpOrder, key: "Kubernetes NetworkPolicies"}}
	for i := range pols {
		p, err := compileCalico(&pols[i])
		if err != nil {
			return nil, err
		}
		tn := cmp.Or(pols[i].Spec.Tier, defaultTier)
		t, ok := byName[tn]
		if !ok {
			return nil, fmt.Errorf("%s: spec.tier %q: no such Tier", p.key, tn)
		}
		t.policies = append(t.policies, p)
	}
	var out []*tier
	for _, t := range byName {
		slices.SortFunc(t.policies, func(a, b *cpolicy) int {
			return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.name, b.name), cmp.Compare(a.namespace, b.namespace))
		})
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *tier) int { return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.name, b.name)) })
	return out, nil
}

func compileCalico(cp *CalicoPolicy) (*cpolicy, error) {
	p := &cpolicy{global: cp.Global, namespace: cp.Namespace, name: cp.Name, order: orderOf(cp.Spec.Order)}
	p.key = "GlobalNetworkPolicy " + cp.Name
	if !cp.Global {
		p.namespace = cmp.Or(cp.Namespace, "default")
		p.key = "NetworkPolicy " + p.namespace + "/" + cp.Name
	}
	fail := func(field string, err error) error { return fmt.Errorf("%s: %s: %w", p.key, field, err) }
	var err error
	if p.sel, err = parseSelector(cp.Spec.Selector); err != nil {
		return nil, fail("spec.selector", err)
	}
	if cp.Spec.NamespaceSelector != "" && !cp.Global {
		return nil, fail("spec.namespaceSelector", fmt.Errorf("only a GlobalNetworkPolicy has one"))
	}
	if p.nsSel, err = parseSelector(cp.Spec.NamespaceSelector); err != nil {
		return nil, fail("spec.namespaceSelector", err)
	}
	if len(cp.Spec.Types) == 0 {
		// Calico's default: Egress iff there are egress rules, Ingress
		// iff there are ingress rules or no egress rules.
		p.types = [2]bool{len(cp.Spec.Ingress) > 0 || len(cp.Spec.Egress) == 0, len(cp.Spec.Egress) > 0}
	}
	for i, t := range cp.Spec.Types {
		switch t {
		case "Ingress":
			p.types[dirIngress] = true
		case "Egress":
			p.types[dirEgress] = true
		default:
			return nil, fail(fmt.Sprintf("spec.types[%d]", i), fmt.Errorf("unknown type %q", t))
		}
	}
	for dir, rules := range [2][]CalicoRule{cp.Spec.Ingress, cp.Spec.Egress} {
		for i := range rules {
			r, err := compileCalicoRule(&rules[i])
			if err != nil {
				return nil, fail(fmt.Sprintf("spec.%s[%d]", [2]string{"ingress", "egress"}[dir], i), err)
			}
			p.rules[dir] = append(p.rules[dir], r)
		}
	}
	return p, nil
}

func compileCalicoRule(r *CalicoRule) (crule, error) {
	c := crule{action: r.Action}
	switch r.Action {
	case "Allow", "Deny", "Pass", "Log":
	default:
		return c, fmt.Errorf("action %q: want Allow, Deny, Pass or Log", r.Action)
	}
	if r.Metadata != nil {
		c.name = r.Metadata.Annotations[ruleNameAnnotation]
	}
	var err error
	if c.protocol, err = protocol(r.Protocol); err != nil {
		return c, err
	}
	if c.notProtocol, err = protocol(r.NotProtocol); err != nil {
		return c, fmt.Errorf("notProtocol: %w", err)
	}
	if c.src, err = compileEntity(&r.Source, c.protocol); err != nil {
		return c, fmt.Errorf("source: %w", err)
	}
	if c.src.hasPorts {
		return c, fmt.Errorf("source: ports, notPorts: source ports are not modelled")
	}
	if c.dst, err = compileEntity(&r.Destination, c.protocol); err != nil {
		return c, fmt.Errorf("destination: %w", err)
	}
	if c.dst.hasPorts && c.protocol == "" {
		return c, fmt.Errorf("destination: ports need protocol TCP, UDP or SCTP")
	}
	return c, nil
}

func compileEntity(e *CalicoEntity, proto corev1.Protocol) (centity, error) {
	var c centity
	var err error
	if c.nets, err = prefixes(e.Nets); err != nil {
		return c, fmt.Errorf("nets: %w", err)
	}
	if c.notNets, err = prefixes(e.NotNets); err != nil {
		return c, fmt.Errorf("notNets: %w", err)
	}
	for _, f := range []struct {
		src string
		dst *selector
	}{{e.Selector, &c.sel}, {e.NotSelector, &c.notSel}, {e.NamespaceSelector, &c.nsSel}} {
		if f.src == "" {
			continue
		}
		if *f.dst, err = parseSelector(f.src); err != nil {
			return c, err
		}
	}
	c.hasPorts = len(e.Ports)+len(e.NotPorts) > 0
	for _, list := range []struct {
		in  []intstr.IntOrString
		out *[]portMatch
	}{{e.Ports, &c.ports}, {e.NotPorts, &c.notPorts}} {
		for _, v := range list.in {
			pm, err := calicoPort(proto, v)
			if err != nil {
				return c, err
			}
			*list.out = append(*list.out, pm)
		}
	}
	return c, nil
}

func prefixes(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, err
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// applies reports whether p selects e for dir.
func (p *cpolicy) applies(e *ep, dir int) bool {
	if !p.types[dir] || !e.isPod() {
		return false
	}
	if !p.global && e.namespace != p.namespace {
		return false
	}
	return p.nsSel.matches(e.nsLabels) && p.sel.matches(e.labels)
}

// matches reports whether the rule matches the connection from src to dst
// on port; ns is the policy's namespace ("" for a global policy).
func (r *crule) matches(src, dst *ep, port netpol.Port, p *cpolicy) bool {
	if r.protocol != "" && r.protocol != port.Protocol {
		return false
	}
	if r.notProtocol != "" && r.notProtocol == port.Protocol {
		return false
	}
	if !r.src.matches(src, p) || !r.dst.matches(dst, p) {
		return false
	}
	if len(r.dst.ports) > 0 && !anyPort(r.dst.ports, dst, port) {
		return false
	}
	return !anyPort(r.dst.notPorts, dst, port)
}

func (c *centity) matches(e *ep, p *cpolicy) bool {
	if len(c.nets) > 0 && !e.inAny(c.nets) {
		return false
	}
	if len(c.notNets) > 0 && e.inAny(c.notNets) {
		return false
	}
	if c.notSel != nil && e.isPod() && c.notSel.matches(e.labels) {
		return false
	}
	if c.sel == nil && c.nsSel == nil {
		return true
	}
	if !e.isPod() {
		return false // selectors match endpoints, never bare addresses
	}
	switch {
	case c.nsSel != nil:
		if !c.nsSel.matches(e.nsLabels) {
			return false
		}
	case !p.global && e.namespace != p.namespace:
		return false
	}
	return c.sel == nil || c.sel.matches(e.labels)
}
