package tiered_test

import "github.com/bulwark-sec/bulwark/internal/policy/netpol"

// gnp renders a GlobalNetworkPolicy in tier with the given spec body
// (indented two spaces, after spec:).
func gnp(name, body string) string {
	return "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: " + name + "}\nspec:\n" + body + "---\n"
}

func cnp(ns, name, body string) string {
	return "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n" + body + "---\n"
}

func anp(name, body string) string {
	return "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: " + name + "}\nspec:\n" + body + "---\n"
}

func banp(body string) string {
	return "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n" + body + "---\n"
}

// knpIsolateAllowClient isolates a/server for ingress and allows a/client.
const knpIsolateAllowClient = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client, namespace: a}
spec:
  podSelector: {matchLabels: {role: server}}
  ingress: [{from: [{podSelector: {matchLabels: {role: client}}}]}]
---
`

const ingressServerA = "  selector: role == 'server' && projectcalico.org/namespace == 'a'\n  types: [Ingress]\n"

var udp53 = netpol.Port{Protocol: "UDP", Port: 53}

// goldenCases are written from Calico's documentation (reference/resources
// tier, globalnetworkpolicy, networkpolicy; policy tiers guide) and the
// network-policy API reference (AdminNetworkPolicy, BaselineAdminNetworkPolicy).
var goldenCases = []golden{
	{
		name: "calico: tiers run by ascending order",
		policies: tier("second", "20", "") + tier("first", "10", "") +
			gnp("second.deny", "  tier: second\n"+ingressServerA+"  ingress: [{action: Deny}]\n") +
			gnp("first.allow", "  tier: first\n"+ingressServerA+"  ingress: [{action: Allow}]\n"),
		want: []connection{{"b/client", "a/server", tcp80, true, "Calico tier first (order 10): GlobalNetworkPolicy first.allow rule 0: Allow"}},
	},
	{
		name: "calico: Pass jumps to the next tier",
		policies: tier("t1", "10", "") + tier("t2", "20", "") +
			gnp("t1.pass", "  tier: t1\n"+ingressServerA+"  ingress: [{action: Pass, source: {selector: role == 'client'}}, {action: Allow}]\n") +
			gnp("t2.deny-b", "  tier: t2\n"+ingressServerA+"  ingress: [{action: Deny, source: {namespaceSelector: projectcalico.org/name == 'b'}}, {action: Allow}]\n"),
		want: []connection{
			{"b/client", "a/server", tcp80, false, "t2.deny-b rule 0: Deny [passed by GlobalNetworkPolicy t1.pass rule 0"},
			{"a/client", "a/server", tcp80, true, "t2.deny-b rule 1: Allow"},
			{"b/server", "a/server", tcp80, true, "t1.pass rule 1: Allow"},
		},
	},
	{
		name: "calico: Pass from the last tier reaches the default allow",
		policies: tier("t1", "10", "") +
			gnp("t1.pass", "  tier: t1\n"+ingressServerA+"  ingress: [{action: Pass}]\n"),
		want: []connection{{"b/client", "a/server", tcp80, true, "no policy decided"}},
	},
	{
		name: "calico: within a tier by order, omitted order last, ties by name",
		policies: tier("t", "10", "") +
			gnp("t.zz-allow", "  tier: t\n  order: 1\n"+ingressServerA+"  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\n") +
			gnp("t.aa-deny", "  tier: t\n  order: 1\n"+ingressServerA+"  ingress: [{action: Deny, protocol: UDP}]\n") +
			gnp("t.unordered", "  tier: t\n"+ingressServerA+"  ingress: [{action: Deny}]\n") +
			gnp("t.last", "  tier: t\n  order: 1000\n"+ingressServerA+"  ingress: [{action: Allow, protocol: UDP}]\n"),
		want: []connection{
			{"a/client", "a/server", tcp80, true, "t.zz-allow rule 0"},
			{"a/client", "a/server", udp53, false, "t.aa-deny rule 0: Deny"},
			{"a/client", "a/server", netpol.Port{Protocol: "TCP", Port: 81}, false, "t.unordered rule 0: Deny"},
		},
	},
	{
		name: "calico: a tier that selects and decides nothing denies, unless defaultAction Pass",
		policies: tier("strict", "10", "") + tier("lenient", "20", ", defaultAction: Pass") +
			gnp("strict.only-a", "  tier: strict\n  selector: role == 'server'\n  types: [Ingress]\n  ingress: [{action: Allow, source: {namespaceSelector: team == 'red'}}]\n") +
			gnp("lenient.nothing", "  tier: lenient\n  selector: role == 'client'\n  types: [Ingress]\n  ingress: [{action: Allow, source: {nets: [192.0.2.0/24]}}]\n"),
		want: []connection{
			{"b/client", "a/server", tcp80, false, "Calico tier strict (order 10): selected by [GlobalNetworkPolicy strict.only-a], no rule matched (end of tier)"},
			{"a/client", "a/server", tcp80, true, "strict.only-a rule 0: Allow"},
			{"a/server", "b/client", tcp80, true, "passed by tier lenient default action"},
		},
	},
	{
		name: "calico: a tier whose policies select nothing is skipped; Log goes on",
		policies: tier("t", "10", "") +
			gnp("t.other", "  tier: t\n  selector: role == 'nobody'\n  ingress: [{action: Deny}]\n") +
			gnp("t.log", "  tier: t\n  selector: role == 'client'\n  ingress: [{action: Log}, {action: Allow}]\n"),
		want: []connection{
			{"a/client", "a/server", tcp80, true, "no policy decided"},
			{"a/server", "a/client", tcp80, true, "t.log rule 1: Allow"},
		},
	},
	{
		name: "calico: namespaced policy selects and matches its own namespace only; global any",
		policies: cnp("a", "deny-clients", "  selector: role == 'server'\n  ingress: [{action: Deny, source: {selector: role == 'client'}}, {action: Allow}]\n") +
			gnp("deny-b-server", "  selector: role == 'server' && projectcalico.org/namespace == 'b'\n  ingress: [{action: Deny, source: {selector: role == 'client'}}]\n"),
		want: []connection{
			{"a/client", "a/server", tcp80, false, "NetworkPolicy a/deny-clients rule 0: Deny"},
			{"b/client", "a/server", tcp80, true, "NetworkPolicy a/deny-clients rule 1: Allow"},
			{"a/client", "b/server", tcp80, false, "GlobalNetworkPolicy deny-b-server rule 0: Deny"},
		},
	},
	{
		name: "calico: selector operators",
		policies: gnp("ops", "  selector: has(role) && !(tier in {'web'}) && role != 'client'\n  ingress:\n"+
			"  - {action: Deny, source: {selector: \"role == 'client' && team not in {'red'}\", namespaceSelector: \"!has(team) || kubernetes.io/metadata.name == 'zz'\"}}\n"+
			"  - {action: Allow, source: {selector: role starts with 'cl'}}\n"+
			"  - {action: Deny}\n"),
		want: []connection{
			{"b/client", "a/server", tcp80, false, "ops rule 0: Deny"},
			{"a/client", "b/server", tcp80, true, "ops rule 1: Allow"},
			{"a/server", "b/server", tcp80, false, "ops rule 2: Deny"},
		},
	},
	{
		name: "calico: nets, notNets, ports with protocol, named ports",
		policies: gnp("egress", "  selector: role == 'client'\n  types: [Egress]\n  egress:\n"+
			"  - {action: Deny, destination: {nets: [169.254.169.254/32]}}\n"+
			"  - {action: Allow, protocol: UDP, destination: {ports: [dns]}}\n"+
			"  - {action: Allow, protocol: TCP, destination: {ports: ['80:81'], notNets: [10.0.1.0/24]}}\n"),
		want: []connection{
			{"a/client", "169.254.169.254", tcp80, false, "egress rule 0: Deny"},
			{"a/client", "a/server", udp53, true, "egress rule 1: Allow"},
			{"a/client", "a/server", netpol.Port{Protocol: "TCP", Port: 53}, false, "end of tier"},
			{"a/client", "a/server", tcp80, true, "egress rule 2: Allow"},
			{"a/client", "b/server", tcp80, false, "end of tier"},
			{"a/client", "192.0.2.1", tcp80, true, "egress rule 2"},
		},
	},
	{
		name: "calico: default tier orders Calico policies around the Kubernetes NetworkPolicies (order 1000)",
		policies: knpIsolateAllowClient +
			cnp("a", "early-deny", "  order: 500\n  selector: role == 'server'\n  ingress: [{action: Deny, source: {namespaceSelector: projectcalico.org/name == 'b'}}]\n") +
			cnp("a", "late-allow", "  order: 2000\n  selector: role == 'server'\n  ingress: [{action: Allow, source: {selector: role == 'server'}, destination: {ports: [http]}, protocol: TCP}]\n"),
		want: []connection{
			{"b/client", "a/server", tcp80, false, "NetworkPolicy a/early-deny rule 0: Deny"},
			{"a/client", "a/server", tcp80, true, "NetworkPolicy default (order 1000000): allow: allowed by rule a/allow-client rule 0"},
			{"b/server", "a/server", tcp80, false, "early-deny"},
			{"a/server", "a/server", tcp80, true, "self"},
		},
	},
	{
		name: "anp: lower priority first; Allow beats a NetworkPolicy's isolation",
		policies: knpIsolateAllowClient +
			anp("deny-b", "  priority: 10\n  subject: {namespaces: {matchLabels: {team: red}}}\n  ingress: [{name: deny-b, action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: b}}}]}]\n") +
			anp("allow-b-server", "  priority: 5\n  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {role: server}}}}\n  ingress: [{name: from-b-servers, action: Allow, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {role: server}}}}]}]\n"),
		want: []connection{
			{"b/server", "a/server", tcp80, true, "AdminNetworkPolicy priority 5: AdminNetworkPolicy allow-b-server rule 0 (from-b-servers): Allow"},
			{"b/client", "a/server", tcp80, false, "AdminNetworkPolicy priority 10: AdminNetworkPolicy deny-b rule 0 (deny-b): Deny"},
			{"a/client", "a/server", tcp80, true, "allowed by rule a/allow-client"},
		},
	},
	{
		name: "anp: Pass defers to the NetworkPolicies, and to the baseline for unisolated pods",
		policies: knpIsolateAllowClient +
			anp("pass-all", "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{name: pass, action: Pass, from: [{namespaces: {}}]}]\n") +
			anp("deny-all", "  priority: 2\n  subject: {namespaces: {}}\n  ingress: [{name: never, action: Deny, from: [{namespaces: {}}]}]\n") +
			banp("  subject: {namespaces: {}}\n  ingress: [{name: deny-from-b, action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: b}}}]}]\n"),
		want: []connection{
			{"a/client", "a/server", tcp80, true, "allowed by rule a/allow-client rule 0 [passed by AdminNetworkPolicy pass-all rule 0 (pass)]"},
			{"b/client", "a/server", tcp80, false, "isolated and no rule allows"},
			{"b/server", "a/client", tcp80, false, "BaselineAdminNetworkPolicy: BaselineAdminNetworkPolicy default rule 0 (deny-from-b): Deny"},
			{"a/server", "a/client", tcp80, true, "no policy decided"},
		},
	},
	{
		name: "anp: networks, port numbers, ranges and named ports",
		policies: anp("egress", "  priority: 1\n  subject: {namespaces: {}}\n  egress:\n"+
			"  - {name: metadata, action: Deny, to: [{networks: [169.254.169.254/32]}]}\n"+
			"  - {name: dns, action: Allow, to: [{namespaces: {}}], ports: [{namedPort: dns}]}\n"+
			"  - {name: web, action: Deny, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {role: server}}}}], ports: [{portRange: {start: 80, end: 90}}, {portNumber: {protocol: UDP, port: 53}}]}\n"),
		want: []connection{
			{"a/client", "169.254.169.254", tcp80, false, "rule 0 (metadata): Deny"},
			{"a/client", "a/server", udp53, true, "rule 1 (dns): Allow"},
			{"a/client", "b/server", udp53, false, "rule 2 (web): Deny"},
			{"a/client", "b/server", netpol.Port{Protocol: "TCP", Port: 85}, false, "rule 2 (web)"},
			{"a/client", "b/server", netpol.Port{Protocol: "TCP", Port: 91}, true, "no policy decided"},
		},
	},
}
