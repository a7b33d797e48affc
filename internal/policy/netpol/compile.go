package netpol

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// namespaceNameLabel is set by the API server on every namespace.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// model is a Cluster compiled once: selectors parsed, objects indexed and
// sorted so that every answer is deterministic.
type model struct {
	ipBlockPods bool
	nsLabels    map[string]labels.Set
	pods        []*pod // sorted by namespace/name
	byName      map[string]*pod
	byIP        map[netip.Addr]*pod
	policies    []*policy // sorted by namespace/name
}

type pod struct {
	namespace, name string
	labels          labels.Set
	ips             []netip.Addr
	ports           []corev1.ContainerPort
	// selectedBy lists, per direction and in policy order, the policies
	// that select this pod: computed once so a matrix does not rescan.
	selectedBy [2][]*policy
}

func (p *pod) key() string { return p.namespace + "/" + p.name }

func namespaceOf(meta metav1.ObjectMeta) string {
	if meta.Namespace == "" {
		return metav1.NamespaceDefault
	}
	return meta.Namespace
}

// compile validates c and builds its model. Errors name the object and field.
func (c *Cluster) compile() (*model, error) {
	m := &model{
		ipBlockPods: c.IPBlockMatchesPodIPs,
		nsLabels:    map[string]labels.Set{},
		byName:      map[string]*pod{},
		byIP:        map[netip.Addr]*pod{},
	}
	for _, ns := range c.Namespaces {
		if _, dup := m.nsLabels[ns.Name]; dup {
			return nil, fmt.Errorf("compile: namespace %s: declared twice", ns.Name)
		}
		m.nsLabels[ns.Name] = namespaceLabels(ns.Name, ns.Labels)
	}
	for i := range c.Pods {
		if err := m.addPod(&c.Pods[i]); err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
	}
	slices.SortFunc(m.pods, func(a, b *pod) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	seen := map[string]bool{}
	for i := range c.Policies {
		p, err := compilePolicy(&c.Policies[i])
		if err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
		if seen[p.key] {
			return nil, fmt.Errorf("compile: networkpolicy %s: declared twice", p.key)
		}
		seen[p.key] = true
		m.policies = append(m.policies, p)
	}
	slices.SortFunc(m.policies, func(a, b *policy) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	for _, pd := range m.pods {
		for _, p := range m.policies {
			if p.namespace != pd.namespace || !p.selector.Matches(pd.labels) {
				continue
			}
			for _, dir := range []direction{ingress, egress} {
				if _, applies := p.rules(dir); applies {
					pd.selectedBy[dir] = append(pd.selectedBy[dir], p)
				}
			}
		}
	}
	return m, nil
}

func namespaceLabels(name string, declared map[string]string) labels.Set {
	set := labels.Set{}
	for k, v := range declared {
		set[k] = v
	}
	set[namespaceNameLabel] = name
	return set
}

func (m *model) addPod(src *corev1.Pod) error {
	p := &pod{
		namespace: namespaceOf(src.ObjectMeta),
		name:      src.Name,
		labels:    labels.Set(src.Labels),
	}
	if p.name == "" {
		return fmt.Errorf("pod in namespace %s: metadata.name is empty", p.namespace)
	}
	if _, dup := m.byName[p.key()]; dup {
		return fmt.Errorf("pod %s: declared twice", p.key())
	}
	m.byName[p.key()] = p
	m.pods = append(m.pods, p)
	if _, ok := m.nsLabels[p.namespace]; !ok {
		m.nsLabels[p.namespace] = namespaceLabels(p.namespace, nil)
	}
	for _, c := range src.Spec.Containers {
		p.ports = append(p.ports, c.Ports...)
	}
	for _, s := range podIPs(src) {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("pod %s: status.podIPs: %w", p.key(), err)
		}
		ip = ip.Unmap()
		if other, dup := m.byIP[ip]; dup && other != p {
			return fmt.Errorf("pod %s: status.podIPs: %s already belongs to pod %s", p.key(), ip, other.key())
		}
		m.byIP[ip] = p
		p.ips = append(p.ips, ip)
	}
	return nil
}

func podIPs(p *corev1.Pod) []string {
	var out []string
	if p.Status.PodIP != "" {
		out = append(out, p.Status.PodIP)
	}
	for _, ip := range p.Status.PodIPs {
		if ip.IP != "" && ip.IP != p.Status.PodIP {
			out = append(out, ip.IP)
		}
	}
	return out
}

// containerProtocol applies the API default: a container port is TCP unless
// it says otherwise.
func containerProtocol(cp corev1.ContainerPort) corev1.Protocol {
	if cp.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return cp.Protocol
}
