// Package tiered layers Calico's tiered policies and the network-policy
// API's AdminNetworkPolicy and BaselineAdminNetworkPolicy over netpol, the
// exact Kubernetes NetworkPolicy engine, so `bulwark policy simulate`
// answers for clusters whose platform guardrails are written in those
// kinds. netpol decides the Kubernetes NetworkPolicies; this package
// decides where in the evaluation order they sit.
//
// # Evaluation order
//
// Each direction (the source's egress, the destination's ingress) walks
// one ordered list of layers; the first that decides wins, and the
// connection needs both directions allowed. A pod may always reach itself
// and an address outside the cluster has no policies (as in netpol).
//
//  1. AdminNetworkPolicies selecting the pod, by ascending spec.priority
//     (ties by name: the API leaves them to the implementation), each
//     policy's rules in order. Allow and Deny decide; Pass skips every
//     remaining admin policy. Source: network-policy-api.sigs.k8s.io,
//     API reference, AdminNetworkPolicySpec.priority and the rule action
//     ("Pass: ... skip further AdminNetworkPolicy rules and defer to
//     NetworkPolicy").
//  2. Calico tiers by ascending spec.order (nil: last; ties by name). A tier
//     applies to the pod when one of its policies selects it for the
//     direction; policies in order by spec.order (omitted: "infinite",
//     last), then name. The first Allow or Deny rule decides, Pass jumps to
//     the next tier, Log goes on. A tier that applied and decided nothing
//     denies, unless its defaultAction is Pass. Source: docs.tigera.io,
//     reference/resources/tier ("How policy is evaluated") and
//     globalnetworkpolicy/networkpolicy (order, types).
//  3. The default tier (order 1,000,000) holds every Calico policy without
//     a tier and every Kubernetes NetworkPolicy, which Calico places at
//     order 1000 as knp.default.NAME: they form one entry in the tier at
//     that order, decided by netpol. A NetworkPolicy rule that allows
//     decides; selecting NetworkPolicies whose rules all miss fall through
//     to the rest of the tier, whose end denies (Kubernetes' implicit deny,
//     reported with netpol's explanation). Tie at order 1000 with a
//     Calico policy: broken by name against "knp.default".
//  4. The BaselineAdminNetworkPolicy, reached only when nothing above
//     decided: in particular only for a pod no NetworkPolicy isolates in
//     the direction ("rules ... applied to the selected pods if they are
//     not matched by any AdminNetworkPolicy or NetworkPolicy rules", API
//     reference). Its first matching rule decides.
//  5. Otherwise allow (Calico's Kubernetes profile; Kubernetes' default).
//
// Calico runs AdminNetworkPolicies as its own tier of order 1000, so on a
// real Calico cluster a Calico tier ordered below 1000 runs before them.
// This model puts them first, as the network-policy API specifies; Bulwark
// never compiles both guardrail flavors into one cluster.
//
// # Calico policies
//
// A NetworkPolicy's spec.selector (empty: all()) selects pods of its
// namespace; a GlobalNetworkPolicy's selects pods of every namespace its
// spec.namespaceSelector (empty: all) matches. spec.types defaults to
// Egress iff there are egress rules and Ingress iff there are ingress rules
// or no egress rules. Selectors use Calico's syntax: ==, != (also true when
// the label is absent), in {...}, not in {...} (true when absent), has(),
// contains, starts with, ends with, !, &&, ||, parentheses, all() and
// global() (non-namespaced endpoints, which this model has none of). Pods
// carry projectcalico.org/namespace and projectcalico.org/orchestrator=k8s;
// namespaces carry kubernetes.io/metadata.name and projectcalico.org/name.
//
// In a rule's source or destination: nets/notNets match the endpoint's
// address (a pod's status.podIPs; a pod without known IPs matches no net);
// selector/namespaceSelector match only pods, a selector without
// namespaceSelector in a namespaced policy only pods of its namespace;
// notSelector excludes pods; destination ports/notPorts are numbers,
// "first:last" or names resolved on the destination pod, under the rule's
// protocol (TCP, UDP, SCTP; notProtocol likewise). An empty entity matches
// everything, addresses outside the cluster included.
//
// # Admin policies
//
// Subjects and peers: namespaces (a label selector), pods (namespaceSelector
// AND podSelector), and for egress networks (CIDRs). networks match
// addresses outside the cluster, and pod IPs only with
// Cluster.IPBlockMatchesPodIPs, as ipBlock does in netpol. Ports:
// portNumber and portRange (protocol defaults to TCP), namedPort resolved
// on the destination pod.
//
// # Not evaluated (refused by the loader, never ignored)
//
// The v1alpha2 ClusterNetworkPolicy kind; Calico staged policies, network
// sets, host endpoints, serviceAccount and service matches, ICMP and HTTP
// matches, ipVersion, source ports; ANP nodes and domainNames peers.
package tiered
