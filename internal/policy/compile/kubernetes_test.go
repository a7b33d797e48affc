package compile

import (
	"flag"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func compileRepo(t *testing.T) map[string][]byte {
	t.Helper()
	cfg, err := config.LoadDir("testdata/repo")
	if err != nil {
		t.Fatal(err)
	}
	files, err := Kubernetes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestKubernetesGolden: the compiled files are exactly the golden ones,
// and compiling twice gives the same bytes.
func TestKubernetesGolden(t *testing.T) {
	files, again := compileRepo(t), compileRepo(t)
	for name := range files {
		if string(files[name]) != string(again[name]) {
			t.Errorf("%s differs between two compilations", name)
		}
	}
	if len(files) != 3 {
		t.Errorf("%d files, want the 3 under kubernetes/", len(files))
	}
	checkGolden(t, files, "kubernetes", "kubernetes/billing-jobs.yaml", "kubernetes/billing.yaml", "kubernetes/shop.yaml")
}

// TestKubernetesReachability runs the compiled policies through the
// simulator with a workload per service and checks what tenants can and
// cannot reach.
func TestKubernetesReachability(t *testing.T) {
	c := &netpol.Cluster{}
	for name, data := range compileRepo(t) {
		objs, errs := manifest.Parse(name, data)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		for _, o := range objs {
			var p networkingv1.NetworkPolicy
			if err := o.Decode(&p); err != nil {
				t.Fatal(err)
			}
			c.Policies = append(c.Policies, p)
		}
	}
	pod := func(ns, name string, labels map[string]string, ports ...int32) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
		for _, port := range ports {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Ports: []corev1.ContainerPort{{ContainerPort: port}}})
		}
		return p
	}
	c.Pods = []corev1.Pod{
		pod("ingress-system", "gateway", map[string]string{"app.kubernetes.io/name": "bulwark"}),
		pod("kube-system", "coredns", map[string]string{"k8s-app": "kube-dns"}, 53),
		pod("monitoring", "prometheus", map[string]string{"app": "prometheus"}),
		pod("shop", "web", map[string]string{"app": "web"}, 8080, 9090),
		pod("shop", "worker", map[string]string{"app": "worker"}, 8080),
		pod("billing", "api", map[string]string{"app": "api"}, 9000),
		pod("billing-jobs", "batch", map[string]string{"app": "batch"}),
	}
	tcp := func(p int32) netpol.Port { return netpol.Port{Protocol: corev1.ProtocolTCP, Port: p} }
	ext := func(ip string) netpol.Endpoint { return netpol.ExternalEndpoint(netip.MustParseAddr(ip)) }
	at := netpol.PodEndpoint
	cases := []struct {
		name     string
		src, dst netpol.Endpoint
		port     netpol.Port
		want     bool
	}{
		{"gateway reaches shop/web:8080", at("ingress-system", "gateway"), at("shop", "web"), tcp(8080), true},
		{"gateway does not reach an undeclared port", at("ingress-system", "gateway"), at("shop", "web"), tcp(9090), false},
		{"gateway does not reach an undeclared service", at("ingress-system", "gateway"), at("shop", "worker"), tcp(8080), false},
		{"granted cross-tenant call", at("shop", "web"), at("billing", "api"), tcp(9000), true},
		{"the reverse is not granted", at("billing", "api"), at("shop", "web"), tcp(8080), false},
		{"other billing namespace cannot reach shop", at("billing-jobs", "batch"), at("shop", "web"), tcp(8080), false},
		{"cross-namespace probe fails by default", at("billing-jobs", "batch"), at("billing", "api"), tcp(9000), false},
		{"DNS allowed", at("shop", "web"), at("kube-system", "coredns"), netpol.Port{Protocol: corev1.ProtocolUDP, Port: 53}, true},
		{"monitoring scrapes on its port", at("monitoring", "prometheus"), at("shop", "web"), tcp(9090), true},
		{"monitoring only on its port", at("monitoring", "prometheus"), at("shop", "web"), tcp(8080), false},
		{"internet egress on the allowlisted port", at("shop", "web"), ext("203.0.113.10"), tcp(443), true},
		{"internet egress on another port", at("shop", "web"), ext("203.0.113.10"), tcp(80), false},
		{"metadata address forbidden inside the allowlist", at("shop", "web"), ext("169.254.169.254"), tcp(443), false},
		{"a tenant without an allowlist has no internet", at("billing", "api"), ext("203.0.113.10"), tcp(443), false},
		{"intra-namespace traffic is the tenant's own policy", at("shop", "worker"), at("shop", "web"), tcp(8080), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := c.Evaluate(tc.src, tc.dst, tc.port)
			if err != nil {
				t.Fatal(err)
			}
			if v.Allowed != tc.want {
				t.Errorf("allowed = %v, want %v (egress: %s; ingress: %s)", v.Allowed, tc.want, v.Egress, v.Ingress)
			}
		})
	}
}
