package compile

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/config"
)

func TestAdminNetworkPolicyGolden(t *testing.T) {
	files := compileFlavor(t, AdminNetworkPolicy)
	checkGolden(t, files, "adminnetworkpolicy", "adminnetworkpolicy/admin.yaml", "adminnetworkpolicy/baseline.yaml")
	checkKubernetesIncluded(t, files)
}

func TestClusterNetworkPolicyGolden(t *testing.T) {
	files := compileFlavor(t, ClusterNetworkPolicy)
	checkGolden(t, files, "clusternetworkpolicy", "clusternetworkpolicy/admin.yaml", "clusternetworkpolicy/baseline.yaml")
	checkKubernetesIncluded(t, files)
}

// TestANPStructure checks both API forms: admin policies in priority
// order, every tenant namespace under exactly one egress and one ingress
// deny, the forbidden CIDRs denied, the baseline denying every tenant
// namespace, and the actions each form knows.
func TestANPStructure(t *testing.T) {
	cfg, _ := config.LoadDir("testdata/repo")
	for _, tc := range []struct {
		dir      string
		compile  func(*config.Config) (map[string][]byte, error)
		baseline string
		actions  string
	}{
		{"adminnetworkpolicy", AdminNetworkPolicy, "BaselineAdminNetworkPolicy/default", "Allow Deny Pass"},
		{"clusternetworkpolicy", ClusterNetworkPolicy, "ClusterNetworkPolicy/bulwark-baseline", "Accept Deny Pass"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			files := compileFlavor(t, tc.compile)
			denied, covered, last := map[string]bool{}, map[string]int{}, -1
			for _, o := range docs(t, files[tc.dir+"/admin.yaml"]) {
				var spec anpSpec
				if err := json.Unmarshal(o.Spec, &spec); err != nil {
					t.Fatal(err)
				}
				if *spec.Priority < last {
					t.Errorf("%s: priority %d after %d", o.Metadata.Name, *spec.Priority, last)
				}
				last = *spec.Priority
				namespaces := spec.Subject.Namespaces.MatchExpressions[0].Values
				for dir, rules := range map[string][]anpRule{"ingress/": spec.Ingress, "egress/": spec.Egress} {
					for _, r := range rules {
						if !strings.Contains(tc.actions, r.Action) {
							t.Errorf("%s: rule %s has action %s, not one of %s", o.Metadata.Name, r.Name, r.Action, tc.actions)
						}
						if r.Action != "Deny" {
							continue
						}
						for _, ns := range namespaces {
							covered[dir+ns]++
						}
						for _, p := range r.To {
							for _, n := range p.Networks {
								denied[n] = true
							}
						}
					}
				}
			}
			for _, c := range cfg.Platform.Network.Forbidden {
				if !denied[c] {
					t.Errorf("forbidden %s is in no Deny rule", c)
				}
			}
			base := docs(t, files[tc.dir+"/baseline.yaml"])
			if len(base) != 1 || base[0].Kind+"/"+base[0].Metadata.Name != tc.baseline {
				t.Fatalf("baseline file holds %d objects, want only %s", len(base), tc.baseline)
			}
			var spec anpSpec
			_ = json.Unmarshal(base[0].Spec, &spec)
			baseNS := strings.Join(spec.Subject.Namespaces.MatchExpressions[0].Values, " ")
			for _, tn := range cfg.Platform.Tenants {
				for _, ns := range tn.Namespaces {
					for _, dir := range []string{"ingress/", "egress/"} {
						if covered[dir+ns] != 1 {
							t.Errorf("namespace %s: %d %sdeny guardrails, want 1", ns, covered[dir+ns], dir)
						}
					}
					if !strings.Contains(" "+baseNS+" ", " "+ns+" ") {
						t.Errorf("namespace %s is not under the baseline deny", ns)
					}
				}
			}
			if len(spec.Ingress) == 0 || spec.Ingress[0].Action != "Deny" || len(spec.Egress) == 0 {
				t.Errorf("baseline does not deny ingress and egress: %+v", spec)
			}
		})
	}
}

// TestClusterNetworkPolicyLimits: v1alpha2's 25 rules a direction are
// enforced with an error naming the policy; v1alpha1 takes 100.
func TestClusterNetworkPolicyLimits(t *testing.T) {
	cfg := &config.Config{
		Platform: config.Platform{Tenants: map[string]*config.Tenant{"p": {Namespaces: []string{"p"}}}},
		Networks: map[string]config.TenantNetwork{"p": {}},
	}
	decl := config.TenantNetwork{Services: []config.Service{{Name: "api", Labels: map[string]string{"app": "api"}, Ports: []int{80}}}}
	grant := config.ServiceGrant{Service: "api"}
	for i := 0; i < 30; i++ {
		c := fmt.Sprintf("c%02d", i)
		cfg.Platform.Tenants[c] = &config.Tenant{Namespaces: []string{c}}
		grant.Tenants = append(grant.Tenants, c)
	}
	decl.Grants = []config.ServiceGrant{grant}
	cfg.Networks["p"] = decl
	if _, err := AdminNetworkPolicy(cfg); err != nil {
		t.Errorf("v1alpha1: %v", err)
	}
	_, err := ClusterNetworkPolicy(cfg)
	if err == nil || !strings.Contains(err.Error(), "bulwark-isolate-p") || !strings.Contains(err.Error(), "25") {
		t.Errorf("v1alpha2: err = %v, want the 25-rule limit named for bulwark-isolate-p", err)
	}
}
