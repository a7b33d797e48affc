package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/policy/compile"
)

// INV-8: guardrails a tenant cannot override.

// overridable simulates the hostile world: every tenant namespace's
// NetworkPolicies replaced by one allowing everything. What the policies
// still deny there, the guardrails deny; what they allow, a tenant can
// open.
func (n *network) overridable(check string) []Finding {
	w := n.world(true)
	var out []Finding
	hint := ""
	if !n.cluster.Layered() {
		hint = "; no guardrail layer: only NetworkPolicies, which tenants may edit; use bulwark policy compile --flavor calico or adminnetworkpolicy"
	}
	fix := "add guardrails that decide before tenant NetworkPolicies (Calico platform tier or AdminNetworkPolicy, as bulwark policy compile --flavor calico or adminnetworkpolicy writes)"
	for _, ns := range n.tenantNamespaces() {
		var msgs []string
		if n.decl != nil && len(n.decl.forbidden) > 0 {
			msgs = append(msgs, n.forbiddenOpen(w, ns)...)
		}
		msgs = append(msgs, n.crossTenantOpen(w, ns)...)
		if len(msgs) > 0 {
			out = append(out, n.nsFinding(check, Error, ns, fmt.Sprintf(
				"a NetworkPolicy tenant %s writes in namespace %s could open what the platform forbids: %s%s",
				n.owner[ns], ns, strings.Join(msgs, "; "), hint), fix))
		}
	}
	return out
}

func (n *network) forbiddenOpen(w *world, ns string) []string {
	keep := func(a addrRange) bool { return slices.ContainsFunc(n.decl.forbidden, a.within) }
	g := w.grid(ns, egress, "inv8", n.decl.forbidden, nil, keep)
	var msgs []string
	for si := range g.t.subjects {
		for _, r := range g.reaches(si, nil) {
			msgs = append(msgs, fmt.Sprintf("egress from %s to the forbidden %s (%s)", pods(g.t.subjects[si].members), r, g.explainExternal(n, si, r)))
		}
	}
	return msgs
}

// crossTenantOpen describes the undeclared paths between tenants into ns
// that the hostile world allows.
func (n *network) crossTenantOpen(w *world, ns string) []string {
	flows := n.decl.undeclared(n, w.flows(ns))
	if len(flows) == 0 {
		return nil
	}
	f := flows[0]
	why := n.explain(w.scope(ns, ingress), f.srcs[0].endpoint(), f.dsts[0].endpoint(), []*pod{f.srcs[0], f.dsts[0]}, f.ports[0].port())
	msg := fmt.Sprintf("%s (%s)", f.describe(), why)
	if len(flows) > 1 {
		msg += fmt.Sprintf(", and %d more undeclared paths from other tenants", len(flows)-1)
	}
	return []string{msg}
}

// rbacFindings reports bindings that give tenants write access to the
// guardrail kinds, or to NetworkPolicies outside their own namespaces.
// Kubernetes RBAC semantics: a Role, or a ClusterRole bound by a
// RoleBinding, grants only namespaced resources of the binding's
// namespace; a ClusterRoleBinding grants everywhere. ClusterRoles built
// by aggregation (aggregationRule) are read by their own rules only: the
// aggregated rules are computed by the API server and are not in Git.
func (n *network) rbacFindings(check string) []Finding {
	roles := map[string][]rbacRule{}
	for _, o := range n.rbac {
		if o.Kind == "Role" || o.Kind == "ClusterRole" {
			roles[roleKey(o.Kind, namespaceOf(o), o.Object.Name)] = rbacRules(o)
		}
	}
	var out []Finding
	for _, b := range n.rbac {
		if b.Kind != "RoleBinding" && b.Kind != "ClusterRoleBinding" {
			continue
		}
		out = append(out, n.checkBinding(check, b, roles)...)
	}
	return out
}

// roleKey names a Role in its namespace or a ClusterRole.
func roleKey(kind, ns, name string) string {
	if kind == "ClusterRole" {
		ns = ""
	}
	return kind + " " + ns + "/" + name
}

type rbacRule struct {
	groups, resources, verbs, names []string
}

func rbacRules(o Object) []rbacRule {
	var out []rbacRule
	for _, r := range list(o.Fields, "rules") {
		out = append(out, rbacRule{strs(r, "apiGroups"), strs(r, "resources"), strs(r, "verbs"), strs(r, "resourceNames")})
	}
	return out
}

func strs(v any, key string) []string {
	var out []string
	for _, x := range list(v, key) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// builtinRoles are ClusterRoles every cluster has, by what they grant
// here: cluster-admin everything, admin and edit NetworkPolicies, view
// nothing to write.
var builtinRoles = map[string][]rbacRule{
	"view":          {},
	"cluster-admin": {{groups: []string{"*"}, resources: []string{"*"}, verbs: []string{"*"}}},
	"admin":         {{groups: []string{"networking.k8s.io"}, resources: []string{"networkpolicies"}, verbs: []string{"create", "delete", "deletecollection", "patch", "update"}}},
	"edit":          {{groups: []string{"networking.k8s.io"}, resources: []string{"networkpolicies"}, verbs: []string{"create", "delete", "deletecollection", "patch", "update"}}},
}

// guarded are the kinds a tenant must not write: the guardrails.
// Namespaced ones are writable through a RoleBinding too.
var guarded = []struct {
	group, resource string
	namespaced      bool
}{
	{"projectcalico.org", "tiers", false},
	{"projectcalico.org", "globalnetworkpolicies", false},
	{"projectcalico.org", "tier.globalnetworkpolicies", false},
	{"projectcalico.org", "networkpolicies", true},
	{"projectcalico.org", "tier.networkpolicies", true},
	{"crd.projectcalico.org", "tiers", false},
	{"crd.projectcalico.org", "globalnetworkpolicies", false},
	{"crd.projectcalico.org", "networkpolicies", true},
	{"policy.networking.k8s.io", "adminnetworkpolicies", false},
	{"policy.networking.k8s.io", "baselineadminnetworkpolicies", false},
	{"policy.networking.k8s.io", "clusternetworkpolicies", false},
	{"networking.k8s.io", "networkpolicies", true}, // only outside the tenant's namespaces
}

var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection", "*"}

func (n *network) checkBinding(check string, b Object, roles map[string][]rbacRule) []Finding {
	kind, name := str(b.Fields, "roleRef", "kind"), str(b.Fields, "roleRef", "name")
	ns := ""
	if b.Kind == "RoleBinding" {
		ns = namespaceOf(b)
	}
	rules, ok := roles[roleKey(kind, ns, name)]
	if !ok && kind == "ClusterRole" {
		rules, ok = builtinRoles[name]
	}
	var out []Finding
	for i, s := range list(b.Fields, "subjects") {
		who, tenants := n.tenantSubject(s, ns)
		if who == "" {
			continue
		}
		subject := fmt.Sprintf("subjects[%d]", i)
		if !ok {
			out = append(out, b.finding(check, Warning, fmt.Sprintf("binds %s to %s %s, which is not in the repository: what it grants cannot be checked", who, kind, name),
				"commit the role, or bind tenants only to the Roles bulwark policy compile writes under rbac/").at(subject))
			continue
		}
		if grant, what := guardrailGrant(rules, ns, tenants); grant != "" {
			out = append(out, b.finding(check, Error, fmt.Sprintf("binds %s to %s %s, which grants %s: %s", who, kind, name, grant, what),
				"bind tenants only to Roles over networking.k8s.io networkpolicies in their own namespaces (bulwark policy compile writes them under rbac/)").at(subject))
		}
	}
	return out
}

// tenantSubject describes s when it is, or includes, a tenant, with the
// tenants' namespaces; every tenant when it names them all.
func (n *network) tenantSubject(s any, bindingNS string) (string, func(string) bool) {
	kind, name := str(s, "kind"), str(s, "name")
	every := func(string) bool { return false } // no namespace is every tenant's own
	ownedBy := func(t string) func(string) bool { return func(ns string) bool { return n.owner[ns] == t } }
	switch kind {
	case "Group":
		if t, ok := strings.CutPrefix(name, compile.TenantGroupPrefix); ok {
			return "group " + name, ownedBy(t)
		}
		if name == "system:authenticated" || name == "system:serviceaccounts" {
			return "group " + name + " (every tenant among them)", every
		}
		if ns, ok := strings.CutPrefix(name, "system:serviceaccounts:"); ok && n.owner[ns] != "" {
			return "group " + name, ownedBy(n.owner[ns])
		}
	case "ServiceAccount":
		ns := cmp.Or(str(s, "namespace"), bindingNS)
		if n.owner[ns] != "" {
			return "service account " + ns + "/" + name, ownedBy(n.owner[ns])
		}
	case "User":
		if rest, ok := strings.CutPrefix(name, "system:serviceaccount:"); ok {
			if ns, _, _ := strings.Cut(rest, ":"); n.owner[ns] != "" {
				return "user " + name, ownedBy(n.owner[ns])
			}
		}
	}
	return "", nil
}

// guardrailGrant describes the first write a rule grants on a guarded
// kind, in the binding's namespace ns ("" for cluster-wide), and what it
// lets a tenant do; own tells the subject's own namespaces, whose
// NetworkPolicies it may write.
func guardrailGrant(rules []rbacRule, ns string, own func(string) bool) (grant, what string) {
	for i, r := range rules {
		verbs := intersect(r.verbs, writeVerbs)
		if len(verbs) == 0 {
			continue
		}
		for _, g := range guarded {
			if ns != "" && !g.namespaced {
				continue // a RoleBinding grants namespaced resources only
			}
			if !matchesRBAC(r.groups, g.group) || !matchesRBAC(r.resources, g.resource) {
				continue
			}
			if g.group == "networking.k8s.io" && ns != "" && own(ns) {
				continue // its own NetworkPolicies are the tenant's to write
			}
			if g.group == "projectcalico.org" && g.namespaced && defaultTierOnly(r.names) {
				continue // policies of the default tier decide after the guardrails
			}
			where := "in every namespace"
			if ns != "" {
				where = "in namespace " + ns
			}
			what = "tenants could edit the platform's guardrails"
			if g.group == "networking.k8s.io" {
				what = "a tenant could edit the NetworkPolicies of a namespace not its own"
			}
			return fmt.Sprintf("%s on %s.%s %s (rule %d)", strings.Join(verbs, ", "), g.resource, g.group, where, i), what
		}
	}
	return "", ""
}

func intersect(verbs, want []string) []string {
	var out []string
	for _, v := range verbs {
		if slices.Contains(want, v) {
			out = append(out, v)
		}
	}
	return out
}

func matchesRBAC(list []string, want string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, want)
}

// defaultTierOnly reports whether resourceNames limit Calico's tiered
// policy permissions to the default tier ("default.*").
func defaultTierOnly(names []string) bool {
	if len(names) == 0 {
		return false
	}
	for _, name := range names {
		if !strings.HasPrefix(name, "default.") {
			return false
		}
	}
	return true
}
