package netpol

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Documentation the cases cite:
//
//	[NP]  https://kubernetes.io/docs/concepts/services-networking/network-policies/
//	[API] https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
//	[LS]  https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
//	[NS]  https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#automatic-labelling

// pol writes one NetworkPolicy document; spec is YAML indented by two spaces.
func pol(ns, name, spec string) string {
	return "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: " + ns + ", name: " + name + "}\nspec:\n" + spec + "\n"
}

const (
	denyIngressX = "  podSelector: {}\n  policyTypes: [Ingress]"
	denyEgressX  = "  podSelector: {}\n  policyTypes: [Egress]"
)

// ingressToA is a policy in x selecting pod=a with the given ingress rules.
func ingressToA(rules string) string {
	return pol("x", "to-a", "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n"+rules)
}

// egressFromA is a policy in x selecting pod=a with the given egress rules.
func egressFromA(rules string) string {
	return pol("x", "from-a", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress:\n"+rules)
}

type semanticsCase struct {
	name     string
	cite     string // the documentation the expectation follows
	policies string
	setup    func(*Cluster)
	src, dst string
	port     string
	want     bool
	// Optional checks of the explanation.
	egress, ingress Reason
	policy          string // deciding policy of the side that decided by rule
	rule            int
	selecting       []string // policies listed by the denying side
}

func TestSemantics(t *testing.T) {
	cases := []semanticsCase{
		// Isolation and policyTypes.
		{name: "no policy: default allow", cite: "[NP] The two sorts of pod isolation",
			src: "x/a", dst: "y/b", port: "TCP/80", want: true, egress: ReasonNotIsolated, ingress: ReasonNotIsolated},
		{name: "default-deny-ingress isolates every pod of the namespace", cite: "[NP] Default deny all ingress traffic",
			policies: pol("x", "deny", denyIngressX), src: "y/a", dst: "x/a", port: "TCP/80",
			want: false, egress: ReasonNotIsolated, ingress: ReasonNoRuleAllows, selecting: []string{"x/deny"}},
		{name: "default-deny-ingress leaves egress open", cite: "[NP] The two sorts of pod isolation",
			policies: pol("x", "deny", denyIngressX), src: "x/a", dst: "y/a", port: "TCP/80", want: true},
		{name: "policy in another namespace does not select", cite: "[API] podSelector selects pods in the policy's namespace",
			policies: pol("y", "deny", denyIngressX), src: "x/a", dst: "x/b", port: "TCP/80", want: true},
		{name: "podSelector selects only matching pods", cite: "[API] spec.podSelector",
			policies: pol("x", "deny-a", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]"),
			src:      "y/a", dst: "x/b", port: "TCP/80", want: true},
		{name: "policyTypes absent: Ingress always", cite: "[API] spec.policyTypes defaulting",
			policies: pol("x", "bare", "  podSelector: {}"), src: "y/a", dst: "x/a", port: "TCP/80",
			want: false, ingress: ReasonNoRuleAllows},
		{name: "policyTypes absent, no egress rules: egress not isolated", cite: "[API] spec.policyTypes defaulting",
			policies: pol("x", "bare", "  podSelector: {}"), src: "x/a", dst: "y/a", port: "TCP/80",
			want: true, egress: ReasonNotIsolated},
		{name: "policyTypes absent, egress rules: egress isolated", cite: "[API] spec.policyTypes defaulting",
			policies: pol("x", "eg", "  podSelector: {}\n  egress:\n  - to: [{podSelector: {matchLabels: {pod: b}}}]"),
			src:      "x/a", dst: "x/c", port: "TCP/80", want: false, egress: ReasonNoRuleAllows},
		{name: "policyTypes absent, egress rules: ingress isolated too", cite: "[API] spec.policyTypes defaulting",
			policies: pol("x", "eg", "  podSelector: {}\n  egress:\n  - to: [{podSelector: {matchLabels: {pod: b}}}]"),
			src:      "y/a", dst: "x/a", port: "TCP/80", want: false, ingress: ReasonNoRuleAllows},
		{name: "policyTypes [Egress] leaves ingress open", cite: "[NP] Default deny all egress traffic",
			policies: pol("x", "deny-eg", denyEgressX), src: "y/a", dst: "x/a", port: "TCP/80", want: true},
		{name: "policyTypes [Egress] with no rules denies egress", cite: "[NP] Default deny all egress traffic",
			policies: pol("x", "deny-eg", denyEgressX), src: "x/a", dst: "y/a", port: "TCP/80",
			want: false, egress: ReasonNoRuleAllows, ingress: ReasonNotIsolated},

		// Peers.
		{name: "peer podSelector alone: same namespace", cite: "[NP] Behavior of to and from selectors: podSelector",
			policies: ingressToA("  - from: [{podSelector: {matchLabels: {pod: b}}}]"), src: "x/b", dst: "x/a", port: "TCP/80",
			want: true, ingress: ReasonRule, policy: "x/to-a", rule: 0},
		{name: "peer podSelector alone: not other namespaces", cite: "[NP] Behavior of to and from selectors: podSelector",
			policies: ingressToA("  - from: [{podSelector: {matchLabels: {pod: b}}}]"), src: "y/b", dst: "x/a", port: "TCP/80", want: false},
		{name: "peer empty podSelector: all pods of the policy namespace", cite: "[API] NetworkPolicyPeer.podSelector",
			policies: ingressToA("  - from: [{podSelector: {}}]"), src: "x/c", dst: "x/a", port: "TCP/80", want: true},
		{name: "peer empty podSelector: not other namespaces", cite: "[API] NetworkPolicyPeer.podSelector",
			policies: ingressToA("  - from: [{podSelector: {}}]"), src: "y/c", dst: "x/a", port: "TCP/80", want: false},
		{name: "peer empty namespaceSelector: all namespaces", cite: "[API] NetworkPolicyPeer.namespaceSelector",
			policies: ingressToA("  - from: [{namespaceSelector: {}}]"), src: "z/c", dst: "x/a", port: "TCP/80", want: true},
		{name: "peer namespaceSelector by label: match", cite: "[NP] namespaceSelector",
			policies: ingressToA("  - from: [{namespaceSelector: {matchLabels: {team: blue}}}]"), src: "y/a", dst: "x/a", port: "TCP/80", want: true},
		{name: "peer namespaceSelector by label: no match", cite: "[NP] namespaceSelector",
			policies: ingressToA("  - from: [{namespaceSelector: {matchLabels: {team: blue}}}]"), src: "z/a", dst: "x/a", port: "TCP/80", want: false},
		{name: "peer namespaceSelector AND podSelector: both match", cite: "[NP] namespaceSelector and podSelector",
			policies: ingressToA("  - from: [{namespaceSelector: {matchLabels: {team: blue}}, podSelector: {matchLabels: {pod: b}}}]"),
			src:      "y/b", dst: "x/a", port: "TCP/80", want: true},
		{name: "peer namespaceSelector AND podSelector: pod does not match", cite: "[NP] namespaceSelector and podSelector",
			policies: ingressToA("  - from: [{namespaceSelector: {matchLabels: {team: blue}}, podSelector: {matchLabels: {pod: b}}}]"),
			src:      "y/a", dst: "x/a", port: "TCP/80", want: false},
		{name: "peer namespaceSelector AND podSelector: namespace does not match", cite: "[NP] namespaceSelector and podSelector",
			policies: ingressToA("  - from: [{namespaceSelector: {matchLabels: {team: blue}}, podSelector: {matchLabels: {pod: b}}}]"),
			src:      "x/b", dst: "x/a", port: "TCP/80", want: false},
		{name: "two peers are ORed: second peer matches", cite: "[NP] Behavior of to and from selectors",
			policies: ingressToA("  - from:\n    - namespaceSelector: {matchLabels: {team: blue}}\n    - podSelector: {matchLabels: {pod: b}}"),
			src:      "x/b", dst: "x/a", port: "TCP/80", want: true},
		{name: "two peers are ORed: neither matches", cite: "[NP] Behavior of to and from selectors",
			policies: ingressToA("  - from:\n    - namespaceSelector: {matchLabels: {team: blue}}\n    - podSelector: {matchLabels: {pod: b}}"),
			src:      "x/c", dst: "x/a", port: "TCP/80", want: false},
		{name: "rules are ORed and the first allowing rule is reported", cite: "[API] spec.ingress",
			policies: ingressToA("  - from: [{podSelector: {matchLabels: {pod: b}}}]\n  - from: [{podSelector: {matchLabels: {pod: c}}}]"),
			src:      "x/c", dst: "x/a", port: "TCP/80", want: true, ingress: ReasonRule, policy: "x/to-a", rule: 1},
		{name: "absent from: all sources, outside the cluster too", cite: "[API] NetworkPolicyIngressRule.from",
			policies: ingressToA("  - ports: [{port: 80}]"), src: "203.0.113.7", dst: "x/a", port: "TCP/80",
			want: true, egress: ReasonExternal, ingress: ReasonRule, policy: "x/to-a", rule: 0},
		{name: "empty rule {} allows everything", cite: "[NP] Allow all ingress traffic",
			policies: ingressToA("  - {}"), src: "z/c", dst: "x/a", port: "UDP/81", want: true, ingress: ReasonRule, policy: "x/to-a", rule: 0},
		{name: "ingress: [] allows nothing", cite: "[NP] Default deny all ingress traffic",
			policies: pol("x", "none", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: []"), src: "x/b", dst: "x/a", port: "TCP/80", want: false},

		// Label selector operators.
		{name: "matchExpressions In", cite: "[LS] In",
			policies: ingressToA("  - from: [{podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]}}]"),
			src:      "x/c", dst: "x/a", port: "TCP/80", want: true},
		{name: "matchExpressions NotIn", cite: "[LS] NotIn",
			policies: ingressToA("  - from: [{podSelector: {matchExpressions: [{key: pod, operator: NotIn, values: [b, c]}]}}]"),
			src:      "x/c", dst: "x/a", port: "TCP/80", want: false},
		{name: "matchExpressions Exists", cite: "[LS] Exists",
			policies: ingressToA("  - from: [{podSelector: {matchExpressions: [{key: role, operator: Exists}]}}]"),
			src:      "x/b", dst: "x/a", port: "TCP/80", want: true},
		{name: "matchExpressions DoesNotExist: pod with the key", cite: "[LS] DoesNotExist",
			policies: ingressToA("  - from: [{podSelector: {matchExpressions: [{key: role, operator: DoesNotExist}]}}]"),
			src:      "x/b", dst: "x/a", port: "TCP/80", want: false},
		{name: "matchExpressions DoesNotExist: pod without the key", cite: "[LS] DoesNotExist",
			policies: ingressToA("  - from: [{podSelector: {matchExpressions: [{key: role, operator: DoesNotExist}]}}]"),
			src:      "x/c", dst: "x/a", port: "TCP/80", want: true},
		{name: "namespace NotIn matches a namespace without the key", cite: "[LS] NotIn",
			policies: ingressToA("  - from: [{namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [red]}]}}]"),
			src:      "z/a", dst: "x/a", port: "TCP/80", want: true},
		{name: "matchLabels and matchExpressions are ANDed", cite: "[LS] matchLabels and matchExpressions",
			policies: ingressToA("  - from: [{podSelector: {matchLabels: {pod: b}, matchExpressions: [{key: role, operator: DoesNotExist}]}}]"),
			src:      "x/b", dst: "x/a", port: "TCP/80", want: false},
		{name: "automatic kubernetes.io/metadata.name label", cite: "[NS] Automatic labelling",
			policies: ingressToA("  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}}]"),
			src:      "z/a", dst: "x/a", port: "TCP/80", want: true},
		{name: "namespace without a Namespace object has only the automatic label", cite: "[NS] Automatic labelling",
			setup:    func(c *Cluster) { c.Pods = append(c.Pods, worldPod("w", "a", "10.0.9.1")) },
			policies: ingressToA("  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: w}}}]"),
			src:      "w/a", dst: "x/a", port: "TCP/80", want: true},

		// Ports.
		{name: "absent ports: all ports and protocols", cite: "[API] NetworkPolicyIngressRule.ports",
			policies: ingressToA("  - from: [{podSelector: {matchLabels: {pod: b}}}]"), src: "x/b", dst: "x/a", port: "SCTP/4444", want: true},
		{name: "protocol defaults to TCP: TCP allowed", cite: "[API] NetworkPolicyPort.protocol",
			policies: ingressToA("  - ports: [{port: 80}]"), src: "y/a", dst: "x/a", port: "TCP/80", want: true},
		{name: "protocol defaults to TCP: UDP denied", cite: "[API] NetworkPolicyPort.protocol",
			policies: ingressToA("  - ports: [{port: 80}]"), src: "y/a", dst: "x/a", port: "UDP/80", want: false},
		{name: "port number mismatch", cite: "[API] NetworkPolicyPort.port",
			policies: ingressToA("  - ports: [{port: 80}]"), src: "y/a", dst: "x/a", port: "TCP/81", want: false},
		{name: "UDP rule does not allow TCP", cite: "[API] NetworkPolicyPort.protocol",
			policies: ingressToA("  - ports: [{protocol: UDP, port: 80}]"), src: "y/a", dst: "x/a", port: "TCP/80", want: false},
		{name: "SCTP rule allows SCTP", cite: "[API] NetworkPolicyPort.protocol",
			policies: ingressToA("  - ports: [{protocol: SCTP, port: 81}]"), src: "y/a", dst: "x/a", port: "SCTP/81", want: true},
		{name: "SCTP rule does not allow TCP", cite: "[API] NetworkPolicyPort.protocol",
			policies: ingressToA("  - ports: [{protocol: SCTP, port: 81}]"), src: "y/a", dst: "x/a", port: "TCP/81", want: false},
		{name: "protocol without port: every port of it", cite: "[API] NetworkPolicyPort.port",
			policies: ingressToA("  - ports: [{protocol: UDP}]"), src: "y/a", dst: "x/a", port: "UDP/5353", want: true},
		{name: "protocol without port: not other protocols", cite: "[API] NetworkPolicyPort.port",
			policies: ingressToA("  - ports: [{protocol: UDP}]"), src: "y/a", dst: "x/a", port: "TCP/80", want: false},
		{name: "endPort: range start", cite: "[NP] Targeting a range of ports",
			policies: ingressToA("  - ports: [{port: 32000, endPort: 32768}]"), src: "y/a", dst: "x/a", port: "TCP/32000", want: true},
		{name: "endPort: range end inclusive", cite: "[NP] Targeting a range of ports",
			policies: ingressToA("  - ports: [{port: 32000, endPort: 32768}]"), src: "y/a", dst: "x/a", port: "TCP/32768", want: true},
		{name: "endPort: past the range", cite: "[NP] Targeting a range of ports",
			policies: ingressToA("  - ports: [{port: 32000, endPort: 32768}]"), src: "y/a", dst: "x/a", port: "TCP/32769", want: false},
		{name: "endPort: protocol still applies", cite: "[NP] Targeting a range of ports",
			policies: ingressToA("  - ports: [{protocol: UDP, port: 32000, endPort: 32768}]"), src: "y/a", dst: "x/a", port: "TCP/32100", want: false},
		{name: "named port resolves on the destination pod", cite: "[API] NetworkPolicyPort.port (named port)",
			policies: ingressToA("  - ports: [{port: serve-81-tcp}]"), src: "y/a", dst: "x/a", port: "TCP/81", want: true},
		{name: "named port: other numbers denied", cite: "[API] NetworkPolicyPort.port (named port)",
			policies: ingressToA("  - ports: [{port: serve-81-tcp}]"), src: "y/a", dst: "x/a", port: "TCP/80", want: false},
		{name: "named port: protocol must match the declared one", cite: "[API] NetworkPolicyPort.port (named port)",
			policies: ingressToA("  - ports: [{protocol: UDP, port: serve-81-tcp}]"), src: "y/a", dst: "x/a", port: "UDP/81", want: false},
		{name: "named port: pod that does not declare the name", cite: "[API] NetworkPolicyPort.port (named port)",
			setup: func(c *Cluster) {
				c.Pods = append(c.Pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "d", Labels: map[string]string{"pod": "d"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}}})
			},
			policies: pol("x", "named", "  podSelector: {}\n  ingress:\n  - ports: [{port: serve-80-tcp}]"),
			src:      "y/a", dst: "x/d", port: "TCP/80", want: false},
		{name: "named egress port resolves on the destination pod", cite: "[API] NetworkPolicyEgressRule.ports",
			policies: egressFromA("  - ports: [{port: serve-80-tcp}]"), src: "x/a", dst: "y/b", port: "TCP/80",
			want: true, egress: ReasonRule, policy: "x/from-a", rule: 0},
		{name: "named egress port never matches an external address", cite: "[API] NetworkPolicyEgressRule.ports",
			policies: egressFromA("  - ports: [{port: serve-80-tcp}]"), src: "x/a", dst: "198.51.100.1", port: "TCP/80", want: false},

		// ipBlock.
		{name: "ipBlock: external source in the CIDR", cite: "[API] IPBlock.cidr",
			policies: ingressToA("  - from: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]"),
			src:      "203.0.113.7", dst: "x/a", port: "TCP/80", want: true},
		{name: "ipBlock: except excludes", cite: "[API] IPBlock.except",
			policies: ingressToA("  - from: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]"),
			src:      "203.0.113.200", dst: "x/a", port: "TCP/80", want: false},
		{name: "ipBlock: outside the CIDR", cite: "[API] IPBlock.cidr",
			policies: ingressToA("  - from: [{ipBlock: {cidr: 203.0.113.0/24}}]"), src: "198.51.100.1", dst: "x/a", port: "TCP/80", want: false},
		{name: "ipBlock egress: metadata address excepted", cite: "[API] IPBlock.except",
			policies: egressFromA("  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]"),
			src:      "x/a", dst: "169.254.169.254", port: "TCP/80", want: false, egress: ReasonNoRuleAllows, ingress: ReasonExternal},
		{name: "ipBlock egress: internet allowed", cite: "[API] IPBlock.cidr",
			policies: egressFromA("  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]"),
			src:      "x/a", dst: "8.8.8.8", port: "TCP/443", want: true},
		{name: "ipBlock: IPv4 CIDR does not match IPv6", cite: "[API] IPBlock.cidr",
			policies: egressFromA("  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]"), src: "x/a", dst: "2001:db8::1", port: "TCP/443", want: false},
		{name: "ipBlock does not match pods by default", cite: "[NP] ipBlock (pod IPs implementation-defined)",
			policies: egressFromA("  - to: [{ipBlock: {cidr: 10.0.0.0/8}}]"), src: "x/a", dst: "y/a", port: "TCP/80", want: false},
		{name: "ipBlock matches pod IPs with IPBlockMatchesPodIPs", cite: "[NP] ipBlock (pod IPs implementation-defined)",
			setup:    func(c *Cluster) { c.IPBlockMatchesPodIPs = true },
			policies: egressFromA("  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.2.2/32]}}]"), src: "x/a", dst: "y/a", port: "TCP/80", want: true},
		{name: "ipBlock except applies to pod IPs with IPBlockMatchesPodIPs", cite: "[API] IPBlock.except",
			setup:    func(c *Cluster) { c.IPBlockMatchesPodIPs = true },
			policies: egressFromA("  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.2.2/32]}}]"), src: "x/a", dst: "y/b", port: "TCP/80", want: false},
		{name: "selector peers never match external addresses", cite: "[NP] Behavior of to and from selectors",
			policies: ingressToA("  - from: [{namespaceSelector: {}}]"), src: "203.0.113.7", dst: "x/a", port: "TCP/80", want: false},

		// Both sides, self, explanations.
		{name: "egress denial blocks even when ingress is open", cite: "[NP] both egress and ingress must allow",
			policies: pol("x", "deny-eg", denyEgressX), src: "x/a", dst: "y/a", port: "TCP/80",
			want: false, egress: ReasonNoRuleAllows, ingress: ReasonNotIsolated, selecting: []string{"x/deny-eg"}},
		{name: "ingress denial blocks even when egress allows", cite: "[NP] both egress and ingress must allow",
			policies: egressFromA("  - to: [{namespaceSelector: {}}]") + pol("y", "deny", denyIngressX),
			src:      "x/a", dst: "y/a", port: "TCP/80", want: false, egress: ReasonRule, ingress: ReasonNoRuleAllows, selecting: []string{"y/deny"}},
		{name: "a pod always reaches itself", cite: "loopback: kubernetes/kubernetes#95879; Bulwark fixes it as allowed",
			policies: pol("x", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"),
			src:      "x/a", dst: "x/a", port: "TCP/80", want: true, egress: ReasonSelf, ingress: ReasonSelf},
		{name: "first allowing policy in namespace/name order", cite: "Bulwark: deterministic explanation",
			policies: pol("x", "zz-allow", "  podSelector: {}\n  ingress: [{}]") + pol("x", "aa-allow", "  podSelector: {}\n  ingress: [{}]"),
			src:      "y/a", dst: "x/a", port: "TCP/80", want: true, ingress: ReasonRule, policy: "x/aa-allow", rule: 0},
		{name: "denial lists every selecting policy in order", cite: "Bulwark: deterministic explanation",
			policies: pol("x", "zz", "  podSelector: {}\n  ingress: [{ports: [{port: 81}]}]") + pol("x", "aa", denyIngressX) +
				pol("x", "eg-only", denyEgressX),
			src: "y/a", dst: "x/a", port: "TCP/80", want: false, ingress: ReasonNoRuleAllows, selecting: []string{"x/aa", "x/zz"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := world()
			if tc.setup != nil {
				tc.setup(c)
			}
			c.Policies = parsePolicies(t, tc.policies)
			v, err := c.Evaluate(parseEndpoint(t, tc.src), parseEndpoint(t, tc.dst), parsePort(t, tc.port))
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			ctx := tc.src + " -> " + tc.dst + " " + tc.port + " (" + tc.cite + ")"
			if v.Allowed != tc.want {
				t.Fatalf("%s: allowed = %v, want %v\negress:  %s\ningress: %s", ctx, v.Allowed, tc.want, v.Egress, v.Ingress)
			}
			checkDecision(t, "egress", v.Egress, tc.egress, tc)
			checkDecision(t, "ingress", v.Ingress, tc.ingress, tc)
		})
	}
	if len(cases) < 40 {
		t.Errorf("only %d semantics cases", len(cases))
	}
}

func checkDecision(t *testing.T, side string, d Decision, want Reason, tc semanticsCase) {
	t.Helper()
	if want == "" {
		return
	}
	if d.Reason != want {
		t.Errorf("%s reason = %q, want %q (%s)", side, d.Reason, want, d)
	}
	if want == ReasonRule && tc.policy != "" && (d.Policy != tc.policy || d.Rule != tc.rule) {
		t.Errorf("%s decided by %s rule %d, want %s rule %d", side, d.Policy, d.Rule, tc.policy, tc.rule)
	}
	if want == ReasonNoRuleAllows && tc.selecting != nil && !slices.Equal(d.Selecting, tc.selecting) {
		t.Errorf("%s selecting = %v, want %v", side, d.Selecting, tc.selecting)
	}
	if d.Allowed != (want != ReasonNoRuleAllows) {
		t.Errorf("%s allowed = %v with reason %q", side, d.Allowed, d.Reason)
	}
	if strings.TrimSpace(d.String()) == "" {
		t.Errorf("%s: empty explanation", side)
	}
}
