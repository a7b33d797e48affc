package compile

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// Groups the RBAC manifests bind: what the cluster's authenticator must
// put in a tenant's and in the platform team's credentials.
const (
	TenantGroupPrefix = "bulwark:tenant:"
	PlatformGroup     = "bulwark:platform"
)

// Names of the RBAC objects.
const (
	tenantNetworkRole   = "bulwark-tenant-network"
	platformNetworkRole = "bulwark-platform-network"
)

// guardrailResources are the cluster-scoped kinds that hold guardrails, by
// API group. Calico's tier.* pseudo-resources are what its API server
// checks for policies in a tier.
var guardrailResources = []rbacv1.PolicyRule{
	{APIGroups: []string{"projectcalico.org"}, Resources: []string{"globalnetworkpolicies", "networkpolicies", "tier.globalnetworkpolicies", "tier.networkpolicies", "tiers"}},
	{APIGroups: []string{"policy.networking.k8s.io"}, Resources: []string{"adminnetworkpolicies", "baselineadminnetworkpolicies", "clusternetworkpolicies"}},
	{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}},
}

var manageVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// RBAC compiles who may change network policy (RFC §3.4, INV-8):
//
//   - per tenant, in each of its namespaces, a Role and RoleBinding that let
//     the group bulwark:tenant:<name> manage networking.k8s.io
//     NetworkPolicies there, and nothing else (rbac/<tenant>.yaml): tenant
//     policy is namespace-scoped;
//   - a ClusterRole and ClusterRoleBinding giving the group bulwark:platform
//     the guardrail kinds (Calico tiers and policies, AdminNetworkPolicy,
//     BaselineAdminNetworkPolicy, ClusterNetworkPolicy) and every
//     NetworkPolicy (rbac/platform.yaml). No tenant is bound to any
//     cluster-scoped policy kind.
//
// RBAC only adds rights and cannot exclude names from create or
// deletecollection, so a tenant can edit or delete the compiled bulwark-*
// NetworkPolicies in its own namespaces. The guardrail flavors are what
// make that harmless: the platform tier or the admin policies decide first
// and the baseline still denies, so a tenant can only loosen its own
// namespaces to the sources the guardrails pass; and the auditor reports
// the drift from Git (INV-12).
func RBAC(cfg *config.Config) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, t := range sortedKeys(cfg.Platform.Tenants) {
		var objs []any
		for _, ns := range sortedCopy(cfg.Platform.Tenants[t].Namespaces) {
			meta := metav1.ObjectMeta{Name: tenantNetworkRole, Namespace: ns, Labels: managedBy}
			objs = append(objs,
				rbacv1.Role{TypeMeta: rbacType("Role"), ObjectMeta: meta, Rules: []rbacv1.PolicyRule{
					{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: manageVerbs}}},
				rbacv1.RoleBinding{TypeMeta: rbacType("RoleBinding"), ObjectMeta: meta,
					Subjects: []rbacv1.Subject{groupSubject(TenantGroupPrefix + t)},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: tenantNetworkRole}})
		}
		if len(objs) == 0 {
			continue
		}
		data, err := renderObjects("", objs)
		if err != nil {
			return nil, err
		}
		files["rbac/"+t+".yaml"] = data
	}
	rules := make([]rbacv1.PolicyRule, len(guardrailResources))
	for i, r := range guardrailResources {
		r.Verbs = manageVerbs
		rules[i] = r
	}
	meta := metav1.ObjectMeta{Name: platformNetworkRole, Labels: managedBy}
	data, err := renderObjects("", []any{
		rbacv1.ClusterRole{TypeMeta: rbacType("ClusterRole"), ObjectMeta: meta, Rules: rules},
		rbacv1.ClusterRoleBinding{TypeMeta: rbacType("ClusterRoleBinding"), ObjectMeta: meta,
			Subjects: []rbacv1.Subject{groupSubject(PlatformGroup)},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: platformNetworkRole}},
	})
	if err != nil {
		return nil, err
	}
	files["rbac/platform.yaml"] = data
	return files, nil
}

func rbacType(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: kind}
}

func groupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}
