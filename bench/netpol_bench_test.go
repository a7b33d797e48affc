package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mattfenwick/cyclonus/pkg/matcher"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// synthCluster builds namespaces × podsPerNS pods and policies spread over
// the namespaces, deterministically: each pod has app and tier labels and
// port 8080; each policy selects one app and allows ingress from a tier,
// sometimes from another namespace, on 8080.
func synthCluster(namespaces, podsPerNS, policies int) *netpol.Cluster {
	rng := rand.New(rand.NewPCG(1, 2))
	c := &netpol.Cluster{}
	for n := range namespaces {
		ns := fmt.Sprintf("ns%03d", n)
		c.Namespaces = append(c.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": fmt.Sprintf("t%d", n%7)}}})
		for p := range podsPerNS {
			c.Pods = append(c.Pods, corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("pod%03d", p),
					Labels: map[string]string{"app": fmt.Sprintf("app%d", p%5), "tier": fmt.Sprintf("tier%d", p%3)}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
			})
		}
	}
	port := intstr.FromInt32(8080)
	for i := range policies {
		ns := fmt.Sprintf("ns%03d", rng.IntN(namespaces))
		peer := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": fmt.Sprintf("tier%d", rng.IntN(3))}}}
		if rng.IntN(2) == 0 {
			peer.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", rng.IntN(7))}}
		}
		c.Policies = append(c.Policies, networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p%04d", i)},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app%d", rng.IntN(5))}},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{peer}, Ports: []networkingv1.NetworkPolicyPort{{Port: &port}}}},
			},
		})
	}
	return c
}

// BenchmarkNetpolMatrix is the issue #5 benchmark: the full reachability
// matrix (every pod pair, one port) for 2,000 pods with 500 policies, and
// for 200 tenants × 10 pods. It reports wall time per matrix and the peak
// heap it reached (sampled after the run).
func BenchmarkNetpolMatrix(b *testing.B) {
	for _, size := range []struct {
		name               string
		ns, pods, policies int
	}{
		{"2000pods-500policies", 100, 20, 500},
		{"200tenants-10pods", 200, 10, 400},
	} {
		b.Run(size.name, func(b *testing.B) {
			c := synthCluster(size.ns, size.pods, size.policies)
			ports := []netpol.Port{{Protocol: corev1.ProtocolTCP, Port: 8080}}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			var cells, allowed int
			for b.Loop() {
				m, err := c.Matrix(ports)
				if err != nil {
					b.Fatal(err)
				}
				cells, allowed = len(m.Cells), 0
				for _, cell := range m.Cells {
					// Self cells: Bulwark always allows a pod to reach itself;
					// count them as cyclonus would see them through policy.
					if cell.Verdict.Allowed {
						allowed++
					}
				}
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(cells), "cells")
			b.ReportMetric(float64(allowed), "allowed")
			b.ReportMetric(float64(after.HeapSys)/(1<<20), "heap-sys-MiB")
		})
	}
}

// BenchmarkCyclonusMatrix answers the same cells with cyclonus's matcher
// (github.com/mattfenwick/cyclonus v0.5.6, the oracle of test/netpolcheck),
// for the side-by-side figures in RESULTS.md. cyclonus gives a yes or no
// per cell, without explanations.
func BenchmarkCyclonusMatrix(b *testing.B) {
	for _, size := range []struct {
		name               string
		ns, pods, policies int
	}{
		{"2000pods-500policies", 100, 20, 500},
		{"200tenants-10pods", 200, 10, 400},
	} {
		b.Run(size.name, func(b *testing.B) {
			c := synthCluster(size.ns, size.pods, size.policies)
			nsLabels := map[string]map[string]string{}
			for _, ns := range c.Namespaces {
				l := map[string]string{"kubernetes.io/metadata.name": ns.Name}
				for k, v := range ns.Labels {
					l[k] = v
				}
				nsLabels[ns.Name] = l
			}
			peers := make([]*matcher.TrafficPeer, len(c.Pods))
			for i, p := range c.Pods {
				peers[i] = &matcher.TrafficPeer{IP: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255),
					Internal: &matcher.InternalPeer{Namespace: p.Namespace, PodLabels: p.Labels, NamespaceLabels: nsLabels[p.Namespace]}}
			}
			// cyclonus needs policyTypes filled in, as the API server
			// does: these policies have ingress rules only.
			nps := make([]*networkingv1.NetworkPolicy, len(c.Policies))
			for i := range c.Policies {
				p := c.Policies[i].DeepCopy()
				p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
				nps[i] = p
			}
			runtime.GC()
			var cells, allowed int
			for b.Loop() {
				cells, allowed = 0, 0
				m := matcher.BuildNetworkPolicies(false, nps)
				for _, from := range peers {
					for _, to := range peers {
						cells++
						if m.IsTrafficAllowed(&matcher.Traffic{Source: from, Destination: to, ResolvedPort: 8080,
							ResolvedPortName: "http", Protocol: corev1.ProtocolTCP}).IsAllowed() {
							allowed++
						}
					}
				}
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(cells), "cells")
			b.ReportMetric(float64(allowed), "allowed")
			b.ReportMetric(float64(after.HeapSys)/(1<<20), "heap-sys-MiB")
		})
	}
}
