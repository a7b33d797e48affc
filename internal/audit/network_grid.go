package audit

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// Grids: one scope's subjects against addresses outside the cluster.

type gridKey struct {
	scopeKey
	purpose string
}

// grid holds, per subject group, the elementary address intervals and
// port ranges the direction allows.
type grid struct {
	t      *table
	addrs  []addrRange
	ports  []portRange
	allows [][][]bool // [subject][addr][port]
}

// grid evaluates every subject group of ns against one address per
// elementary interval and one port per elementary range, cut at the
// scope's external rules and at extra (declared) boundaries.
func (w *world) grid(ns string, dir int, purpose string, nets []netip.Prefix, ports cuts, keep func(addrRange) bool) *grid {
	return memo(&w.mu, w.grids, gridKey{scopeKey{ns, dir}, purpose}, func() *grid {
		return w.newGrid(w.table(ns, dir), nets, ports, keep)
	})
}

func (w *world) newGrid(t *table, nets []netip.Prefix, ports cuts, keep func(addrRange) bool) *grid {
	dir := t.sc.dir
	c := t.sc.extPorts.merge(ports)
	var subjects []*pod
	for _, s := range t.subjects {
		subjects = append(subjects, s.rep)
		for _, cp := range containerPorts(s.rep) {
			if dir == ingress && t.sc.portNames[cp.Name] {
				c.add(protocolOf(cp), cp.ContainerPort, cp.ContainerPort) // resolved on the subject
			}
		}
	}
	g := &grid{t: t, ports: c.ranges(), addrs: externalRanges(subjects, append(slices.Clone(nets), t.sc.extNets...), keep)}
	g.allows = make([][][]bool, len(t.subjects))
	for si := range t.subjects {
		g.allows[si] = make([][]bool, len(g.addrs))
		for ai := range g.addrs {
			g.allows[si][ai] = make([]bool, len(g.ports)) // denied until simulated
		}
	}
	w.n.evaluateGrid(g, subjects)
	return g
}

// externalRanges cuts the addresses at nets, less the subjects' own
// addresses (pods, not addresses outside the cluster), keeping those keep
// accepts (all when nil).
func externalRanges(subjects []*pod, nets []netip.Prefix, keep func(addrRange) bool) []addrRange {
	own := map[netip.Addr]bool{}
	for _, s := range subjects {
		for _, ip := range strings.Split(ipsKey(s), ",") {
			if a, err := netip.ParseAddr(ip); err == nil {
				own[a.Unmap()] = true
				nets = append(nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			}
		}
	}
	var out []addrRange
	for _, a := range addrRanges(nets) {
		if (a.lo != a.hi || !own[a.lo]) && (keep == nil || keep(a)) {
			out = append(out, a)
		}
	}
	return out
}

func (n *network) evaluateGrid(g *grid, subjects []*pod) {
	c := n.subCluster(g.t.sc, subjects)
	dir := g.t.sc.dir
	for si, s := range g.t.subjects {
		for ai, a := range g.addrs {
			for pi, r := range g.ports {
				src, dst := netpol.ExternalEndpoint(a.lo), s.rep.endpoint()
				if dir == egress {
					src, dst = dst, src
				}
				allowed, err := evaluate(c, src, dst, r.port())
				if err != nil {
					n.fail(fmt.Errorf("namespace %s, %s with addresses outside the cluster: %w", g.t.sc.ns, directionName[dir], err))
					return
				}
				g.allows[si][ai][pi] = allowed[dir]
			}
		}
	}
}

// reach is addresses with the ports allowed to all of them.
type reach struct {
	addrs addrRange
	ports []portRange
}

func (r reach) String() string { return r.addrs.String() + " on " + joinRanges(r.ports, 6) }

// reaches groups a subject's allowed cells: adjacent intervals with the
// same allowed ports together. filter may narrow each interval's ports.
func (g *grid) reaches(si int, filter func(addrRange, []portRange) []portRange) []reach {
	var out []reach
	for ai, a := range g.addrs {
		ports := selectRanges(g.ports, g.allows[si][ai])
		if filter != nil {
			ports = filter(a, ports)
		}
		if len(ports) == 0 {
			continue
		}
		if last := len(out) - 1; last >= 0 && slices.Equal(out[last].ports, ports) && out[last].addrs.hi.Next() == a.lo {
			out[last].addrs.hi = a.hi
			continue
		}
		out = append(out, reach{a, ports})
	}
	return out
}

// explainExternal explains the first cell of a reach.
func (g *grid) explainExternal(n *network, si int, r reach) string {
	s := g.t.subjects[si].rep
	src, dst := netpol.ExternalEndpoint(r.addrs.lo), s.endpoint()
	if g.t.sc.dir == egress {
		src, dst = dst, src
	}
	var reps []*pod
	for _, sg := range g.t.subjects {
		reps = append(reps, sg.rep)
	}
	return n.explain(g.t.sc, src, dst, reps, r.ports[0].port())
}
