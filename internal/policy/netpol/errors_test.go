package netpol

import (
	"net/netip"
	"strings"
	"testing"
)

// Invalid input is refused with an error naming the object and field; the
// API server would have rejected these policies, so no answer is given.
func TestEvaluateErrors(t *testing.T) {
	cases := []struct {
		name     string
		policies string
		src, dst Endpoint
		port     Port
		want     string
	}{
		{name: "unknown pod", src: PodEndpoint("x", "nope"), dst: PodEndpoint("x", "a"), port: Port{Port: 80},
			want: "source: endpoint x/nope: no such pod"},
		{name: "two external addresses", src: ExternalEndpoint(netip.MustParseAddr("1.1.1.1")),
			dst: ExternalEndpoint(netip.MustParseAddr("8.8.8.8")), port: Port{Port: 80}, want: "neither endpoint is a pod"},
		{name: "address of a pod", src: ExternalEndpoint(netip.MustParseAddr("10.0.1.2")), dst: PodEndpoint("x", "a"),
			port: Port{Port: 80}, want: "address of pod x/b"},
		{name: "empty endpoint", dst: PodEndpoint("x", "a"), port: Port{Port: 80}, want: "neither pod nor address"},
		{name: "port out of range", src: PodEndpoint("x", "a"), dst: PodEndpoint("x", "b"), port: Port{Port: 0}, want: "out of range"},
		{name: "unknown protocol", src: PodEndpoint("x", "a"), dst: PodEndpoint("x", "b"), port: Port{Protocol: "ICMP", Port: 1},
			want: "unsupported protocol"},
		{name: "bad selector operator", policies: ingressToA("  - from: [{podSelector: {matchExpressions: [{key: pod, operator: Near}]}}]"),
			want: "networkpolicy x/to-a: spec.ingress[0]: peers[0]: podSelector"},
		{name: "endPort with named port", policies: ingressToA("  - ports: [{port: http, endPort: 90}]"),
			want: "spec.ingress[0]: ports[0]: endPort: not allowed with named port"},
		{name: "endPort below port", policies: ingressToA("  - ports: [{port: 90, endPort: 80}]"), want: "invalid range 90-80"},
		{name: "bad CIDR", policies: egressFromA("  - to: [{ipBlock: {cidr: 10.0.0.0/33}}]"), want: "spec.egress[0]: peers[0]: ipBlock.cidr"},
		{name: "ipBlock with selector", policies: egressFromA("  - to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]"),
			want: "ipBlock cannot be combined"},
		{name: "empty peer", policies: egressFromA("  - to: [{}]"), want: "one of podSelector, namespaceSelector or ipBlock is required"},
		{name: "unknown policy type", policies: pol("x", "odd", "  podSelector: {}\n  policyTypes: [Sideways]"),
			want: "spec.policyTypes[0]"},
		{name: "duplicate policy", policies: pol("x", "p", denyIngressX) + pol("x", "p", denyIngressX), want: "networkpolicy x/p: declared twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := world()
			c.Policies = parsePolicies(t, tc.policies)
			src, dst, port := tc.src, tc.dst, tc.port
			if tc.policies != "" {
				src, dst, port = PodEndpoint("y", "a"), PodEndpoint("x", "a"), Port{Port: 80}
			}
			_, err := c.Evaluate(src, dst, port)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
