package load_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/load"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

func cluster(t *testing.T, paths ...string) (*netpol.Cluster, []error) {
	t.Helper()
	objs, errs := manifest.Load(paths...)
	if len(errs) > 0 {
		t.Fatalf("manifest.Load: %v", errs)
	}
	return load.Cluster(objs)
}

func TestClusterApp(t *testing.T) {
	c, errs := cluster(t, "testdata/app")
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	var pods []string
	for _, p := range c.Pods {
		pods = append(pods, p.Namespace+"/"+p.Name)
	}
	if got, want := strings.Join(pods, " "), "billing/api billing/debug shop/web shop/cache"; got != want {
		t.Errorf("pods = %s, want %s", got, want)
	}
	if len(c.Namespaces) != 2 || len(c.Policies) != 5 {
		t.Errorf("namespaces %d, policies %d; want 2, 5", len(c.Namespaces), len(c.Policies))
	}
	pod := netpol.PodEndpoint
	ext := netpol.ExternalEndpoint(netip.MustParseAddr("1.1.1.1"))
	for _, tc := range []struct {
		name     string
		from, to netpol.Endpoint
		port     int32
		allowed  bool
	}{
		{"web to cache by named port", pod("shop", "web"), pod("shop", "cache"), 6379, true},
		{"cache to web", pod("shop", "cache"), pod("shop", "web"), 8080, false},
		{"web to billing api", pod("shop", "web"), pod("billing", "api"), 8443, true},
		{"web to billing api wrong port", pod("shop", "web"), pod("billing", "api"), 8080, false},
		{"debug to api in its own namespace", pod("billing", "debug"), pod("billing", "api"), 8443, false},
		{"debug to shop web", pod("billing", "debug"), pod("shop", "web"), 8080, false},
		{"web to the internet", pod("shop", "web"), ext, 443, false},
		{"api to the internet", pod("billing", "api"), ext, 443, true},
		{"internet to web", ext, pod("shop", "web"), 8080, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := c.Evaluate(tc.from, tc.to, netpol.Port{Port: tc.port})
			if err != nil {
				t.Fatal(err)
			}
			if v.Allowed != tc.allowed {
				t.Errorf("allowed = %v, want %v\negress:  %s\ningress: %s", v.Allowed, tc.allowed, v.Egress, v.Ingress)
			}
		})
	}
}

func TestClusterUnsupportedPolicyKinds(t *testing.T) {
	_, errs := cluster(t, "testdata/unsupported")
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2 (Calico, ANP; ConfigMap ignored): %v", len(errs), errs)
	}
	for i, want := range []string{
		"testdata/unsupported/calico.yaml:1: GlobalNetworkPolicy platform.deny-metadata: the simulator does not evaluate this kind yet",
		"testdata/unsupported/calico.yaml:15: AdminNetworkPolicy deny-metadata: the simulator does not evaluate this kind yet",
	} {
		if errs[i].Error() != want {
			t.Errorf("error %d = %q, want %q", i, errs[i], want)
		}
		if !load.IsPolicy(errs[i]) || !errors.Is(errs[i], load.ErrUnsupported) {
			t.Errorf("error %d: want a policy error wrapping ErrUnsupported", i)
		}
	}
}

func TestClusterBadObjects(t *testing.T) {
	c, errs := cluster(t, "testdata/bad", "testdata/app")
	want := []struct {
		prefix string
		policy bool
	}{
		{`testdata/bad/bad.yaml:1: Deployment worker: json: unknown field "portz"`, false},
		{`testdata/bad/bad.yaml:21: NetworkPolicy broken: json: cannot unmarshal string`, true},
		{`testdata/bad/bad.yaml:36: NetworkPolicy shop/bad-selector: `, true},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w.prefix) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w.prefix)
		}
		if load.IsPolicy(errs[i]) != w.policy {
			t.Errorf("error %d: IsPolicy = %v, want %v", i, !w.policy, w.policy)
		}
	}
	if len(c.Pods) != 4 || len(c.Policies) != 5 {
		t.Errorf("loading went on: %d pods, %d policies; want 4, 5", len(c.Pods), len(c.Policies))
	}
}

func TestClusterDuplicates(t *testing.T) {
	objs, errs := manifest.Parse("dup.yaml", []byte(`
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
status: {podIP: 10.0.0.1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {selector: {}, template: {spec: {containers: []}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "@daily"
  jobTemplate: {spec: {template: {metadata: {labels: {app: report}}, spec: {containers: []}}}}
---
apiVersion: v1
kind: Pod
metadata: {name: other}
status: {podIPs: [{ip: 10.0.0.1}]}
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c, errs := load.Cluster(objs)
	want := []string{
		"dup.yaml:7: Deployment shop/web: pod shop/web declared twice (first by Pod at dup.yaml:2); keeping the first",
		"dup.yaml:19: Pod other: status.podIPs: 10.0.0.1 already belongs to pod shop/web",
	}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v, want %v", errs, want)
	}
	for i := range want {
		if errs[i].Error() != want[i] {
			t.Errorf("error %d = %q, want %q", i, errs[i], want[i])
		}
	}
	if len(c.Pods) != 2 || c.Pods[1].Name != "report" || c.Pods[1].Namespace != "default" || c.Pods[1].Labels["app"] != "report" {
		t.Errorf("pods = %+v; want shop/web and default/report from the CronJob's template", c.Pods)
	}
}
