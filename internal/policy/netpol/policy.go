package netpol

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// policy is a compiled NetworkPolicy.
type policy struct {
	namespace, name, key string
	selector             labels.Selector
	ingress, egress      bool // policyTypes, after defaulting
	ingressRules         []rule
	egressRules          []rule
}

// rule is one ingress or egress rule: peers ORed (nil: all), ports ORed (nil: all).
type rule struct {
	peers []peer
	ports []portMatch
}

// peer is one NetworkPolicyPeer. Either block is set, or the selectors are:
// namespaces nil means the policy's own namespace.
type peer struct {
	namespaces labels.Selector
	pods       labels.Selector
	block      *ipBlock
}

type ipBlock struct {
	cidr   netip.Prefix
	except []netip.Prefix
}

func (b *ipBlock) contains(ip netip.Addr) bool {
	if !b.cidr.Contains(ip) {
		return false
	}
	for _, e := range b.except {
		if e.Contains(ip) {
			return false
		}
	}
	return true
}

// portMatch is one NetworkPolicyPort with its protocol defaulted.
type portMatch struct {
	protocol corev1.Protocol
	any      bool   // port absent: every port of the protocol
	name     string // named port, resolved on the destination pod
	from, to int32  // numeric range, to == from without endPort
}

// policyTypes applies the API server's defaulting: Ingress always, Egress
// iff there are egress rules.
func policyTypes(spec *networkingv1.NetworkPolicySpec) (ingress, egress bool) {
	if len(spec.PolicyTypes) == 0 {
		return true, len(spec.Egress) > 0
	}
	for _, t := range spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

func compilePolicy(np *networkingv1.NetworkPolicy) (*policy, error) {
	p := &policy{namespace: namespaceOf(np.ObjectMeta), name: np.Name}
	p.key = p.namespace + "/" + p.name
	fail := func(field string, err error) error {
		return fmt.Errorf("networkpolicy %s: %s: %w", p.key, field, err)
	}
	if np.Name == "" {
		return nil, fail("metadata.name", fmt.Errorf("empty"))
	}
	for i, t := range np.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			return nil, fail(fmt.Sprintf("spec.policyTypes[%d]", i), fmt.Errorf("unknown type %q", t))
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return nil, fail("spec.podSelector", err)
	}
	p.selector = sel
	p.ingress, p.egress = policyTypes(&np.Spec)
	for i, r := range np.Spec.Ingress {
		cr, err := compileRule(r.From, r.Ports)
		if err != nil {
			return nil, fail(fmt.Sprintf("spec.ingress[%d]", i), err)
		}
		p.ingressRules = append(p.ingressRules, cr)
	}
	for i, r := range np.Spec.Egress {
		cr, err := compileRule(r.To, r.Ports)
		if err != nil {
			return nil, fail(fmt.Sprintf("spec.egress[%d]", i), err)
		}
		p.egressRules = append(p.egressRules, cr)
	}
	return p, nil
}

func compileRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) (rule, error) {
	var r rule
	for i := range peers {
		cp, err := compilePeer(&peers[i])
		if err != nil {
			return rule{}, fmt.Errorf("peers[%d]: %w", i, err)
		}
		r.peers = append(r.peers, cp)
	}
	for i := range ports {
		cp, err := compilePort(&ports[i])
		if err != nil {
			return rule{}, fmt.Errorf("ports[%d]: %w", i, err)
		}
		r.ports = append(r.ports, cp)
	}
	return r, nil
}

func compilePeer(np *networkingv1.NetworkPolicyPeer) (peer, error) {
	if np.IPBlock != nil {
		if np.PodSelector != nil || np.NamespaceSelector != nil {
			return peer{}, fmt.Errorf("ipBlock cannot be combined with podSelector or namespaceSelector")
		}
		b, err := compileBlock(np.IPBlock)
		return peer{block: b}, err
	}
	if np.PodSelector == nil && np.NamespaceSelector == nil {
		return peer{}, fmt.Errorf("one of podSelector, namespaceSelector or ipBlock is required")
	}
	var p peer
	var err error
	p.pods = labels.Everything()
	if np.PodSelector != nil {
		if p.pods, err = metav1.LabelSelectorAsSelector(np.PodSelector); err != nil {
			return peer{}, fmt.Errorf("podSelector: %w", err)
		}
	}
	if np.NamespaceSelector != nil {
		if p.namespaces, err = metav1.LabelSelectorAsSelector(np.NamespaceSelector); err != nil {
			return peer{}, fmt.Errorf("namespaceSelector: %w", err)
		}
	}
	return p, nil
}

func compileBlock(nb *networkingv1.IPBlock) (*ipBlock, error) {
	cidr, err := netip.ParsePrefix(nb.CIDR)
	if err != nil {
		return nil, fmt.Errorf("ipBlock.cidr: %w", err)
	}
	b := &ipBlock{cidr: cidr.Masked()}
	for i, s := range nb.Except {
		e, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("ipBlock.except[%d]: %w", i, err)
		}
		b.except = append(b.except, e.Masked())
	}
	return b, nil
}

func compilePort(np *networkingv1.NetworkPolicyPort) (portMatch, error) {
	pm := portMatch{protocol: corev1.ProtocolTCP}
	if np.Protocol != nil {
		pm.protocol = *np.Protocol
	}
	if err := validProtocol(pm.protocol); err != nil {
		return portMatch{}, fmt.Errorf("protocol: %w", err)
	}
	switch {
	case np.Port == nil:
		if np.EndPort != nil {
			return portMatch{}, fmt.Errorf("endPort: requires port")
		}
		pm.any = true
	case np.Port.Type == intstr.String:
		if np.EndPort != nil {
			return portMatch{}, fmt.Errorf("endPort: not allowed with named port %q", np.Port.StrVal)
		}
		if np.Port.StrVal == "" {
			return portMatch{}, fmt.Errorf("port: empty name")
		}
		pm.name = np.Port.StrVal
	default:
		pm.from, pm.to = np.Port.IntVal, np.Port.IntVal
		if np.EndPort != nil {
			pm.to = *np.EndPort
		}
		if pm.from < 1 || pm.to > 65535 || pm.to < pm.from {
			return portMatch{}, fmt.Errorf("port: invalid range %d-%d", pm.from, pm.to)
		}
	}
	return pm, nil
}
