package netpol

import (
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Evaluate answers whether src may open a connection to dst on port, with
// each direction's decision and explanation. At least one endpoint must be a
// pod. It compiles the cluster on every call; use Matrix for many queries.
func (c *Cluster) Evaluate(src, dst Endpoint, port Port) (Verdict, error) {
	m, err := c.compile()
	if err != nil {
		return Verdict{}, err
	}
	return m.evaluate(src, dst, port)
}

// end is a resolved Endpoint: a pod, or (pod nil) an external address.
type end struct {
	pod *pod
	ip  netip.Addr
}

func (m *model) resolve(e Endpoint) (end, error) {
	if e.Pod != "" {
		if e.IP.IsValid() {
			return end{}, fmt.Errorf("endpoint %s: give a pod or an address, not both", e)
		}
		ns := e.Namespace
		if ns == "" {
			ns = "default"
		}
		p, ok := m.byName[ns+"/"+e.Pod]
		if !ok {
			return end{}, fmt.Errorf("endpoint %s/%s: no such pod", ns, e.Pod)
		}
		return end{pod: p}, nil
	}
	if !e.IP.IsValid() {
		return end{}, fmt.Errorf("endpoint: neither pod nor address given")
	}
	ip := e.IP.Unmap()
	if p, ok := m.byIP[ip]; ok {
		return end{}, fmt.Errorf("endpoint %s: address of pod %s; name the pod", ip, p.key())
	}
	return end{ip: ip}, nil
}

func (m *model) evaluate(src, dst Endpoint, port Port) (Verdict, error) {
	if err := port.validate(); err != nil {
		return Verdict{}, fmt.Errorf("evaluate: %w", err)
	}
	port.Protocol = port.protocol()
	s, err := m.resolve(src)
	if err != nil {
		return Verdict{}, fmt.Errorf("evaluate: source: %w", err)
	}
	d, err := m.resolve(dst)
	if err != nil {
		return Verdict{}, fmt.Errorf("evaluate: destination: %w", err)
	}
	if s.pod == nil && d.pod == nil {
		return Verdict{}, fmt.Errorf("evaluate: %s to %s: neither endpoint is a pod", src, dst)
	}
	return m.verdict(s, d, port), nil
}

func (m *model) verdict(s, d end, port Port) Verdict {
	if s.pod != nil && s.pod == d.pod {
		self := Decision{Allowed: true, Reason: ReasonSelf, Rule: -1}
		return Verdict{Allowed: true, Egress: self, Ingress: self}
	}
	v := Verdict{
		Egress:  m.decide(egress, s, d, port),
		Ingress: m.decide(ingress, d, s, port),
	}
	v.Allowed = v.Egress.Allowed && v.Ingress.Allowed
	return v
}

type direction int

const (
	ingress direction = iota
	egress
)

func (p *policy) rules(dir direction) ([]rule, bool) {
	if dir == ingress {
		return p.ingressRules, p.ingress
	}
	return p.egressRules, p.egress
}

// decide is one direction's decision for subject (the pod whose policies
// apply) talking to other. Named ports are resolved on the destination.
func (m *model) decide(dir direction, subject, other end, port Port) Decision {
	if subject.pod == nil {
		return Decision{Allowed: true, Reason: ReasonExternal, Rule: -1}
	}
	dest := subject.pod
	if dir == egress {
		dest = other.pod
	}
	d := Decision{Reason: ReasonNotIsolated, Allowed: true, Rule: -1}
	found := false
	for _, p := range subject.pod.selectedBy[dir] {
		rules, _ := p.rules(dir)
		d.Selecting = append(d.Selecting, p.key)
		if found {
			continue
		}
		if i := slices.IndexFunc(rules, func(r rule) bool {
			return m.ruleAllows(r, p.namespace, other, dest, port)
		}); i >= 0 {
			found = true
			d.Policy, d.Rule = p.key, i
		}
	}
	switch {
	case found:
		d.Reason = ReasonRule
	case len(d.Selecting) > 0:
		d.Allowed, d.Reason = false, ReasonNoRuleAllows
	}
	return d
}

func (m *model) ruleAllows(r rule, policyNS string, other end, dest *pod, port Port) bool {
	portOK := len(r.ports) == 0 || slices.ContainsFunc(r.ports, func(pm portMatch) bool {
		return pm.matches(dest, port)
	})
	if !portOK {
		return false
	}
	return len(r.peers) == 0 || slices.ContainsFunc(r.peers, func(p peer) bool {
		return m.peerMatches(p, policyNS, other)
	})
}

func (m *model) peerMatches(p peer, policyNS string, e end) bool {
	if p.block != nil {
		if e.pod == nil {
			return p.block.contains(e.ip)
		}
		return m.ipBlockPods && slices.ContainsFunc(e.pod.ips, p.block.contains)
	}
	if e.pod == nil {
		return false
	}
	if p.namespaces == nil {
		if e.pod.namespace != policyNS {
			return false
		}
	} else if !p.namespaces.Matches(m.nsLabels[e.pod.namespace]) {
		return false
	}
	return p.pods.Matches(e.pod.labels)
}

// matches reports whether the connection's port matches this entry; dest is
// the destination pod (nil outside the cluster) for named ports.
func (pm portMatch) matches(dest *pod, port Port) bool {
	if pm.protocol != port.Protocol {
		return false
	}
	switch {
	case pm.any:
		return true
	case pm.name != "":
		if dest == nil {
			return false
		}
		return slices.ContainsFunc(dest.ports, func(cp corev1.ContainerPort) bool {
			return cp.Name == pm.name && containerProtocol(cp) == port.Protocol && cp.ContainerPort == port.Port
		})
	}
	return pm.from <= port.Port && port.Port <= pm.to
}
