package tiered_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/compile"
	"github.com/bulwark-sec/bulwark/internal/policy/load"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// workloads are the cluster the compiled repository's policies run in.
const workloads = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: billing}
---
apiVersion: v1
kind: Namespace
metadata: {name: billing-jobs}
---
apiVersion: v1
kind: Namespace
metadata: {name: ingress-system}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: billing, labels: {app: api}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 9000}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: job, namespace: billing-jobs, labels: {app: job}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: gw, namespace: ingress-system, labels: {app.kubernetes.io/name: bulwark}}
spec: {containers: [{name: c, image: x}]}
`

// tenantMetadata is a tenant NetworkPolicy that tries to open the
// forbidden metadata address.
const tenantMetadata = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: tenant-metadata, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 169.254.169.254/32}}]}]
`

// compiled compiles the compile package's test repository with flavor,
// adds the workloads (and extra manifests) and loads it all, dropping the
// objects drop names ("Kind namespace/name").
func compiled(t *testing.T, flavor func(*config.Config) (map[string][]byte, error), extra string, drop ...string) *tiered.Cluster {
	t.Helper()
	cfg, err := config.LoadDir("../compile/testdata/repo")
	if err != nil {
		t.Fatal(err)
	}
	files, err := flavor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files["workloads.yaml"] = []byte(workloads + "---\n" + extra)
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	objs, errs := manifest.Load(dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var kept []manifest.Object
	for _, o := range objs {
		name := o.Kind + " " + o.Namespace + "/" + o.Name
		if !strings.Contains(strings.Join(drop, "\n"), name) {
			kept = append(kept, o)
		}
	}
	if len(kept) != len(objs)-len(drop) {
		t.Fatalf("dropped %d objects, want %d", len(objs)-len(kept), len(drop))
	}
	c, errs := load.Tiered(kept)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return c
}

type probe struct {
	name     string
	from, to netpol.Endpoint
	port     int32
	allowed  bool
	explain  []string // substrings of the deciding side's explanation
}

func pod(ns, name string) netpol.Endpoint { return netpol.PodEndpoint(ns, name) }

var metadataAddr = netpol.ExternalEndpoint(netip.MustParseAddr("169.254.169.254"))

func runProbes(t *testing.T, c *tiered.Cluster, probes []probe) {
	t.Helper()
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			v, err := c.Evaluate(p.from, p.to, netpol.Port{Port: p.port})
			if err != nil {
				t.Fatal(err)
			}
			if v.Allowed != p.allowed {
				t.Fatalf("allowed = %v, want %v\negress:  %s\ningress: %s", v.Allowed, p.allowed, v.Egress, v.Ingress)
			}
			why := v.Egress.String() + "\n" + v.Ingress.String()
			for _, s := range p.explain {
				if !strings.Contains(why, s) {
					t.Errorf("explanation lacks %q:\n%s", s, why)
				}
			}
		})
	}
}

func TestCompiledCalico(t *testing.T) {
	c := compiled(t, compile.Calico, tenantMetadata)
	runProbes(t, c, []probe{
		{"shop reaches billing api", pod("shop", "web"), pod("billing", "api"), 9000, true,
			[]string{"bulwark-call-billing-api", "pass-grant-api-shop"}},
		{"billing-jobs denied at the guardrail", pod("billing-jobs", "job"), pod("shop", "web"), 8080, false,
			[]string{"Calico tier platform (order 100)", "GlobalNetworkPolicy platform.bulwark-isolate-shop", "(deny-other-namespaces): Deny"}},
		{"metadata denied despite tenant policy", pod("shop", "web"), metadataAddr, 80, false,
			[]string{"platform.bulwark-forbidden-egress rule 0 (deny-forbidden)"}},
		{"gateway reaches shop web", pod("ingress-system", "gw"), pod("shop", "web"), 8080, true, []string{"pass-gateway"}},
		{"shop not on other billing ports", pod("shop", "web"), pod("billing", "api"), 9001, false, nil},
	})
}

func TestCompiledCalicoWithoutDefaultDeny(t *testing.T) {
	c := compiled(t, compile.Calico, "", "NetworkPolicy billing-jobs/bulwark-default-deny")
	runProbes(t, c, []probe{
		{"other tenant still denied", pod("shop", "web"), pod("billing-jobs", "job"), 8080, false,
			[]string{"platform.bulwark-isolate-billing", "deny-other-namespaces"}},
		{"metadata still denied", pod("billing-jobs", "job"), metadataAddr, 80, false, []string{"deny-forbidden"}},
	})
}

func TestCompiledANP(t *testing.T) {
	c := compiled(t, compile.AdminNetworkPolicy, tenantMetadata)
	runProbes(t, c, []probe{
		{"shop reaches billing api", pod("shop", "web"), pod("billing", "api"), 9000, true,
			[]string{"bulwark-call-billing-api", "pass-grant-api-shop"}},
		{"billing-jobs denied at the guardrail", pod("billing-jobs", "job"), pod("shop", "web"), 8080, false,
			[]string{"AdminNetworkPolicy priority 20", "AdminNetworkPolicy bulwark-isolate-shop", "(deny-other-namespaces): Deny"}},
		{"metadata denied despite tenant policy", pod("shop", "web"), metadataAddr, 80, false,
			[]string{"AdminNetworkPolicy bulwark-forbidden-egress rule 0 (deny-forbidden)"}},
		{"gateway reaches shop web", pod("ingress-system", "gw"), pod("shop", "web"), 8080, true, []string{"pass-gateway"}},
		{"same tenant decided by NetworkPolicy", pod("billing", "api"), pod("billing-jobs", "job"), 8080, false,
			[]string{"NetworkPolicy", "isolated and no rule allows"}},
	})
}

func TestCompiledANPWithoutDefaultDeny(t *testing.T) {
	// The tenant deleted every ingress policy of billing-jobs: no
	// NetworkPolicy isolates the job for ingress any more.
	c := compiled(t, compile.AdminNetworkPolicy, "",
		"NetworkPolicy billing-jobs/bulwark-default-deny", "NetworkPolicy billing-jobs/bulwark-platform-monitoring")
	runProbes(t, c, []probe{
		{"other tenant still denied", pod("shop", "web"), pod("billing-jobs", "job"), 8080, false,
			[]string{"bulwark-isolate-billing", "deny-other-namespaces"}},
		{"same tenant denied by the baseline", pod("billing", "api"), pod("billing-jobs", "job"), 8080, false,
			[]string{"BaselineAdminNetworkPolicy default rule 0 (deny-pods): Deny"}},
	})
}
