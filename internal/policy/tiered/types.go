package tiered

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The manifests' shapes. This module does not depend on Calico's or the
// network-policy API's Go types; these structs carry the upstream JSON
// field names for the fields the simulator evaluates. A decoder that
// rejects unknown fields therefore refuses every field not modelled here
// (serviceAccounts, ICMP, HTTP matches, nodes and domainNames peers...).

// Tier is a projectcalico.org/v3 Tier.
type Tier struct {
	Name string
	Spec TierSpec
}

// TierSpec is a Tier's spec. A nil Order sorts last; DefaultAction is
// Deny (the default) or Pass.
type TierSpec struct {
	Order         *float64 `json:"order,omitempty"`
	DefaultAction string   `json:"defaultAction,omitempty"`
}

// CalicoPolicy is a projectcalico.org/v3 NetworkPolicy (Global false, in
// Namespace) or GlobalNetworkPolicy.
type CalicoPolicy struct {
	Global          bool
	Namespace, Name string
	Spec            CalicoSpec
}

// CalicoSpec is the spec of both Calico policy kinds; NamespaceSelector is
// only valid in a GlobalNetworkPolicy.
type CalicoSpec struct {
	Tier              string       `json:"tier,omitempty"`
	Order             *float64     `json:"order,omitempty"`
	Selector          string       `json:"selector,omitempty"`
	NamespaceSelector string       `json:"namespaceSelector,omitempty"`
	Types             []string     `json:"types,omitempty"`
	Ingress           []CalicoRule `json:"ingress,omitempty"`
	Egress            []CalicoRule `json:"egress,omitempty"`
}

// CalicoRule is one rule: Allow, Deny, Pass or Log.
type CalicoRule struct {
	Action      string          `json:"action"`
	Metadata    *CalicoRuleMeta `json:"metadata,omitempty"`
	Protocol    string          `json:"protocol,omitempty"`
	NotProtocol string          `json:"notProtocol,omitempty"`
	Source      CalicoEntity    `json:"source,omitzero"`
	Destination CalicoEntity    `json:"destination,omitzero"`
}

// CalicoRuleMeta carries a rule's annotations (Bulwark names its rules
// with the bulwark/rule annotation).
type CalicoRuleMeta struct {
	Annotations map[string]string `json:"annotations,omitempty"`
}

// CalicoEntity is a rule's source or destination. Ports are numbers,
// "first:last" ranges or named ports.
type CalicoEntity struct {
	Nets              []string             `json:"nets,omitempty"`
	NotNets           []string             `json:"notNets,omitempty"`
	Selector          string               `json:"selector,omitempty"`
	NotSelector       string               `json:"notSelector,omitempty"`
	NamespaceSelector string               `json:"namespaceSelector,omitempty"`
	Ports             []intstr.IntOrString `json:"ports,omitempty"`
	NotPorts          []intstr.IntOrString `json:"notPorts,omitempty"`
}

// AdminPolicy is a policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy,
// or (Baseline) the BaselineAdminNetworkPolicy.
type AdminPolicy struct {
	Baseline bool
	Name     string
	Spec     AdminSpec
}

// AdminSpec is the spec of both kinds; Priority (0-1000, lower first) is
// required for AdminNetworkPolicy and absent for the baseline.
type AdminSpec struct {
	Priority *int32       `json:"priority,omitempty"`
	Subject  AdminSubject `json:"subject"`
	Ingress  []AdminRule  `json:"ingress,omitempty"`
	Egress   []AdminRule  `json:"egress,omitempty"`
}

// AdminSubject selects the pods a policy applies to: exactly one field.
type AdminSubject struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *AdminPods            `json:"pods,omitempty"`
}

// AdminPods selects pods by namespace and pod labels (both must match).
type AdminPods struct {
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`
	PodSelector       metav1.LabelSelector `json:"podSelector"`
}

// AdminRule is an ingress rule (From) or an egress rule (To).
type AdminRule struct {
	Name   string      `json:"name,omitempty"`
	Action string      `json:"action"`
	From   []AdminPeer `json:"from,omitempty"`
	To     []AdminPeer `json:"to,omitempty"`
	Ports  []AdminPort `json:"ports,omitempty"`
}

// AdminPeer is exactly one of namespaces, pods or (egress) networks.
type AdminPeer struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *AdminPods            `json:"pods,omitempty"`
	Networks   []string              `json:"networks,omitempty"`
}

// AdminPort is exactly one of its fields.
type AdminPort struct {
	PortNumber *AdminPortNumber `json:"portNumber,omitempty"`
	PortRange  *AdminPortRange  `json:"portRange,omitempty"`
	NamedPort  *string          `json:"namedPort,omitempty"`
}

// AdminPortNumber is one port; Protocol defaults to TCP.
type AdminPortNumber struct {
	Protocol string `json:"protocol,omitempty"`
	Port     int32  `json:"port"`
}

// AdminPortRange is start..end inclusive; Protocol defaults to TCP.
type AdminPortRange struct {
	Protocol string `json:"protocol,omitempty"`
	Start    int32  `json:"start"`
	End      int32  `json:"end"`
}
