package compile

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

func TestRBACGolden(t *testing.T) {
	files := compileFlavor(t, RBAC)
	checkGolden(t, files, "rbac", "rbac/billing.yaml", "rbac/platform.yaml", "rbac/shop.yaml")
}

// TestRBACScope: tenants get namespaced rights on NetworkPolicies in their
// own namespaces and nothing on any guardrail kind; the platform group
// gets every guardrail kind.
func TestRBACScope(t *testing.T) {
	files := compileFlavor(t, RBAC)
	owned := map[string][]string{"billing": {"billing", "billing-jobs"}, "shop": {"shop"}}
	for tenant, namespaces := range owned {
		var roles []string
		for _, doc := range strings.Split(string(files["rbac/"+tenant+".yaml"]), "\n---\n")[1:] {
			var o struct {
				Kind     string
				Metadata struct{ Name, Namespace string }
				Rules    []rbacv1.PolicyRule
				Subjects []rbacv1.Subject
			}
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatal(err)
			}
			if o.Kind != "Role" && o.Kind != "RoleBinding" {
				t.Errorf("%s: a %s; tenants get namespaced rights only", tenant, o.Kind)
			}
			if o.Kind == "Role" {
				roles = append(roles, o.Metadata.Namespace)
			}
			for _, r := range o.Rules {
				if strings.Join(r.APIGroups, ",") != "networking.k8s.io" || strings.Join(r.Resources, ",") != "networkpolicies" {
					t.Errorf("%s: rule on %v %v; want networking.k8s.io networkpolicies only", tenant, r.APIGroups, r.Resources)
				}
			}
			for _, s := range o.Subjects {
				if s.Kind != "Group" || s.Name != TenantGroupPrefix+tenant {
					t.Errorf("%s: subject %s %s", tenant, s.Kind, s.Name)
				}
			}
		}
		if strings.Join(roles, " ") != strings.Join(namespaces, " ") {
			t.Errorf("%s: roles in %v, want %v", tenant, roles, namespaces)
		}
	}
	platform := string(files["rbac/platform.yaml"])
	for _, kind := range []string{"tiers", "globalnetworkpolicies", "adminnetworkpolicies", "baselineadminnetworkpolicies", "clusternetworkpolicies"} {
		if !strings.Contains(platform, "- "+kind+"\n") {
			t.Errorf("the platform ClusterRole lacks %s", kind)
		}
	}
	if strings.Contains(platform, TenantGroupPrefix) {
		t.Errorf("a tenant group is bound cluster-wide:\n%s", platform)
	}
}
