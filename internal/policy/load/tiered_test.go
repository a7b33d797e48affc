package load

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/manifest"
)

func TestTieredAcceptsLayeredKinds(t *testing.T) {
	objs, errs := manifest.Parse("ok.yaml", []byte(`
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: platform}
spec: {order: 100, defaultAction: Pass}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: platform.g}
spec: {tier: platform, selector: all(), ingress: [{action: Pass}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: n, namespace: a}
spec: {order: 10, egress: [{action: Allow, protocol: TCP, destination: {ports: [80, "8000:8080", http]}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: p}
spec: {priority: 3, subject: {namespaces: {}}, egress: [{name: r, action: Pass, to: [{networks: [10.0.0.0/8]}]}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec: {subject: {namespaces: {}}, ingress: [{name: r, action: Deny, from: [{namespaces: {}}]}]}
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c, errs := Tiered(objs)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(c.Tiers) != 1 || len(c.Calico) != 2 || len(c.Admin) != 2 {
		t.Errorf("loaded %d tiers, %d Calico policies, %d admin policies; want 1, 2, 2", len(c.Tiers), len(c.Calico), len(c.Admin))
	}
	// Cluster, for the engines that do not layer, still refuses them all.
	if _, errs := Cluster(objs); len(errs) != len(objs) {
		t.Errorf("Cluster refused %d of %d layered objects", len(errs), len(objs))
	}
}

func TestTieredRefuses(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"v1alpha2 ClusterNetworkPolicy", `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: c}
spec: {tier: Admin, priority: 1, subject: {namespaces: {}}}
`, ErrUnsupported.Error()},
		{"staged Calico policy", `apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: s}
spec: {}
`, ErrUnsupported.Error()},
		{"crd.projectcalico.org form", `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: s}
spec: {}
`, ErrUnsupported.Error()},
		{"unmodelled field", `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: s}
spec: {ingress: [{action: Allow, source: {serviceAccounts: {names: [x]}}}]}
`, `unknown field "serviceAccounts"`},
		{"ANP nodes peer", `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: p}
spec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{nodes: {}}]}]}
`, `unknown field "nodes"`},
		{"bad selector", `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: s}
spec: {selector: "role = 'x'"}
`, "spec.selector"},
		{"undeclared tier", `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: t.s}
spec: {tier: t}
`, `spec.tier "t": no such Tier`},
		{"source ports", `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: s}
spec: {ingress: [{action: Allow, protocol: TCP, source: {ports: [80]}}]}
`, "source ports are not modelled"},
		{"ICMP", `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: s}
spec: {ingress: [{action: Allow, protocol: ICMP}]}
`, "TCP, UDP and SCTP only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, errs := manifest.Parse("bad.yaml", []byte(tc.doc))
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			c, errs := Tiered(objs)
			if len(errs) != 1 || !IsPolicy(errs[0]) || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("errs = %v, want one policy error containing %q", errs, tc.want)
			}
			if c.Layered() {
				t.Error("the refused policy was kept")
			}
			if tc.want == ErrUnsupported.Error() && !errors.Is(errs[0], ErrUnsupported) {
				t.Error("not ErrUnsupported")
			}
		})
	}
}
