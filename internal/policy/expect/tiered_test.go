package expect

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/load"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// tieredCluster loads testdata/cluster.yaml and the extra manifests with
// the layered loader.
func tieredCluster(t *testing.T, extra string) *tiered.Cluster {
	t.Helper()
	paths := []string{"testdata/cluster.yaml"}
	if extra != "" {
		p := filepath.Join(t.TempDir(), "extra.yaml")
		if err := os.WriteFile(p, []byte(extra), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	objs, errs := manifest.Load(paths...)
	c, lerrs := load.Tiered(objs)
	if len(errs)+len(lerrs) > 0 {
		t.Fatalf("loading: %v %v", errs, lerrs)
	}
	return c
}

var tieredExpectations = []string{
	"from: {tenant: alpha}, to: {tenant: beta}, port: any, expect: deny",
	"from: {pod: a/web}, to: {pod: b/api}, port: 9000, expect: deny",
	"from: {tenant: alpha}, to: {pod: b/api}, port: 9000, expect: allow",
	"from: {tenants: all}, to: {external: 169.254.169.254}, port: 80, expect: deny",
	"from: {external: 203.0.113.7}, to: {tenant: alpha}, port: any, expect: deny",
	"from: {tenant: beta}, to: {tenant: alpha}, port: any, expect: deny",
	"from: {tenant: gamma}, to: {tenant: beta}, port: any, expect: deny",
}

func report(t *testing.T, results []Result) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := Write(&b, results, 10); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCheckTieredWithoutLayersIsCheck: with no Calico or
// AdminNetworkPolicy object the layered check is the Kubernetes one,
// verdicts and explanations alike.
func TestCheckTieredWithoutLayersIsCheck(t *testing.T) {
	c := tieredCluster(t, "")
	if c.Layered() {
		t.Fatal("testdata has layered policies")
	}
	tenants, err := TenantsOf(nil, &c.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	var exps []Expectation
	for _, f := range tieredExpectations {
		exps = append(exps, one(t, f))
	}
	want := Check(testCluster(t), tenants, exps)
	got := CheckTiered(c, tenants, exps)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckTiered differs from Check:\n%s\nwant\n%s", report(t, got), report(t, want))
	}
	if r := report(t, got); !strings.Contains(r, "ingress: allow: allowed by rule b/allow-web rule 0") {
		t.Errorf("explanations lost:\n%s", r)
	}
}

// A Calico platform tier denying ingress to b from other namespaces, and
// egress to the metadata address, before the NetworkPolicies.
const platformTier = `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: platform}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: platform.isolate-b}
spec:
  tier: platform
  order: 10
  namespaceSelector: kubernetes.io/metadata.name == "b"
  types: [Ingress]
  ingress:
    - action: Deny
      metadata: {annotations: {bulwark/rule: deny-other-namespaces}}
      source: {namespaceSelector: kubernetes.io/metadata.name != "b"}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: platform.forbidden}
spec:
  tier: platform
  order: 20
  selector: all()
  types: [Egress]
  egress:
    - action: Deny
      destination: {nets: [169.254.169.254/32]}
    - action: Pass
`

const adminPolicy = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: isolate-b}
spec:
  priority: 20
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: b}}}
  ingress:
    - name: deny-other-namespaces
      action: Deny
      from: [{namespaces: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [b]}]}}]
`

// TestCheckTieredLayers: the guardrails decide before the NetworkPolicy
// that lets a/web reach b/api, and the failure names the layer and rule.
func TestCheckTieredLayers(t *testing.T) {
	for _, tc := range []struct {
		name, manifests string
		explain         []string
	}{
		{"calico", platformTier, []string{
			"a/web -> b/api TCP/9000: deny",
			"ingress: deny: Calico tier platform (order 100): GlobalNetworkPolicy platform.isolate-b rule 0 (deny-other-namespaces): Deny",
		}},
		{"adminnetworkpolicy", adminPolicy, []string{
			"a/web -> b/api TCP/9000: deny",
			"ingress: deny: AdminNetworkPolicy priority 20: AdminNetworkPolicy isolate-b rule 0 (deny-other-namespaces): Deny",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tieredCluster(t, tc.manifests)
			if !c.Layered() {
				t.Fatal("not layered")
			}
			tenants, err := TenantsOf(nil, &c.Cluster)
			if err != nil {
				t.Fatal(err)
			}
			results := CheckTiered(c, tenants, []Expectation{
				one(t, "from: {pod: a/web}, to: {pod: b/api}, port: 9000, expect: allow"),
				one(t, "from: {tenant: alpha}, to: {tenant: beta}, port: any, expect: deny"),
				one(t, "from: {pod: a/db}, to: {pod: a/web}, port: 80, expect: allow"),
			})
			out := report(t, results)
			if results[0].Passed() || !results[1].Passed() || !results[2].Passed() {
				t.Errorf("results:\n%s", out)
			}
			for _, want := range tc.explain {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "deny: deny:") || strings.Contains(out, "allow: allow:") {
				t.Errorf("verdict rendered twice:\n%s", out)
			}
		})
	}
}

// TestCheckTieredExternal: connections with an address outside the
// cluster are decided by the layered engine too.
func TestCheckTieredExternal(t *testing.T) {
	c := tieredCluster(t, platformTier)
	tenants, _ := TenantsOf(nil, &c.Cluster)
	exps := []Expectation{one(t, "from: {tenants: all}, to: {external: 169.254.169.254}, port: 80, expect: deny")}
	if r := Check(&c.Cluster, tenants, exps)[0]; r.Passed() {
		t.Fatal("the NetworkPolicies alone deny the metadata address: the test proves nothing")
	}
	r := CheckTiered(c, tenants, exps)[0]
	if !r.Passed() {
		t.Errorf("metadata address reachable with the platform tier:\n%s", report(t, []Result{r}))
	}
}
