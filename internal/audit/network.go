package audit

// INV-5 … INV-8 are answered by the network-policy simulator
// (internal/policy/tiered: AdminNetworkPolicies, Calico tiers, Kubernetes
// NetworkPolicies, the baseline), never by reading policy names: a
// default-deny policy that a later allow-all undoes does not count, and
// a namespace that guardrails alone isolate does.
//
// Asking the simulator about every pod pair on every port does not scale
// (2,000 pods make 4,000,000 pairs), so the questions are grouped where
// the answer cannot differ, and only then asked:
//
//   - A scope is one namespace and one direction: the policies that can
//     decide for a pod of that namespace in that direction (its own
//     NetworkPolicies, the Calico and admin policies whose namespace
//     selector matches it). Pods of the namespace are grouped by the
//     labels the scope's subject selectors can test; pods elsewhere by
//     the namespace and pod labels its peer selectors can test (a label
//     no selector names, or a value none compares with, cannot change an
//     answer). One pod of each group stands for the group.
//   - Ports are cut into elementary ranges at every port the scope's
//     rules name, addresses into elementary intervals at every CIDR
//     boundary: within one range no rule's condition changes, so one
//     port and one address per range decide for all of it.
//   - A connection needs both directions, so the source's egress scope
//     and the destination's ingress scope are simulated apart and their
//     answers intersected.
//
// Explanations (which policy and rule decided) are computed only for the
// findings.

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/expect"
	"github.com/bulwark-sec/bulwark/internal/policy/load"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// The checks.

// defaultDenyCheck is INV-5. A pod with no labels is placed in each
// tenant namespace and the simulator asked whether a pod of a namespace
// that did not exist before, or an address outside the cluster, may
// connect to it: that is what "denies by default" means, whatever the
// policies are called. Then the same for every real pod of the namespace.
type defaultDenyCheck struct{}

func (defaultDenyCheck) ID() string    { return "INV-5" }
func (defaultDenyCheck) Title() string { return "every tenant namespace denies ingress by default" }
func (defaultDenyCheck) Rule() string {
	return "INV-5: All tenant namespaces MUST have default-deny ingress (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (c defaultDenyCheck) Run(r *Repo) Outcome {
	n := networkOf(r)
	return n.outcome(r, c.ID(), false, n.eachTenantNamespace(func(ns string) []Finding { return n.defaultDeny(c.ID(), ns) }))
}

// crossNamespaceCheck is INV-6: every connection the policies allow
// between two namespaces, one of them a tenant's, must be one the
// declarations authorize (gateway to a service's ports, a platform
// namespace on its ports, DNS, a cross-tenant path both tenants
// declared). Traffic between namespaces of one tenant is the tenant's own
// (its policies decide, as the compiled guardrails pass it).
type crossNamespaceCheck struct{}

func (crossNamespaceCheck) ID() string    { return "INV-6" }
func (crossNamespaceCheck) Title() string { return "every allowed cross-namespace path is declared" }
func (crossNamespaceCheck) Rule() string {
	return "INV-6: Cross-namespace traffic MUST be explicitly authorized (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (c crossNamespaceCheck) Run(r *Repo) Outcome {
	n := networkOf(r)
	if n.decl == nil {
		// Without declarations any answer would be invented.
		return n.outcome(r, c.ID(), false, n.eachTenantNamespace(func(ns string) []Finding {
			return []Finding{n.nsFinding(c.ID(), Warning, ns,
				fmt.Sprintf("cross-namespace paths into and out of namespace %s cannot be verified: the repository has no %s declaring them", ns, config.PlatformFile),
				"add Bulwark's platform.yaml and tenants/*.yaml with the network declarations")}
		}))
	}
	return n.outcome(r, c.ID(), false, n.undeclaredPaths(c.ID(), n.world(false)))
}

// egressCheck is INV-7: a tenant pod reaches addresses outside the
// cluster only within its tenant's declared egress, and never the
// platform's forbidden CIDRs.
type egressCheck struct{}

func (egressCheck) ID() string    { return "INV-7" }
func (egressCheck) Title() string { return "internet egress goes only to declared destinations" }
func (egressCheck) Rule() string {
	return "INV-7: Egress to internet MUST be controlled (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (c egressCheck) Run(r *Repo) Outcome {
	n := networkOf(r)
	return n.outcome(r, c.ID(), false, n.eachTenantNamespace(func(ns string) []Finding { return n.internetEgress(c.ID(), ns) }))
}

// guardrailCheck is INV-8: a tenant that rewrites its own NetworkPolicies
// as it likes still cannot reach the forbidden CIDRs nor open undeclared
// paths between tenants, and RBAC keeps tenants away from the guardrail
// kinds. The first half is simulated: a NetworkPolicy allowing everything
// replaces the NetworkPolicies of every tenant namespace.
type guardrailCheck struct{}

func (guardrailCheck) ID() string { return "INV-8" }
func (guardrailCheck) Title() string {
	return "platform guardrails precede tenant policies and tenants cannot edit them"
}
func (guardrailCheck) Rule() string {
	return "INV-8: Platform guardrails MUST NOT be overridable (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (c guardrailCheck) Run(r *Repo) Outcome {
	n := networkOf(r)
	return n.outcome(r, c.ID(), true, append(n.overridable(c.ID()), n.rbacFindings(c.ID())...))
}

// The repository's network, built once for the four checks.

// network is the simulator's view of one repository and what the checks
// derive from it. Nothing in it refers to the Repo itself, so the cache
// below lets a Repo be collected.
type network struct {
	cfg      *config.Config
	decl     *declarations // nil without a Bulwark configuration
	cluster  *tiered.Cluster
	loadErrs []*load.Error
	rbac     []Object

	pods     []*pod
	podsIn   map[string][]*pod
	nsLabels map[string]labels.Set // with the labels Kubernetes and Calico add
	nsObj    map[string]Object
	nsK8s    map[string]corev1.Namespace
	owner    map[string]string // tenant namespace → tenant
	all      []string          // every namespace known, sorted

	gnpOnce sync.Once
	gnps    map[string][]int // namespace → GlobalNetworkPolicies (index in cluster.Calico) it is selected by; nil: unknown
	admins  []labels.Selector

	worldOnce [2]sync.Once
	worlds    [2]*world

	mu      sync.Mutex
	errs    []string                   // simulations that failed
	podKeys map[string]map[*pod]string // by scope.podSig
}

// pod is one pod of the simulator's cluster (a workload stands for its
// replicas), or a synthetic one the checks add.
type pod struct {
	ns, name string
	k8s      corev1.Pod
	obj      *Object // the manifest; nil for a synthetic pod
}

func (p *pod) ref() string { return p.ns + "/" + p.name }

func (p *pod) endpoint() netpol.Endpoint { return netpol.PodEndpoint(p.ns, p.name) }

// object names the workload for a finding.
func (p *pod) object() string {
	if p.obj == nil {
		return objectName("Pod", p.ns, p.name)
	}
	return p.obj.Ref()
}

// networkOf returns r's network, building it on the first call: the four
// checks share one simulation.
func networkOf(r *Repo) *network {
	r.networkOnce.Do(func() { r.network = newNetwork(r) })
	return r.network
}

func newNetwork(r *Repo) *network {
	objs := make([]manifest.Object, len(r.Objects))
	for i, o := range r.Objects {
		objs[i] = o.Object
	}
	c, errs := load.Tiered(objs)
	n := &network{cfg: r.Config, cluster: c, podsIn: map[string][]*pod{}, nsLabels: map[string]labels.Set{}, podKeys: map[string]map[*pod]string{},
		nsObj: map[string]Object{}, nsK8s: map[string]corev1.Namespace{}}
	failed := map[string]bool{}
	for _, err := range errs {
		var le *load.Error
		if errors.As(err, &le) {
			n.loadErrs = append(n.loadErrs, le)
			failed[fmt.Sprintf("%s:%d", le.Object.File, le.Object.Line)] = true
		}
	}
	n.index(r, failed)
	n.tenancy(r)
	if r.Config != nil {
		n.decl = newDeclarations(r.Config)
	}
	return n
}

// index maps the cluster's pods and namespaces back to their manifests.
func (n *network) index(r *Repo, failed map[string]bool) {
	byRef := map[string]*Object{}
	for i := range r.Objects {
		o := &r.Objects[i]
		switch {
		case failed[fmt.Sprintf("%s:%d", o.File, o.Line)]:
		case o.Kind == "Namespace":
			if _, dup := n.nsObj[o.Object.Name]; !dup {
				n.nsObj[o.Object.Name] = *o
			}
		case podSpec(*o) != nil:
			if key := namespaceOf(*o) + "/" + o.Object.Name; byRef[key] == nil {
				byRef[key] = o
			}
		case slices.Contains(rbacKinds, o.Kind):
			n.rbac = append(n.rbac, *o)
		}
	}
	for _, ns := range n.cluster.Namespaces {
		n.nsK8s[ns.Name] = ns
		n.nsLabels[ns.Name] = namespaceLabels(ns.Name, ns.Labels)
	}
	for _, k := range n.cluster.Pods {
		p := &pod{ns: cmp.Or(k.Namespace, "default"), name: k.Name, k8s: k}
		p.obj = byRef[p.ref()]
		n.pods = append(n.pods, p)
		n.podsIn[p.ns] = append(n.podsIn[p.ns], p)
		if n.nsLabels[p.ns] == nil {
			n.nsLabels[p.ns] = namespaceLabels(p.ns, nil)
		}
	}
}

// namespaceLabels are a namespace's labels as selectors see them: the
// API server adds its name, Calico projectcalico.org/name.
func namespaceLabels(name string, declared map[string]string) labels.Set {
	set := labels.Set{}
	maps.Copy(set, declared)
	set["kubernetes.io/metadata.name"], set["projectcalico.org/name"] = name, name
	return set
}

// tenancy decides which namespaces are tenants' and whose: the registry
// and the bulwark.io/tenant label (expect.TenantsOf); without a
// configuration, every namespace INV-1 counts as a tenant's is its own
// tenant unless labelled.
func (n *network) tenancy(r *Repo) {
	var registry map[string][]string
	if r.Config != nil {
		registry = map[string][]string{}
		for t, e := range r.Config.Platform.Tenants {
			registry[t] = e.Namespaces
			for _, ns := range e.Namespaces {
				if n.nsLabels[ns] == nil {
					n.nsLabels[ns] = namespaceLabels(ns, nil)
				}
			}
		}
	}
	tenants, err := expect.TenantsOf(registry, &n.cluster.Cluster)
	if err != nil {
		n.fail(fmt.Errorf("tenants: %w; using the registry alone", err))
		tenants = expect.Tenants(registry)
	}
	n.owner = map[string]string{}
	for t, list := range tenants {
		for _, ns := range list {
			n.owner[ns] = t
		}
	}
	n.all = slices.Sorted(maps.Keys(n.nsLabels))
	if r.Config == nil {
		isTenant := r.tenantNamespaces()
		for _, ns := range n.all {
			if n.owner[ns] == "" && isTenant(ns) {
				n.owner[ns] = ns
			}
		}
	}
}

// tenantNamespaces are the namespaces the invariants protect, sorted.
func (n *network) tenantNamespaces() []string {
	var out []string
	for _, ns := range n.all {
		if n.owner[ns] != "" {
			out = append(out, ns)
		}
	}
	return out
}

// crossTenant reports whether a connection between namespaces a and b
// leaves a tenant: one side is a tenant's and the other is not the same
// tenant's.
func (n *network) crossTenant(a, b string) bool {
	ta, tb := n.owner[a], n.owner[b]
	return (ta != "" || tb != "") && ta != tb
}

// fail records a simulation that could not be run, to be reported rather
// than read as "denied".
func (n *network) fail(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.Contains(n.errs, err.Error()) {
		n.errs = append(n.errs, err.Error())
	}
}

func (n *network) failures(check string) []Finding {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Finding
	for _, e := range n.errs {
		out = append(out, Finding{Check: check, Severity: Warning, File: ".",
			Message:     "not simulated: " + e + "; the answers of this check may be incomplete",
			Remediation: "fix the objects named so the simulator can evaluate them"})
	}
	return out
}

// notSimulated reports every object the simulator refused: an answer that
// silently left out a policy (or a pod) would be believed.
func (n *network) notSimulated(check string) []Finding {
	var out []Finding
	for _, le := range n.loadErrs {
		msg := le.Err.Error()
		var me *manifest.Error
		if errors.As(le.Err, &me) {
			msg = me.Msg
		}
		what, fix := "not simulated", "fix the object so the simulator can read it"
		if le.Policy {
			what = "policy not simulated"
			fix = "the network verdicts ignore this policy: fix it, or express it in a kind the simulator evaluates (networking.k8s.io/v1 NetworkPolicy, projectcalico.org/v3, policy.networking.k8s.io/v1alpha1)"
		}
		o := Object{Object: le.Object}
		out = append(out, o.finding(check, Warning, what+": "+msg, fix))
	}
	return out
}

// Kinds each check cites as evidence.
var (
	rbacKinds      = []string{"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
	netPolicyKinds = []string{"NetworkPolicy", "GlobalNetworkPolicy", "Tier", "AdminNetworkPolicy",
		"BaselineAdminNetworkPolicy", "ClusterNetworkPolicy", "StagedNetworkPolicy", "StagedGlobalNetworkPolicy",
		"StagedKubernetesNetworkPolicy"}
)

// outcome completes a check's findings with the objects the simulator
// refused and the simulations that failed, and cites what it read.
func (n *network) outcome(r *Repo, check string, withRBAC bool, findings []Finding) Outcome {
	kinds := append(append([]string{"Namespace"}, workloadKinds...), netPolicyKinds...)
	if withRBAC {
		kinds = append(kinds, rbacKinds...)
	}
	out := append(n.notSimulated(check), findings...)
	return Outcome{Findings: append(out, n.failures(check)...), Evidence: r.evidence(kinds...)}
}

func (n *network) eachTenantNamespace(f func(ns string) []Finding) []Finding {
	var out []Finding
	for _, ns := range n.tenantNamespaces() {
		out = append(out, f(ns)...)
	}
	return out
}

// nsFinding locates a finding about a namespace: its manifest, else the
// tenant registry's entry, else its first workload.
func (n *network) nsFinding(check string, sev Severity, ns, msg, fix string) Finding {
	if o, ok := n.nsObj[ns]; ok {
		return o.finding(check, sev, msg, fix)
	}
	f := Finding{Check: check, Severity: sev, File: ".", Object: objectName("Namespace", "", ns), Message: msg, Remediation: fix}
	if n.cfg != nil {
		for t, e := range n.cfg.Platform.Tenants {
			if slices.Contains(e.Namespaces, ns) {
				f.File, f.Line = config.PlatformFile, n.cfg.Line(config.PlatformFile, "tenants."+t+".namespaces")
				return f
			}
		}
	}
	for _, p := range n.podsIn[ns] {
		if p.obj != nil {
			f.File, f.Line = p.obj.File, p.obj.Line
			break
		}
	}
	return f
}

func podFinding(check string, sev Severity, p *pod, msg, fix string) Finding {
	if p.obj != nil {
		return p.obj.finding(check, sev, msg, fix)
	}
	return Finding{Check: check, Severity: sev, File: ".", Object: p.object(), Message: msg, Remediation: fix}
}
