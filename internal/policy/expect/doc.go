// Package expect checks reachability expectations written in YAML against
// the network-policy model (package netpol, or package tiered with Calico tiers
// and AdminNetworkPolicies layered around it): "tenant shop cannot reach
// tenant billing", "no tenant reaches 169.254.169.254", "the gateway
// reaches shop/web on 8080". It is what `bulwark policy test` runs, so that
// a GitOps repository states its isolation promises next to its policies
// and CI proves them on every change (RFC 2.5.1: "cross-namespace probes
// fail by default").
//
// # Format
//
//	expectations:
//	  - name: "cross-namespace probes fail by default (RFC 2.5.1)"
//	    from: {namespace: probe}
//	    to:   {tenants: all}
//	    port: any
//	    expect: deny
//	  - name: "no tenant reaches the metadata address"
//	    from: {tenants: all}
//	    to:   {external: 169.254.169.254}
//	    port: 80/tcp
//	    expect: deny
//	  - name: "gateway reaches shop/web:8080"
//	    from: {pod: ingress-system/gateway}
//	    to:   {pod: shop/web}
//	    port: 8080/tcp
//	    expect: allow
//
// Every field is required and unknown or repeated keys are errors, each
// reported with the file and line. from and to each hold exactly one of:
//
//   - tenant: NAME — every pod of the tenant's namespaces;
//   - tenants: all — every pod of every tenant's namespaces;
//   - namespace: NS — every pod of the namespace;
//   - pod: NS/NAME — one pod (a workload counts as one pod named after it,
//     as in package load);
//   - external: IP — an address outside the cluster.
//
// port is PORT or PORT/PROTO (TCP, UDP or SCTP, any case; TCP when absent),
// or "any": every container port each destination pod declares, with its
// protocol. "any" needs pod destinations.
//
// expect is allow or deny, and quantifies over every pair of the two sets:
// allow holds when every pair is allowed, deny when every pair is denied.
// A pod paired with itself is left out (a pod always reaches itself), and
// an expectation with no pair left to check is an error, never a vacuous
// pass: a misspelt tenant must not make a promise true.
//
// # Tenants
//
// A tenant's namespaces come from two sources, and both count: the tenant
// registry of platform.yaml (tenants.NAME.namespaces, given to `bulwark
// policy test` with --config), and Namespace manifests labelled
// bulwark.io/tenant: NAME. A namespace the two sources give to different
// tenants is an error. A tenant named by neither is an error.
package expect
