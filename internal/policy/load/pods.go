package load

import (
	"errors"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

func (b *builder) addPod(o manifest.Object) error {
	var p corev1.Pod
	if err := o.Decode(&p); err != nil {
		return err
	}
	return b.keepPod(o, p)
}

// addWorkload adds the one pod that stands for all of a workload's replicas:
// the workload's name and namespace, the template's labels and containers.
func (b *builder) addWorkload(o manifest.Object, k kind) error {
	meta, tmpl, err := template(o, k)
	if err != nil {
		return err
	}
	return b.keepPod(o, corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: meta.Namespace,
			Name:      meta.Name,
			Labels:    tmpl.Labels,
		},
		Spec: tmpl.Spec,
	})
}

// keepPod adds p after the engine's own checks, on p alone, and the checks
// that need the other pods: a name or an address used twice.
func (b *builder) keepPod(o manifest.Object, p corev1.Pod) error {
	if p.Namespace == "" {
		p.Namespace = metav1.NamespaceDefault
	}
	if p.Name == "" {
		return errors.New("metadata.name is empty")
	}
	key := p.Namespace + "/" + p.Name
	if prev, dup := b.pods[key]; dup {
		return fmt.Errorf("pod %s declared twice (first by %s at %s:%d); keeping the first", key, prev.Kind, prev.File, prev.Line)
	}
	alone := netpol.Cluster{Pods: []corev1.Pod{p}}
	if _, err := alone.Matrix(nil); err != nil {
		return err
	}
	ips := podIPs(p) // after the engine's check: they parse
	for _, ip := range ips {
		if other, dup := b.ips[ip]; dup {
			return fmt.Errorf("status.podIPs: %s already belongs to pod %s", ip, other)
		}
	}
	for _, ip := range ips {
		b.ips[ip] = key
	}
	b.pods[key] = o
	b.c.Pods = append(b.c.Pods, p)
	return nil
}

func podIPs(p corev1.Pod) []string {
	seen := map[string]bool{}
	var out []string
	for _, ip := range append([]string{p.Status.PodIP}, ipStrings(p.Status.PodIPs)...) {
		if ip == "" {
			continue
		}
		ip = netip.MustParseAddr(ip).Unmap().String() // validated by the engine
		if !seen[ip] {
			seen[ip] = true
			out = append(out, ip)
		}
	}
	return out
}

func ipStrings(ips []corev1.PodIP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.IP
	}
	return out
}
