package tiered

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// apolicy is a compiled AdminNetworkPolicy or BaselineAdminNetworkPolicy.
type apolicy struct {
	key      string
	baseline bool
	priority int32
	name     string
	subject  apeer
	rules    [2][]arule
}

type arule struct {
	name, action string
	peers        []apeer
	ports        []portMatch
}

// apeer selects pods (namespaces; pods nil: every pod) or networks.
type apeer struct {
	namespaces, pods labels.Selector
	networks         []netip.Prefix
}

// compileAdmin splits and orders the admin policies: ascending priority,
// then name (the API leaves equal priorities to the implementation).
func compileAdmin(decl []AdminPolicy) (admin []*apolicy, baseline *apolicy, err error) {
	seen := map[string]bool{}
	for i := range decl {
		p, err := compileAdminPolicy(&decl[i])
		if err != nil {
			return nil, nil, err
		}
		if seen[p.key] {
			return nil, nil, fmt.Errorf("%s: declared twice", p.key)
		}
		seen[p.key] = true
		if p.baseline {
			baseline = p
		} else {
			admin = append(admin, p)
		}
	}
	slices.SortFunc(admin, func(a, b *apolicy) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), cmp.Compare(a.name, b.name))
	})
	return admin, baseline, nil
}

func compileAdminPolicy(ap *AdminPolicy) (*apolicy, error) {
	p := &apolicy{baseline: ap.Baseline, name: ap.Name, key: "AdminNetworkPolicy " + ap.Name}
	fail := func(field string, err error) error { return fmt.Errorf("%s: %s: %w", p.key, field, err) }
	allowed := []string{"Allow", "Deny", "Pass"}
	if ap.Baseline {
		p.key = "BaselineAdminNetworkPolicy " + ap.Name
		allowed = allowed[:2]
		if ap.Name != "default" {
			return nil, fail("metadata.name", fmt.Errorf("must be default"))
		}
		if ap.Spec.Priority != nil {
			return nil, fail("spec.priority", fmt.Errorf("a baseline has no priority"))
		}
	} else {
		if ap.Spec.Priority == nil || *ap.Spec.Priority < 0 || *ap.Spec.Priority > 1000 {
			return nil, fail("spec.priority", fmt.Errorf("required, 0 to 1000"))
		}
		p.priority = *ap.Spec.Priority
	}
	s := ap.Spec.Subject
	var err error
	if p.subject, err = compileAdminPeer(AdminPeer{Namespaces: s.Namespaces, Pods: s.Pods}, false); err != nil {
		return nil, fail("spec.subject", err)
	}
	for dir, rules := range [2][]AdminRule{ap.Spec.Ingress, ap.Spec.Egress} {
		for i, r := range rules {
			field := fmt.Sprintf("spec.%s[%d]", [2]string{"ingress", "egress"}[dir], i)
			if !slices.Contains(allowed, r.Action) {
				return nil, fail(field+".action", fmt.Errorf("%q: want one of %v", r.Action, allowed))
			}
			peers := r.From
			if dir == dirEgress {
				peers = r.To
			} else if len(r.To) > 0 {
				return nil, fail(field+".to", fmt.Errorf("an ingress rule has from"))
			}
			if len(peers) == 0 {
				return nil, fail(field, fmt.Errorf("at least one peer is required"))
			}
			ar := arule{name: r.Name, action: r.Action}
			for j, pr := range peers {
				cp, err := compileAdminPeer(pr, dir == dirEgress)
				if err != nil {
					return nil, fail(fmt.Sprintf("%s peer %d", field, j), err)
				}
				ar.peers = append(ar.peers, cp)
			}
			for j, pt := range r.Ports {
				pm, err := compileAdminPort(pt)
				if err != nil {
					return nil, fail(fmt.Sprintf("%s.ports[%d]", field, j), err)
				}
				ar.ports = append(ar.ports, pm)
			}
			p.rules[dir] = append(p.rules[dir], ar)
		}
	}
	return p, nil
}

func compileAdminPeer(pr AdminPeer, networksOK bool) (apeer, error) {
	set := 0
	var p apeer
	var err error
	if pr.Namespaces != nil {
		set++
		if p.namespaces, err = metav1.LabelSelectorAsSelector(pr.Namespaces); err != nil {
			return p, fmt.Errorf("namespaces: %w", err)
		}
		p.pods = labels.Everything()
	}
	if pr.Pods != nil {
		set++
		if p.namespaces, err = metav1.LabelSelectorAsSelector(&pr.Pods.NamespaceSelector); err != nil {
			return p, fmt.Errorf("pods.namespaceSelector: %w", err)
		}
		if p.pods, err = metav1.LabelSelectorAsSelector(&pr.Pods.PodSelector); err != nil {
			return p, fmt.Errorf("pods.podSelector: %w", err)
		}
	}
	if pr.Networks != nil {
		if !networksOK {
			return p, fmt.Errorf("networks: only in egress peers")
		}
		set++
		if p.networks, err = prefixes(pr.Networks); err != nil {
			return p, fmt.Errorf("networks: %w", err)
		}
	}
	if set != 1 {
		return p, fmt.Errorf("exactly one of namespaces, pods or networks is required")
	}
	return p, nil
}

func compileAdminPort(pt AdminPort) (portMatch, error) {
	var pm portMatch
	var err error
	set := 0
	if n := pt.PortNumber; n != nil {
		set++
		pm.protocol, err = protocol(n.Protocol)
		pm.from, pm.to = n.Port, n.Port
	}
	if r := pt.PortRange; r != nil {
		set++
		pm.protocol, err = protocol(r.Protocol)
		pm.from, pm.to = r.Start, r.End
	}
	if pt.NamedPort != nil {
		set++
		pm.name = *pt.NamedPort
	}
	switch {
	case err != nil:
		return pm, err
	case set != 1:
		return pm, fmt.Errorf("exactly one of portNumber, portRange or namedPort is required")
	case pm.name != "":
		return pm, nil // any protocol: the destination's declaration decides
	case pm.from < 1 || pm.to > 65535 || pm.to < pm.from:
		return pm, fmt.Errorf("port range %d-%d invalid", pm.from, pm.to)
	}
	pm.protocol = cmp.Or(pm.protocol, corev1.ProtocolTCP)
	return pm, nil
}

// selects reports whether the peer (or subject) matches e; networks match
// addresses, and pods' IPs only when podIPs is set.
func (p *apeer) selects(e *ep, podIPs bool) bool {
	if p.networks != nil {
		return (!e.isPod() || podIPs) && e.inAny(p.networks)
	}
	return e.isPod() && p.namespaces.Matches(e.nsLabels) && p.pods.Matches(e.labels)
}

func (r *arule) matches(other, dest *ep, port netpol.Port, podIPs bool) bool {
	if len(r.ports) > 0 && !anyPort(r.ports, dest, port) {
		return false
	}
	return slices.ContainsFunc(r.peers, func(p apeer) bool { return p.selects(other, podIPs) })
}
