package netpolcheck

import (
	"fmt"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// gen draws random worlds: namespaces x, y, z and pods a, b, c in each, with
// random extra labels, named ports, and 1–4 random policies.
type gen struct{ r *rand.Rand }

var (
	labelKeys   = []string{"ns", "pod", "tier", "env"}
	labelValues = []string{"x", "y", "z", "a", "b", "c", "web", "db"}
	portNames   = []string{"serve-80-tcp", "serve-81-udp", "web", "dns"}
)

func (g gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g gen) maybeLabel(l map[string]string, k string) {
	if g.r.IntN(2) == 0 {
		l[k] = g.pick(labelValues)
	}
}

func (g gen) world() *world {
	w := &world{}
	for i, ns := range []string{"x", "y", "z"} {
		l := map[string]string{"ns": ns}
		g.maybeLabel(l, "tier")
		g.maybeLabel(l, "env")
		w.namespaces = append(w.namespaces, namespace{name: ns, labels: l, implicit: ns == "z" && g.r.IntN(4) == 0})
		if w.namespaces[i].implicit {
			w.namespaces[i].labels = nil
		}
		for j, name := range []string{"a", "b", "c"} {
			pl := map[string]string{"pod": name}
			g.maybeLabel(pl, "tier")
			g.maybeLabel(pl, "env")
			w.pods = append(w.pods, pod{namespace: ns, name: name, labels: pl,
				ip: fmt.Sprintf("10.0.%d.%d", i+1, j+1), ports: g.ports()})
		}
	}
	for i := range 1 + g.r.IntN(4) {
		w.policies = append(w.policies, g.policy(fmt.Sprintf("p%d", i)))
	}
	return w
}

// ports declares 80 and 81 on TCP and UDP, some of them named.
func (g gen) ports() []corev1.ContainerPort {
	var out []corev1.ContainerPort
	used := map[string]bool{}
	for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP} {
		for _, n := range []int32{80, 81} {
			cp := corev1.ContainerPort{ContainerPort: n, Protocol: proto}
			if name := g.pick(portNames); g.r.IntN(3) > 0 && !used[name] {
				cp.Name, used[name] = name, true
			}
			out = append(out, cp)
		}
	}
	return out
}

func (g gen) policy(name string) networkingv1.NetworkPolicy {
	np := networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: g.pick([]string{"x", "y", "z"}), Name: name},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: *g.selector(false)},
	}
	switch g.r.IntN(5) {
	case 1:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	case 2:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case 3:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	}
	if n := g.r.IntN(4) - 1; n >= 0 {
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
		for range n {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: g.npPorts(), From: g.peers()})
		}
	}
	if n := g.r.IntN(4) - 1; n >= 0 {
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
		for range n {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{Ports: g.npPorts(), To: g.peers()})
		}
	}
	return np
}

// selector is nil (only if nilable), empty, or 1–2 random requirements.
func (g gen) selector(nilable bool) *metav1.LabelSelector {
	k := g.r.IntN(5)
	if nilable && k == 0 {
		return nil
	}
	s := &metav1.LabelSelector{}
	if k <= 1 {
		return s
	}
	for range 1 + g.r.IntN(2) {
		key, val := g.pick(labelKeys), g.pick(labelValues)
		if g.r.IntN(4) == 0 && nilable {
			key = "kubernetes.io/metadata.name"
		}
		switch g.r.IntN(6) {
		case 0, 1:
			if s.MatchLabels == nil {
				s.MatchLabels = map[string]string{}
			}
			s.MatchLabels[key] = val
		case 2:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOpIn, Values: []string{val, g.pick(labelValues)}})
		case 3:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOpNotIn, Values: []string{val}})
		case 4:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOpExists})
		default:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOpDoesNotExist})
		}
	}
	return s
}

func (g gen) peers() []networkingv1.NetworkPolicyPeer {
	n := g.r.IntN(4) - 1
	if n < 0 {
		return nil
	}
	out := []networkingv1.NetworkPolicyPeer{}
	for range n {
		var p networkingv1.NetworkPolicyPeer
		if g.r.IntN(5) == 0 {
			p.IPBlock = g.ipBlock()
		} else {
			for p.PodSelector == nil && p.NamespaceSelector == nil {
				p.PodSelector, p.NamespaceSelector = g.selector(true), g.selector(true)
			}
		}
		out = append(out, p)
	}
	return out
}

func (g gen) ipBlock() *networkingv1.IPBlock {
	switch g.r.IntN(4) {
	case 0:
		return &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}
	case 1:
		return &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"10.0.2.0/24"}}
	case 2:
		return &networkingv1.IPBlock{CIDR: fmt.Sprintf("10.0.%d.0/24", 1+g.r.IntN(3)), Except: []string{fmt.Sprintf("10.0.1.%d/32", 1+g.r.IntN(3))}}
	default:
		return &networkingv1.IPBlock{CIDR: "192.168.0.0/16"}
	}
}

func (g gen) npPorts() []networkingv1.NetworkPolicyPort {
	n := g.r.IntN(4) - 1
	if n < 0 {
		return nil
	}
	out := []networkingv1.NetworkPolicyPort{}
	for range n {
		var p networkingv1.NetworkPolicyPort
		if k := g.r.IntN(4); k > 0 {
			proto := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}[k-1]
			p.Protocol = &proto
		}
		switch g.r.IntN(4) {
		case 0:
		case 1:
			v := intstr.FromString(g.pick(portNames))
			p.Port = &v
		default:
			v := intstr.FromInt32(int32(79 + g.r.IntN(4)))
			p.Port = &v
			if g.r.IntN(2) == 0 {
				end := v.IntVal + int32(g.r.IntN(3))
				p.EndPort = &end
			}
		}
		out = append(out, p)
	}
	return out
}
