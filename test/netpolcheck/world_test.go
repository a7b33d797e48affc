// Package netpolcheck cross-checks Bulwark's NetworkPolicy engine
// (internal/policy/netpol) cell by cell against independent engines. The
// semantic differences that are normalised away are listed, with the
// Kubernetes documentation that decides each, in testdata/differences.md.
package netpolcheck

import (
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// world is one input shared by every engine: namespaces, pods and policies.
type world struct {
	namespaces []namespace
	pods       []pod
	policies   []networkingv1.NetworkPolicy
}

type namespace struct {
	name   string
	labels map[string]string
	// implicit namespaces have no Namespace object (see netpol's doc).
	implicit bool
}

type pod struct {
	namespace, name string
	labels          map[string]string
	ip              string
	ports           []corev1.ContainerPort
}

// nsLabels are a namespace's labels as the API server stores them, with
// kubernetes.io/metadata.name.
func (w *world) nsLabels(ns string) map[string]string {
	out := map[string]string{"kubernetes.io/metadata.name": ns}
	for _, n := range w.namespaces {
		if n.name == ns {
			maps.Copy(out, n.labels)
		}
	}
	return out
}

// cluster is the world as Bulwark's input.
func (w *world) cluster(ipBlockPods bool) *netpol.Cluster {
	c := &netpol.Cluster{Policies: w.policies, IPBlockMatchesPodIPs: ipBlockPods}
	for _, n := range w.namespaces {
		if !n.implicit {
			c.Namespaces = append(c.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: maps.Clone(n.labels)}})
		}
	}
	for _, p := range w.pods {
		c.Pods = append(c.Pods, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.namespace, Name: p.name, Labels: maps.Clone(p.labels)},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: p.ports}}},
			Status:     corev1.PodStatus{PodIP: p.ip},
		})
	}
	return c
}

// portName is the name of the destination's container port with this
// number and protocol, "" if none: the name a policy's named port must carry.
func (p *pod) portName(port netpol.Port) string {
	for _, cp := range p.ports {
		proto := cp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		if cp.ContainerPort == port.Port && proto == port.Protocol {
			return cp.Name
		}
	}
	return ""
}

// oracle decides one cell; from and to index world.pods.
type oracle interface {
	allowed(from, to int, port netpol.Port) bool
}

// tally counts compared cells and keeps the first disagreements.
type tally struct {
	cells, allowed, differ int
	first                  []string
}

func (t *tally) agreement() float64 {
	if t.cells == 0 {
		return 0
	}
	return 100 * float64(t.cells-t.differ) / float64(t.cells)
}

func (t *tally) String() string {
	return fmt.Sprintf("cells=%d (allowed %d) agree=%d differ=%d agreement=%.4f%%",
		t.cells, t.allowed, t.cells-t.differ, t.differ, t.agreement())
}

// compare checks every cell of Bulwark's matrix against the oracle. Self
// cells are skipped unless withSelf: see differences.md, "Self traffic".
func compare(t *tally, label string, w *world, ipBlockPods, withSelf bool, ports []netpol.Port, o oracle) error {
	mx, err := w.cluster(ipBlockPods).Matrix(ports)
	if err != nil {
		return fmt.Errorf("%s: bulwark matrix: %w", label, err)
	}
	index := map[netpol.Endpoint]int{}
	for i, p := range w.pods {
		index[netpol.PodEndpoint(p.namespace, p.name)] = i
	}
	for _, c := range mx.Cells {
		if c.From == c.To && !withSelf {
			continue
		}
		from, to := index[c.From], index[c.To]
		t.cells++
		want := o.allowed(from, to, c.Port)
		if want {
			t.allowed++
		}
		if c.Verdict.Allowed == want {
			continue
		}
		t.differ++
		if len(t.first) < 5 {
			t.first = append(t.first, fmt.Sprintf("%s: %s -> %s %s: bulwark=%v oracle=%v\n  bulwark egress: %s\n  bulwark ingress: %s\n%s",
				label, c.From, c.To, c.Port, c.Verdict.Allowed, want, c.Verdict.Egress, c.Verdict.Ingress, w.describe()))
		}
	}
	return nil
}

// describe renders the world's labels and policies as YAML for a report.
func (w *world) describe() string {
	var b strings.Builder
	for _, n := range w.namespaces {
		fmt.Fprintf(&b, "  namespace %s labels=%v implicit=%v\n", n.name, n.labels, n.implicit)
	}
	for _, p := range w.pods {
		fmt.Fprintf(&b, "  pod %s/%s labels=%v ip=%s ports=%v\n", p.namespace, p.name, p.labels, p.ip, portList(p.ports))
	}
	for _, np := range w.policies {
		y, _ := yaml.Marshal(map[string]any{"metadata": map[string]string{"namespace": np.Namespace, "name": np.Name}, "spec": np.Spec})
		b.WriteString("  ---\n")
		for _, line := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
			b.WriteString("  " + line + "\n")
		}
	}
	return b.String()
}

func portList(ps []corev1.ContainerPort) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s=%d/%s", p.Name, p.ContainerPort, p.Protocol))
	}
	return out
}

// defaultPolicyTypes returns a copy of the policy with spec.policyTypes
// defaulted as the API server does: Ingress always, Egress iff spec.egress
// has a rule.
func defaultPolicyTypes(np networkingv1.NetworkPolicy) networkingv1.NetworkPolicy {
	if len(np.Spec.PolicyTypes) > 0 {
		return np
	}
	np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(np.Spec.Egress) > 0 {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
	return np
}

// standardPorts are the ports every generated pod serves.
var standardPorts = func() []netpol.Port {
	var out []netpol.Port
	for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
		for _, n := range []int32{80, 81} {
			out = append(out, netpol.Port{Protocol: proto, Port: n})
		}
	}
	return append(out, netpol.Port{Protocol: corev1.ProtocolTCP, Port: 82})
}()

// servePorts are cyclonus's container ports: serve-80-tcp ... serve-81-sctp.
func servePorts() []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, p := range standardPorts {
		if p.Port == 82 {
			continue
		}
		out = append(out, corev1.ContainerPort{
			Name:          fmt.Sprintf("serve-%d-%s", p.Port, strings.ToLower(string(p.Protocol))),
			ContainerPort: p.Port, Protocol: p.Protocol,
		})
	}
	return out
}
