package netpol

import (
	"fmt"
	"net/netip"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Cluster is the input of the model: what exists, not what is running.
// Namespaces without a Namespace object are implicit (see the package doc).
type Cluster struct {
	Namespaces []corev1.Namespace
	Pods       []corev1.Pod
	Policies   []networkingv1.NetworkPolicy

	// IPBlockMatchesPodIPs makes ipBlock peers also match pods whose IPs
	// fall in the block. Kubernetes leaves this implementation-defined; the
	// default (false) matches pods only through pod and namespace selectors.
	IPBlockMatchesPodIPs bool
}

// Endpoint is one end of a connection: a pod named by namespace and name, or
// an address outside the cluster (IP set, Pod empty).
type Endpoint struct {
	Namespace string     `json:"namespace,omitempty"`
	Pod       string     `json:"pod,omitempty"`
	IP        netip.Addr `json:"ip,omitzero"`
}

// PodEndpoint names a pod.
func PodEndpoint(namespace, pod string) Endpoint { return Endpoint{Namespace: namespace, Pod: pod} }

// ExternalEndpoint names an address outside the cluster.
func ExternalEndpoint(ip netip.Addr) Endpoint { return Endpoint{IP: ip} }

// String renders "namespace/pod" or the address.
func (e Endpoint) String() string {
	if e.Pod != "" {
		return e.Namespace + "/" + e.Pod
	}
	return e.IP.String()
}

// Port is a destination port. Named ports are a property of policies, not of
// connections: a connection always targets a number, and a policy's named
// port is resolved against the destination pod. An empty Protocol means TCP.
type Port struct {
	Protocol corev1.Protocol `json:"protocol"`
	Port     int32           `json:"port"`
}

// String renders "TCP/80".
func (p Port) String() string { return string(p.protocol()) + "/" + strconv.Itoa(int(p.Port)) }

func (p Port) protocol() corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}

func (p Port) validate() error {
	if err := validProtocol(p.protocol()); err != nil {
		return err
	}
	if p.Port < 1 || p.Port > 65535 {
		return fmt.Errorf("port %d out of range 1-65535", p.Port)
	}
	return nil
}

func validProtocol(p corev1.Protocol) error {
	switch p {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	}
	return fmt.Errorf("unsupported protocol %q (want TCP, UDP or SCTP)", p)
}

// Verdict answers "can src reach dst on port": both the source's egress and
// the destination's ingress must allow the connection.
type Verdict struct {
	Allowed bool     `json:"allowed"`
	Egress  Decision `json:"egress"`
	Ingress Decision `json:"ingress"`
}

// Reason says why one side decided as it did.
type Reason string

// The reasons a Decision can carry.
const (
	// ReasonSelf: a pod always reaches itself.
	ReasonSelf Reason = "self"
	// ReasonExternal: this side is outside the cluster; no policy applies.
	ReasonExternal Reason = "outside the cluster"
	// ReasonNotIsolated: no policy selects the pod for this direction, so
	// everything is allowed (default allow).
	ReasonNotIsolated Reason = "no policy selects the pod"
	// ReasonRule: a rule allowed it; Decision.Policy and Decision.Rule name it.
	ReasonRule Reason = "allowed by rule"
	// ReasonNoRuleAllows: the pod is isolated and no rule of the selecting
	// policies allows the connection (default deny).
	ReasonNoRuleAllows Reason = "isolated and no rule allows"
)

// Decision is one direction's answer, with its explanation.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Reason  Reason `json:"reason"`
	// Policy ("namespace/name") and Rule (index in spec.ingress or
	// spec.egress) of the first rule that allowed; empty and -1 otherwise.
	Policy string `json:"policy,omitempty"`
	Rule   int    `json:"rule"`
	// Selecting lists, in order, the policies that select the pod for this
	// direction (those that make it isolated).
	Selecting []string `json:"selecting,omitempty"`
}

// String renders the decision in one line for --explain.
func (d Decision) String() string {
	verdict := "deny"
	if d.Allowed {
		verdict = "allow"
	}
	switch d.Reason {
	case ReasonRule:
		return fmt.Sprintf("%s: %s %s rule %d", verdict, d.Reason, d.Policy, d.Rule)
	case ReasonNoRuleAllows:
		return fmt.Sprintf("%s: %s (selected by %v)", verdict, d.Reason, d.Selecting)
	}
	return fmt.Sprintf("%s: %s", verdict, d.Reason)
}
