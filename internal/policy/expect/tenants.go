package expect

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// TenantLabel is the Namespace label that names the namespace's tenant.
const TenantLabel = "bulwark.io/tenant"

// Tenants maps each tenant to its namespaces.
type Tenants map[string][]string

// TenantsOf merges the tenant registry (tenant → namespaces, from
// platform.yaml; may be nil) with the TenantLabel of c's Namespace objects.
// A namespace the two give to different tenants is an error: an
// expectation about either tenant would be ambiguous.
func TenantsOf(registry map[string][]string, c *netpol.Cluster) (Tenants, error) {
	owner := map[string]string{} // namespace → tenant
	source := map[string]string{}
	var problems []string
	add := func(ns, tenant, from string) {
		if prev, ok := owner[ns]; ok && prev != tenant {
			problems = append(problems, fmt.Sprintf("namespace %s belongs to tenant %q (%s) and to tenant %q (%s)", ns, prev, source[ns], tenant, from))
			return
		}
		owner[ns], source[ns] = tenant, from
	}
	for _, t := range slices.Sorted(maps.Keys(registry)) {
		for _, ns := range registry[t] {
			add(ns, t, "tenant registry")
		}
	}
	for _, ns := range c.Namespaces {
		if t := ns.Labels[TenantLabel]; t != "" {
			add(ns.Name, t, "label "+TenantLabel)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("tenants: %s", strings.Join(problems, "; "))
	}
	out := Tenants{}
	for ns, t := range owner {
		out[t] = append(out[t], ns)
	}
	for _, list := range out {
		sort.Strings(list)
	}
	return out, nil
}

// namespaces returns the namespaces s names, or an error when it names
// none the tenants know.
func (t Tenants) namespaces(s Selector) ([]string, error) {
	switch s.Kind {
	case ByTenant:
		ns, ok := t[s.Value]
		if !ok {
			return nil, fmt.Errorf("%s: unknown tenant: not in the tenant registry (--config) nor on any namespace's %s label", s, TenantLabel)
		}
		return ns, nil
	case AllTenants:
		if len(t) == 0 {
			return nil, fmt.Errorf("%s: no tenants: give --config or label Namespace manifests with %s", s, TenantLabel)
		}
		var all []string
		for _, list := range t {
			all = append(all, list...)
		}
		sort.Strings(all)
		return all, nil
	case ByNamespace:
		return []string{s.Value}, nil
	}
	return nil, nil
}

// endpoints resolves s to the endpoints it names in c, sorted; naming no
// pod is an error.
func (t Tenants) endpoints(s Selector, c *netpol.Cluster) ([]netpol.Endpoint, error) {
	switch s.Kind {
	case ByExternalIP:
		return []netpol.Endpoint{netpol.ExternalEndpoint(s.IP)}, nil
	case ByPod:
		ns, name, _ := strings.Cut(s.Value, "/")
		for _, p := range c.Pods {
			if namespaceOf(p.Namespace) == ns && p.Name == name {
				return []netpol.Endpoint{netpol.PodEndpoint(ns, name)}, nil
			}
		}
		return nil, fmt.Errorf("%s: no such pod or workload in the manifests", s)
	}
	namespaces, err := t.namespaces(s)
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, ns := range namespaces {
		in[ns] = true
	}
	var out []netpol.Endpoint
	for _, p := range c.Pods {
		if ns := namespaceOf(p.Namespace); in[ns] {
			out = append(out, netpol.PodEndpoint(ns, p.Name))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no pods or workloads in namespaces %s", s, strings.Join(namespaces, ", "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// namespaceOf applies the model's default namespace.
func namespaceOf(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
