package audit

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// Worlds: the cluster as committed, and as a hostile tenant would make it.

// world is a set of policies to simulate: the repository's, or (hostile)
// the repository's with every tenant namespace's NetworkPolicies replaced
// by one that allows everything, which is what a tenant may write.
type world struct {
	n       *network
	hostile bool
	nps     map[string][]networkingv1.NetworkPolicy // by namespace

	mu     sync.Mutex
	scopes map[scopeKey]*scope
	tables map[scopeKey]*table
	grids  map[gridKey]*grid
}

func (n *network) world(hostile bool) *world {
	i := 0
	if hostile {
		i = 1
	}
	n.worldOnce[i].Do(func() {
		w := &world{n: n, hostile: hostile, nps: map[string][]networkingv1.NetworkPolicy{},
			scopes: map[scopeKey]*scope{}, tables: map[scopeKey]*table{}, grids: map[gridKey]*grid{}}
		for _, p := range n.cluster.Policies {
			ns := cmp.Or(p.Namespace, "default")
			if hostile && n.owner[ns] != "" {
				continue
			}
			w.nps[ns] = append(w.nps[ns], p)
		}
		if hostile {
			for _, ns := range n.tenantNamespaces() {
				w.nps[ns] = []networkingv1.NetworkPolicy{hostilePolicy(ns)}
			}
		}
		n.worlds[i] = w
	})
	return n.worlds[i]
}

// hostilePolicy allows every connection in and out of ns. It stands for
// every NetworkPolicy a tenant could write: whatever else they say, a
// rule {} in each direction makes the NetworkPolicies allow everything,
// and deleting them all allows no more (the baseline then decides). The
// namespace's Calico policies stay: RBAC is what keeps tenants from
// writing those (rbacFindings).
func hostilePolicy(ns string) networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant-allow-all", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
}

// Scopes: the policies that can decide for one namespace and direction.

const (
	ingress = 0
	egress  = 1
)

var directionName = [2]string{"ingress", "egress"}

type scopeKey struct {
	ns  string
	dir int
}

// scope is what can decide for a pod of ns in one direction, and what of
// the pods its selectors can tell apart.
type scope struct {
	scopeKey
	nps    []networkingv1.NetworkPolicy
	calico []tiered.CalicoPolicy
	admin  []tiered.AdminPolicy

	subject   mentions // labels of ns's pods the policies select on
	peerPods  mentions // labels of the other side's pods
	peerNS    mentions // labels of the other side's namespace
	portNames map[string]bool

	ports    cuts // every port a rule names
	extPorts cuts // the ports of rules that can match an address outside the cluster
	extNets  []netip.Prefix

	podSig string // what the peer selectors see of a pod (podKey's cache)
	mu     sync.Mutex
	nsKeys map[string]string // what they see of each namespace
}

func (w *world) scope(ns string, dir int) *scope {
	return memo(&w.mu, w.scopes, scopeKey{ns, dir}, func() *scope { return w.newScope(ns, dir) })
}

func (w *world) newScope(ns string, dir int) *scope {
	sc := &scope{scopeKey: scopeKey{ns, dir}, subject: newMentions(), peerPods: newMentions(), peerNS: newMentions(),
		portNames: map[string]bool{}, ports: cuts{}, extPorts: cuts{}}
	for _, p := range w.nps[ns] {
		sc.addNetworkPolicy(p)
	}
	for _, p := range w.n.calicoFor(ns) {
		sc.addCalico(p)
	}
	for _, p := range w.n.adminFor(ns) {
		sc.addAdmin(p)
	}
	sc.podSig = fmt.Sprint(dir, sc.peerPods.signature())
	if dir == egress {
		sc.podSig += fmt.Sprint(slices.Sorted(maps.Keys(sc.portNames)))
	}
	sc.nsKeys = map[string]string{}
	return sc
}

// addNetworkPolicy adds p when it isolates the direction (policyTypes as
// the API server defaults them).
func (sc *scope) addNetworkPolicy(p networkingv1.NetworkPolicy) {
	in, out := len(p.Spec.PolicyTypes) == 0, len(p.Spec.PolicyTypes) == 0 && len(p.Spec.Egress) > 0
	for _, t := range p.Spec.PolicyTypes {
		in, out = in || t == networkingv1.PolicyTypeIngress, out || t == networkingv1.PolicyTypeEgress
	}
	if !([2]bool{in, out})[sc.dir] {
		return
	}
	sc.nps = append(sc.nps, p)
	sc.subject.addSelector(&p.Spec.PodSelector)
	for _, r := range npRules(p, sc.dir) {
		external := len(r.peers) == 0 // no peer: everything, outside included
		var nets []string
		for _, peer := range r.peers {
			sc.peerPods.addSelector(peer.PodSelector)
			sc.peerNS.addSelector(peer.NamespaceSelector)
			if b := peer.IPBlock; b != nil {
				external = true
				nets = append(append(nets, b.CIDR), b.Except...)
			}
		}
		sc.addNets(external, nets)
		for _, pt := range r.ports {
			sc.addNetworkPolicyPort(external, pt)
		}
	}
}

// npRule is an ingress or an egress rule of a NetworkPolicy.
type npRule struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

func npRules(p networkingv1.NetworkPolicy, dir int) []npRule {
	var out []npRule
	if dir == ingress {
		for _, r := range p.Spec.Ingress {
			out = append(out, npRule{r.From, r.Ports})
		}
		return out
	}
	for _, r := range p.Spec.Egress {
		out = append(out, npRule{r.To, r.Ports})
	}
	return out
}

func (sc *scope) addNetworkPolicyPort(external bool, pt networkingv1.NetworkPolicyPort) {
	proto := corev1.ProtocolTCP
	if pt.Protocol != nil {
		proto = *pt.Protocol
	}
	switch {
	case pt.Port == nil: // every port of the protocol
	case pt.Port.Type == intstr.String:
		sc.portNames[pt.Port.StrVal] = true
	default:
		hi := pt.Port.IntVal
		if pt.EndPort != nil {
			hi = *pt.EndPort
		}
		sc.addPorts(external, proto, pt.Port.IntVal, hi)
	}
}

// addNets records the CIDRs of a rule that can match addresses outside
// the cluster.
func (sc *scope) addNets(external bool, nets []string) {
	if !external {
		return
	}
	for _, s := range nets {
		if p, err := parseNet(s); err == nil {
			sc.extNets = append(sc.extNets, p)
		}
	}
}

func (sc *scope) addPorts(external bool, proto corev1.Protocol, lo, hi int32) {
	sc.ports.add(proto, lo, hi)
	if external {
		sc.extPorts.add(proto, lo, hi)
	}
}

// addCalico adds a Calico policy selecting pods of the namespace in the
// direction (spec.types as Calico defaults them).
func (sc *scope) addCalico(p tiered.CalicoPolicy) {
	s := p.Spec
	types := [2]bool{len(s.Ingress) > 0 || len(s.Egress) == 0, len(s.Egress) > 0}
	if len(s.Types) > 0 {
		types = [2]bool{slices.Contains(s.Types, "Ingress"), slices.Contains(s.Types, "Egress")}
	}
	if !types[sc.dir] {
		return
	}
	sc.calico = append(sc.calico, p)
	sc.subject.addCalico(s.Selector)
	rules := s.Ingress
	if sc.dir == egress {
		rules = s.Egress
	}
	for _, r := range rules {
		subject, peer := r.Destination, r.Source
		if sc.dir == egress {
			subject, peer = r.Source, r.Destination
		}
		sc.subject.addCalico(subject.Selector)
		sc.subject.addCalico(subject.NotSelector)
		sc.peerPods.addCalico(peer.Selector)
		sc.peerPods.addCalico(peer.NotSelector)
		sc.peerNS.addCalico(peer.NamespaceSelector)
		external := peer.Selector == "" && peer.NamespaceSelector == ""
		sc.addNets(external, append(slices.Clone(peer.Nets), peer.NotNets...))
		proto := corev1.Protocol(strings.ToUpper(r.Protocol))
		for _, v := range append(slices.Clone(r.Destination.Ports), r.Destination.NotPorts...) {
			if lo, hi, ok := calicoPortRange(v); ok {
				sc.addPorts(external, proto, lo, hi)
			} else {
				sc.portNames[v.StrVal] = true
			}
		}
	}
}

// calicoPortRange reads a Calico port: a number or "first:last"; anything
// else is a name.
func calicoPortRange(v intstr.IntOrString) (lo, hi int32, ok bool) {
	if v.Type == intstr.Int {
		return v.IntVal, v.IntVal, true
	}
	a, b, isRange := strings.Cut(v.StrVal, ":")
	if !isRange {
		b = a
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	return int32(x), int32(y), err1 == nil && err2 == nil
}

func (sc *scope) addAdmin(p tiered.AdminPolicy) {
	rules := p.Spec.Ingress
	if sc.dir == egress {
		rules = p.Spec.Egress
	}
	if len(rules) == 0 {
		return // decides nothing in this direction
	}
	sc.admin = append(sc.admin, p)
	if s := p.Spec.Subject.Pods; s != nil {
		sc.subject.addSelector(&s.PodSelector)
	}
	for _, r := range rules {
		peers, external := r.From, false
		if sc.dir == egress {
			peers = r.To
		}
		var nets []string
		for _, peer := range peers {
			sc.peerNS.addSelector(peer.Namespaces)
			if peer.Pods != nil {
				sc.peerNS.addSelector(&peer.Pods.NamespaceSelector)
				sc.peerPods.addSelector(&peer.Pods.PodSelector)
			}
			if peer.Networks != nil {
				external = true
				nets = append(nets, peer.Networks...)
			}
		}
		sc.addNets(external, nets)
		for _, pt := range r.Ports {
			switch {
			case pt.PortNumber != nil:
				sc.addPorts(external, adminProtocol(pt.PortNumber.Protocol), pt.PortNumber.Port, pt.PortNumber.Port)
			case pt.PortRange != nil:
				sc.addPorts(external, adminProtocol(pt.PortRange.Protocol), pt.PortRange.Start, pt.PortRange.End)
			case pt.NamedPort != nil:
				sc.portNames[*pt.NamedPort] = true
			}
		}
	}
}

func adminProtocol(s string) corev1.Protocol {
	return corev1.Protocol(cmp.Or(strings.ToUpper(s), "TCP"))
}

// calicoFor returns the Calico policies that can select pods of ns: its
// own NetworkPolicies and the GlobalNetworkPolicies whose namespace
// selector matches it. Those get a selector naming ns instead: in a
// cluster holding only ns's pods the answer is the same, and a selector
// listing every tenant need not be parsed again for every question.
func (n *network) calicoFor(ns string) []tiered.CalicoPolicy {
	n.gnpOnce.Do(n.probeGlobals)
	var out []tiered.CalicoPolicy
	for i, p := range n.cluster.Calico {
		switch {
		case !p.Global:
			if cmp.Or(p.Namespace, "default") == ns {
				out = append(out, p)
			}
		case n.gnps == nil:
			out = append(out, p) // unknown: keep every one
		case slices.Contains(n.gnps[ns], i):
			p.Spec.NamespaceSelector = fmt.Sprintf("kubernetes.io/metadata.name == '%s'", ns)
			out = append(out, p)
		}
	}
	return out
}

// adminFor returns the admin policies whose subject's namespaces include
// ns, with the subject's namespace selector narrowed to ns (as calicoFor).
func (n *network) adminFor(ns string) []tiered.AdminPolicy {
	n.gnpOnce.Do(n.probeGlobals)
	var out []tiered.AdminPolicy
	for i, p := range n.cluster.Admin {
		if n.admins[i] == nil || !n.admins[i].Matches(n.nsLabels[ns]) {
			continue
		}
		s := p.Spec.Subject
		only := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}
		if s.Namespaces != nil {
			s.Namespaces = only
		} else if s.Pods != nil {
			s.Pods = &tiered.AdminPods{NamespaceSelector: *only, PodSelector: s.Pods.PodSelector}
		}
		p.Spec.Subject = s
		out = append(out, p)
	}
	return out
}

// probeGlobals finds, for every namespace, the GlobalNetworkPolicies
// whose namespaceSelector matches it, by asking the simulator rather than
// parsing Calico selectors again: each policy goes into a tier of its own
// whose default action is Pass, so the tiers that applied to a pod of the
// namespace are the ones the decision lists as passed.
func (n *network) probeGlobals() {
	n.admins = make([]labels.Selector, len(n.cluster.Admin))
	for i, p := range n.cluster.Admin {
		sel := p.Spec.Subject.Namespaces
		if p.Spec.Subject.Pods != nil {
			sel = &p.Spec.Subject.Pods.NamespaceSelector
		}
		if s, err := metav1.LabelSelectorAsSelector(sel); err == nil && sel != nil {
			n.admins[i] = s
		}
	}
	probe := &tiered.Cluster{}
	var index []int
	for i, p := range n.cluster.Calico {
		if !p.Global {
			continue
		}
		tier := "probe" + strconv.Itoa(len(index))
		order := float64(len(index))
		probe.Tiers = append(probe.Tiers, tiered.Tier{Name: tier, Spec: tiered.TierSpec{Order: &order, DefaultAction: "Pass"}})
		probe.Calico = append(probe.Calico, tiered.CalicoPolicy{Global: true, Name: tier,
			Spec: tiered.CalicoSpec{Tier: tier, NamespaceSelector: p.Spec.NamespaceSelector, Types: []string{"Ingress"}}})
		index = append(index, i)
	}
	n.gnps = map[string][]int{}
	if len(index) == 0 {
		return
	}
	for _, ns := range n.all {
		got, err := n.probeNamespace(probe, ns, index)
		if err != nil {
			n.fail(fmt.Errorf("GlobalNetworkPolicy namespace selectors: %w", err))
			n.gnps = nil
			return
		}
		n.gnps[ns] = got
	}
}

func (n *network) probeNamespace(probe *tiered.Cluster, ns string, index []int) ([]int, error) {
	c := *probe
	c.Namespaces = []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: n.nsK8s[ns].Labels}}}
	c.Pods = []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe"}}}
	v, err := c.Evaluate(netpol.ExternalEndpoint(netip.MustParseAddr("192.0.2.1")), netpol.PodEndpoint(ns, "probe"), netpol.Port{Port: 1})
	if err != nil {
		return nil, err
	}
	var out []int
	for _, passed := range v.Ingress.Passed {
		s, ok := strings.CutPrefix(passed, "tier probe")
		s, ok2 := strings.CutSuffix(s, " default action")
		i, err := strconv.Atoi(s)
		if !ok || !ok2 || err != nil || i >= len(index) {
			return nil, fmt.Errorf("unexpected explanation %q", passed)
		}
		out = append(out, index[i])
	}
	return out, nil
}
