package tiered

import (
	"fmt"
	"strconv"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// model is a Cluster compiled once.
type model struct {
	podIPs   bool
	ix       *index
	admin    []*apolicy
	baseline *apolicy
	tiers    []*tier
}

func (c *Cluster) compile() (*model, error) {
	m := &model{podIPs: c.IPBlockMatchesPodIPs, ix: newIndex(&c.Cluster)}
	var err error
	if m.admin, m.baseline, err = compileAdmin(c.Admin); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	if m.tiers, err = compileTiers(c.Tiers, c.Calico); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	return m, nil
}

// Validate compiles the cluster's policies and reports the first error.
func (c *Cluster) Validate() error {
	_, err := c.compile()
	return err
}

// Evaluate answers whether src may open a connection to dst on port, with
// each direction's decision and explanation.
func (c *Cluster) Evaluate(src, dst netpol.Endpoint, port netpol.Port) (Verdict, error) {
	base, err := c.Cluster.Evaluate(src, dst, port) // validates endpoints and port
	if err != nil {
		return Verdict{}, err
	}
	m, err := c.compile()
	if err != nil {
		return Verdict{}, err
	}
	return m.verdict(m.ix.resolve(src), m.ix.resolve(dst), port, base), nil
}

// Matrix is netpol's matrix with every cell decided by the layered model;
// each side's explanation is the layered Decision rendered as its reason.
func (c *Cluster) Matrix(ports []netpol.Port) (*netpol.Matrix, error) {
	mx, err := c.Cluster.Matrix(ports)
	if err != nil {
		return nil, err
	}
	m, err := c.compile()
	if err != nil {
		return nil, err
	}
	for i := range mx.Cells {
		cell := &mx.Cells[i]
		v := m.verdict(m.ix.resolve(cell.From), m.ix.resolve(cell.To), cell.Port, cell.Verdict)
		cell.Verdict = netpol.Verdict{Allowed: v.Allowed, Egress: flatten(v.Egress), Ingress: flatten(v.Ingress)}
	}
	return mx, nil
}

func flatten(d Decision) netpol.Decision {
	return netpol.Decision{Allowed: d.Allowed, Reason: netpol.Reason(d.String()), Policy: d.Policy, Rule: d.Rule}
}

func (m *model) verdict(src, dst *ep, port netpol.Port, base netpol.Verdict) Verdict {
	if port.Protocol == "" {
		port.Protocol = "TCP"
	}
	if base.Egress.Reason == netpol.ReasonSelf {
		self := Decision{Allowed: true, Layer: LayerSelf, Rule: -1}
		return Verdict{Allowed: true, Egress: self, Ingress: self}
	}
	v := Verdict{
		Egress:  m.decide(dirEgress, src, dst, dst, port, base.Egress),
		Ingress: m.decide(dirIngress, dst, src, dst, port, base.Ingress),
	}
	v.Allowed = v.Egress.Allowed && v.Ingress.Allowed
	return v
}

// decide walks the layers for subject's direction: admin policies, Calico
// tiers (the default tier holds the NetworkPolicies, whose decision np
// is), the baseline, then allow.
func (m *model) decide(dir int, subject, other, dest *ep, port netpol.Port, np netpol.Decision) Decision {
	if !subject.isPod() {
		return Decision{Allowed: true, Layer: LayerExternal, Rule: -1}
	}
	var passed []string
	d, decided := m.decideAdmin(dir, subject, other, dest, port, &passed)
	for _, t := range m.tiers {
		if decided {
			break
		}
		d, decided = m.decideTier(t, dir, subject, other, dest, port, np, &passed)
	}
	if !decided && m.baseline != nil {
		d, decided = m.decideANP(m.baseline, LayerBaseline, "", dir, subject, other, dest, port, &passed)
	}
	if !decided {
		d = Decision{Allowed: true, Layer: LayerDefault, Rule: -1}
	}
	d.Passed = passed
	return d
}

func (m *model) decideAdmin(dir int, subject, other, dest *ep, port netpol.Port, passed *[]string) (Decision, bool) {
	for _, p := range m.admin {
		n := len(*passed)
		d, decided := m.decideANP(p, LayerAdmin, fmt.Sprintf("priority %d", p.priority), dir, subject, other, dest, port, passed)
		if decided || len(*passed) > n {
			return d, decided // a Pass skips every remaining admin policy
		}
	}
	return Decision{}, false
}

// decideANP applies one admin or baseline policy: its first matching rule
// decides (Allow, Deny) or passes.
func (m *model) decideANP(p *apolicy, layer Layer, tierName string, dir int, subject, other, dest *ep, port netpol.Port, passed *[]string) (Decision, bool) {
	if !p.subject.selects(subject, false) {
		return Decision{}, false
	}
	for i, r := range p.rules[dir] {
		if !r.matches(other, dest, port, m.podIPs) {
			continue
		}
		if r.action == "Pass" {
			*passed = append(*passed, fmt.Sprintf("%s rule %d (%s)", p.key, i, r.name))
			return Decision{}, false
		}
		return Decision{Allowed: r.action == "Allow", Layer: layer, Tier: tierName, Policy: p.key,
			Rule: i, RuleName: r.name, Action: r.action}, true
	}
	return Decision{}, false
}

// decideTier applies one Calico tier: the first Allow or Deny decides, a
// Pass leaves the tier, Log goes on; a tier that selected the endpoint and
// decided nothing applies its default action.
func (m *model) decideTier(t *tier, dir int, subject, other, dest *ep, port netpol.Port, np netpol.Decision, passed *[]string) (Decision, bool) {
	tierName := fmt.Sprintf("%s (order %s)", t.name, strconv.FormatFloat(t.order, 'f', -1, 64))
	var selecting []string
	var lastNP *netpol.Decision
	src, dst := other, subject
	if dir == dirEgress {
		src, dst = subject, other
	}
	for _, p := range t.policies {
		if p.knp {
			switch np.Reason {
			case netpol.ReasonRule:
				return Decision{Allowed: true, Layer: LayerNetworkPolicy, Tier: tierName, Policy: np.Policy, Rule: np.Rule, NetworkPolicy: &np}, true
			case netpol.ReasonNoRuleAllows:
				selecting = append(selecting, np.Selecting...)
				lastNP = &np
			}
			continue
		}
		if !p.applies(subject, dir) {
			continue
		}
		selecting, lastNP = append(selecting, p.key), nil
		for i := range p.rules[dir] {
			r := &p.rules[dir][i]
			if r.action == "Log" || !r.matches(src, dst, port, p) {
				continue
			}
			if r.action == "Pass" {
				*passed = append(*passed, fmt.Sprintf("%s rule %d (%s)", p.key, i, r.name))
				return Decision{}, false
			}
			return Decision{Allowed: r.action == "Allow", Layer: LayerCalico, Tier: tierName, Policy: p.key,
				Rule: i, RuleName: r.name, Action: r.action}, true
		}
	}
	if len(selecting) == 0 {
		return Decision{}, false
	}
	if t.pass {
		*passed = append(*passed, "tier "+t.name+" default action")
		return Decision{}, false
	}
	if lastNP != nil && len(selecting) == len(lastNP.Selecting) {
		// Only NetworkPolicies selected: Kubernetes' implicit deny.
		return Decision{Layer: LayerNetworkPolicy, Tier: tierName, Rule: -1, NetworkPolicy: lastNP}, true
	}
	return Decision{Layer: LayerCalico, Tier: tierName, Rule: -1, EndOfTier: true, Action: "Deny",
		Policy: fmt.Sprint(selecting)}, true
}

// Layered reports whether the cluster holds any policy beyond the
// Kubernetes NetworkPolicies; without one, netpol's answers are the same.
func (c *Cluster) Layered() bool {
	return len(c.Tiers)+len(c.Calico)+len(c.Admin) > 0
}
