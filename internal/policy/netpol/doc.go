// Package netpol is Bulwark's exact model of Kubernetes NetworkPolicy
// (networking.k8s.io/v1): given namespaces, pods and policies it decides
// whether one endpoint may open a connection to another on a port, and
// explains which policy and rule decided. It is the oracle behind
// `bulwark policy simulate` and `bulwark policy test`; CNI-specific policy
// kinds (Calico tiers, AdminNetworkPolicy) are layered on top elsewhere.
//
// The semantics follow the Kubernetes documentation and API reference:
//
//   - https://kubernetes.io/docs/concepts/services-networking/network-policies/
//   - https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
//
// # Isolation
//
// A pod is isolated for ingress (egress) iff at least one NetworkPolicy in its
// namespace selects it with spec.podSelector and lists Ingress (Egress) in
// spec.policyTypes ("The two sorts of pod isolation"). A pod that is not
// isolated for a direction allows everything in that direction. Policies are
// additive: traffic is allowed in a direction iff some rule of some policy
// selecting the pod for that direction allows it; nothing ever denies
// explicitly. A connection needs both sides: the source's egress and the
// destination's ingress must each allow it.
//
// When spec.policyTypes is empty it is defaulted the way the API server
// does: Ingress always, Egress iff spec.egress has at least one rule (API
// reference, NetworkPolicySpec.policyTypes).
//
// # Selectors
//
// Selectors are converted with metav1.LabelSelectorAsSelector, so
// matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) behave
// exactly as in the API server. An empty spec.podSelector selects every pod
// of the policy's namespace. In a peer:
//
//   - podSelector alone selects pods in the policy's own namespace;
//   - namespaceSelector alone selects all pods of matching namespaces, and an
//     empty namespaceSelector matches every namespace;
//   - both in one peer select pods matching podSelector in namespaces
//     matching namespaceSelector (AND); separate peers are ORed, and so are
//     separate rules and separate policies;
//   - ipBlock selects addresses in cidr but not in any except entry.
//
// Every namespace carries the immutable label kubernetes.io/metadata.name set
// by the API server; the model adds it even if a Namespace object omits it,
// and a pod whose namespace has no Namespace object lives in an implicit
// namespace carrying only that label. Objects without a namespace are placed
// in "default", as kubectl would.
//
// # Rules
//
// An absent or empty from/to list matches all sources/destinations
// (including addresses outside the cluster); an absent or empty ports list
// matches all ports; so the rule {} allows everything. A present but empty
// ingress/egress list has no rules and therefore allows nothing.
//
// A port entry matches by protocol (TCP when absent; TCP, UDP and SCTP are
// distinct) and then by: any port when port is absent; a number, or the
// range port..endPort when endPort is set; or a name, which matches only a
// destination pod that declares a container port with that name and protocol
// whose number is the one being connected to. For egress the name is
// resolved on the destination pod; a named port never matches an address
// outside the cluster.
//
// # ipBlock and pod addresses
//
// The documentation says ipBlock is meant for cluster-external addresses and
// that whether it applies to pod IPs is implementation-defined ("Behavior of
// to and from selectors"). By default this model matches pods only with
// pod/namespace selectors and never with ipBlock; set
// Cluster.IPBlockMatchesPodIPs to also match a pod when any of its IPs is in
// the block. An Endpoint given as an address that belongs to a known pod is
// rejected: name the pod instead, so every answer is unambiguous.
//
// # Self traffic
//
// A pod may always reach itself; both decisions report ReasonSelf. Upstream
// leaves loopback traffic unspecified (kubernetes/kubernetes#95879: CNIs
// differ) and its e2e suite ignores it; Bulwark's simulator fixes it as
// allowed so that a truth table never depends on the CNI.
//
// # Explanations
//
// Policies are evaluated in namespace/name order and rules in list order, so
// the policy and rule index reported for an allowed decision is the first
// that allows. A denied decision names the side that was isolated and lists
// every policy that selected the pod for that direction.
//
// Not modelled: hostNetwork pods, Services and NAT, node-local traffic, and
// pods' readiness. Traffic between two external addresses is out of scope.
package netpol
