package audit

import (
	"fmt"
	"slices"
	"strings"
)

// gatewayAPIRoutes are the Gateway API route kinds: each attaches to
// Gateways through spec.parentRefs.
var gatewayAPIRoutes = []string{"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"}

// gatewayAPIBypasses is INV-1 for the Gateway API: a Gateway of another
// class is an entry point beside Bulwark's, and a route attached to one
// sends its traffic past the WAF. A route whose Gateway the repository
// does not hold cannot be judged and is a warning, never a silent pass.
func (c bypassCheck) gatewayAPIBypasses(r *Repo) []Finding {
	var out []Finding
	class := map[string]string{} // namespace/name → gatewayClassName
	for _, g := range r.Kind("Gateway") {
		if !strings.HasPrefix(g.APIVersion, "gateway.networking.k8s.io/") {
			continue
		}
		gc := str(g.Fields, "spec", "gatewayClassName")
		class[namespaceOf(g)+"/"+g.Object.Name] = gc
		if gc != c.class {
			out = append(out, g.finding(c.ID(), Error,
				fmt.Sprintf("Gateway of class %q, not Bulwark's %q: traffic it accepts bypasses the WAF", gc, c.class),
				fmt.Sprintf("set spec.gatewayClassName: %s, or remove the Gateway", c.class)).at("spec.gatewayClassName"))
		}
	}
	for _, o := range r.Objects {
		if !strings.HasPrefix(o.APIVersion, "gateway.networking.k8s.io/") || !slices.Contains(gatewayAPIRoutes, o.Kind) {
			continue
		}
		for i, ref := range list(o.Fields, "spec", "parentRefs") {
			if k := str(ref, "kind"); k != "" && k != "Gateway" {
				continue // a Service (GAMMA mesh routing) is east-west, not an entry point
			}
			ns := str(ref, "namespace")
			if ns == "" {
				ns = namespaceOf(o)
			}
			key := ns + "/" + str(ref, "name")
			at := fmt.Sprintf("spec.parentRefs[%d]", i)
			switch gc, ok := class[key]; {
			case !ok:
				out = append(out, o.finding(c.ID(), Warning,
					fmt.Sprintf("%s attaches to Gateway %s, which the repository does not hold: whether its traffic passes the WAF cannot be shown", o.Kind, key),
					"commit the Gateway with the routes that use it, of class "+c.class).at(at))
			case gc != c.class:
				out = append(out, o.finding(c.ID(), Error,
					fmt.Sprintf("%s attaches to Gateway %s of class %q: its traffic bypasses the WAF", o.Kind, key, gc),
					"attach the route to a Gateway of class "+c.class).at(at))
			}
		}
	}
	return out
}
