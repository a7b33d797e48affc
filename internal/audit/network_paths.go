package audit

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// INV-5: default deny.

// defaultDeny asks whether a new pod of ns, then each real pod, accepts
// connections from a pod of a new namespace or from outside the cluster.
// A namespace open by default is one finding, not one per pod.
func (n *network) defaultDeny(check, ns string) []Finding {
	w := n.world(false)
	t := w.table(ns, ingress)
	g := w.grid(ns, ingress, "inv5", nil, nil, nil)
	syn := t.subjectOf[t.synthetic]
	byDefault := n.openings(t, g, syn)
	var out []Finding
	for _, m := range byDefault {
		if m != "" {
			out = append(out, n.nsFinding(check, Error, ns,
				fmt.Sprintf("namespace %s does not deny ingress by default: a new pod there would accept connections %s", ns, m),
				"add a NetworkPolicy in the namespace selecting every pod (podSelector: {}) with policyTypes [Ingress] and no ingress rule, as bulwark policy compile writes (bulwark-default-deny)"))
		}
	}
	for si, sg := range t.subjects {
		for k, m := range n.openings(t, g, si) {
			if si == syn || m == "" || byDefault[k] != "" {
				continue
			}
			for _, p := range sg.members {
				out = append(out, podFinding(check, Error, p, fmt.Sprintf("%s in tenant namespace %s accepts connections nobody declared: %s", p.object(), ns, m),
					"remove the rule that allows any namespace or any address; allow only the gateway, declared platform namespaces and granted tenants"))
			}
		}
	}
	return out
}

// openings describes how the pods of subject group si can be reached
// from a pod of a namespace that did not exist before, and from outside
// the cluster; "" where they cannot.
func (n *network) openings(t *table, g *grid, si int) [2]string {
	var out [2]string
	rep := t.subjects[si].rep
	if rs := selectRanges(t.ports, t.allowed[si][t.peerIndex["\x00fresh"]]); len(rs) > 0 {
		why := n.explain(t.sc, t.fresh.endpoint(), rep.endpoint(), []*pod{rep, t.fresh}, rs[0].port())
		out[0] = fmt.Sprintf("from pods of any other namespace on %s (%s)", joinRanges(rs, 6), why)
	}
	if rs := g.reaches(si, nil); len(rs) > 0 {
		out[1] = fmt.Sprintf("from outside the cluster, from %s (%s)", joinLimit(rs, 3, "; "), g.explainExternal(n, si, rs[0]))
	}
	return out
}

// INV-6: undeclared cross-namespace paths.

// flow is connections allowed from every source to every destination on
// the same ports: sources of one namespace that one egress group holds,
// destinations of one namespace that one ingress group holds.
type flow struct {
	srcs, dsts []*pod
	ports      []portRange
}

func (f flow) describe() string {
	return fmt.Sprintf("%s to %s on %s", pods(f.srcs), pods(f.dsts), joinRanges(f.ports, 6))
}

// pods names the first pod and counts the others.
func pods(list []*pod) string {
	if len(list) == 1 {
		return list[0].ref()
	}
	return fmt.Sprintf("%s and %d more of namespace %s", list[0].ref(), len(list)-1, list[0].ns)
}

// undeclaredPaths finds every allowed connection between two namespaces,
// one a tenant's, that no declaration authorizes, by intersecting each
// destination's ingress table with each source's egress table, and
// reports it at the workload on the tenant's side.
func (n *network) undeclaredPaths(check string, w *world) []Finding {
	byPod := map[*pod][]flow{}
	var order []*pod
	for _, ns := range n.all {
		if len(n.podsIn[ns]) == 0 {
			continue
		}
		for _, f := range n.decl.undeclared(n, w.flows(ns)) {
			// Reported on the tenant's side: its policies or its
			// declarations are what change.
			intoTenant := n.owner[f.dsts[0].ns] != ""
			side := f.srcs
			if intoTenant {
				side = f.dsts
			}
			for _, at := range side {
				one := f
				if intoTenant {
					one.dsts = []*pod{at}
				} else {
					one.srcs = []*pod{at}
				}
				if byPod[at] == nil {
					order = append(order, at)
				}
				byPod[at] = append(byPod[at], one)
			}
		}
	}
	var out []Finding
	for _, at := range order {
		out = append(out, n.flowFinding(check, w, at, byPod[at]))
	}
	return out
}

// flows are the allowed connections into pods of ns from the table's
// peers, with the ports both directions allow.
func (w *world) flows(ns string) []flow {
	t := w.table(ns, ingress)
	var out []flow
	for si, dg := range t.subjects {
		if dg.rep == t.synthetic {
			continue
		}
		for pi, pg := range t.peers {
			in := selectRanges(t.ports, t.allowed[si][pi])
			if len(in) == 0 || pg.rep == t.fresh {
				continue
			}
			out = append(out, w.egressFlows(in, pg.members, dg.members)...)
		}
	}
	return out
}

// egressFlows intersects the ingress ports in with what each source's
// egress allows to each destination, by egress group.
func (w *world) egressFlows(in []portRange, srcs, dsts []*pod) []flow {
	type bucket struct {
		e *table
		g int
	}
	var order []bucket
	bySrc := map[bucket][]*pod{}
	for _, s := range srcs {
		e := w.table(s.ns, egress)
		b := bucket{e, e.subjectOf[s]}
		if bySrc[b] == nil {
			order = append(order, b)
		}
		bySrc[b] = append(bySrc[b], s)
	}
	var out []flow
	for _, b := range order {
		byPeer := map[int][]*pod{}
		var peers []int
		for _, d := range dsts {
			if pe := b.e.peerGroup(w.n, d); pe >= 0 {
				if byPeer[pe] == nil {
					peers = append(peers, pe)
				}
				byPeer[pe] = append(byPeer[pe], d)
			}
		}
		for _, pe := range peers {
			if ports := intersectRanges(in, selectRanges(b.e.ports, b.e.allowed[b.g][pe])); len(ports) > 0 {
				out = append(out, flow{bySrc[b], byPeer[pe], ports})
			}
		}
	}
	return out
}

func (n *network) flowFinding(check string, w *world, at *pod, flows []flow) Finding {
	first := flows[0]
	s, d, port := first.srcs[0], first.dsts[0], first.ports[0].port()
	why := n.explain(w.scope(s.ns, egress), s.endpoint(), d.endpoint(), []*pod{s, d}, port) + "; " +
		n.explain(w.scope(d.ns, ingress), s.endpoint(), d.endpoint(), []*pod{s, d}, port)
	var parts []string
	for i, f := range flows {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(flows)-3))
			break
		}
		parts = append(parts, f.describe())
	}
	msg := fmt.Sprintf("%s has cross-namespace connections no declaration authorizes: %s (%s)", at.object(), strings.Join(parts, "; "), why)
	return podFinding(check, Error, at, msg,
		"declare the path (a service for the gateway, network.platform_namespaces, or consumes in the caller's tenant file and grants in the provider's) or remove the rule that allows it")
}

// INV-7: internet egress.

// internetEgress compares what each pod of tenant namespace ns may reach
// outside the cluster with its tenant's declared egress. Without
// declarations there is nothing to compare with: whatever it may reach is
// a warning.
func (n *network) internetEgress(check string, ns string) []Finding {
	var rules []egressDecl
	var nets []netip.Prefix
	ports := cuts{}
	sev := Warning
	if n.decl != nil {
		rules, sev = n.decl.egress[n.owner[ns]], Error
		nets, ports = n.decl.egressCuts(rules)
	}
	g := n.world(false).grid(ns, egress, "inv7", nets, ports, nil)
	var out []Finding
	for si, sg := range g.t.subjects {
		for _, m := range n.egressProblems(g, si, rules) {
			for _, p := range sg.members {
				out = append(out, podFinding(check, sev, p, fmt.Sprintf("%s in tenant namespace %s %s", p.object(), ns, m),
					"allow egress only to the tenant's declared network.egress destinations and ports (bulwark policy compile writes bulwark-egress-internet), never to the platform's forbidden CIDRs"))
			}
		}
	}
	return out
}

// egressProblems compares what subject group si may reach outside the
// cluster with its tenant's declared egress rules: the forbidden CIDRs
// never, the rest only as declared.
func (n *network) egressProblems(g *grid, si int, rules []egressDecl) []string {
	if n.decl == nil {
		if rs := g.reaches(si, nil); len(rs) > 0 {
			return []string{fmt.Sprintf("can connect outside the cluster to %s (%s), and no %s declares what tenants may reach",
				joinLimit(rs, 3, "; "), g.explainExternal(n, si, rs[0]), config.PlatformFile)}
		}
		return nil
	}
	forbidden := func(a addrRange, ports []portRange) []portRange {
		if slices.ContainsFunc(n.decl.forbidden, a.within) {
			return ports
		}
		return nil
	}
	undeclared := func(a addrRange, ports []portRange) []portRange {
		if slices.ContainsFunc(n.decl.forbidden, a.within) {
			return nil // reported as forbidden
		}
		return subtractPorts(ports, n.decl.egressPorts(a, rules))
	}
	var msgs []string
	if rs := g.reaches(si, forbidden); len(rs) > 0 {
		msgs = append(msgs, fmt.Sprintf("can connect to the forbidden %s (%s)", joinLimit(rs, 3, "; "), g.explainExternal(n, si, rs[0])))
	}
	if rs := g.reaches(si, undeclared); len(rs) > 0 {
		msgs = append(msgs, fmt.Sprintf("can connect outside the cluster to %s, beyond its tenant's declared egress (%s) (%s)",
			joinLimit(rs, 3, "; "), describeEgress(rules), g.explainExternal(n, si, rs[0])))
	}
	return msgs
}

func describeEgress(rules []egressDecl) string {
	if len(rules) == 0 {
		return "none"
	}
	var parts []string
	for _, r := range rules {
		ports := make([]string, len(r.ports))
		for i, p := range r.ports {
			ports[i] = strconv.Itoa(int(p))
		}
		parts = append(parts, r.net.String()+" on TCP "+strings.Join(ports, ", "))
	}
	return strings.Join(parts, "; ")
}
