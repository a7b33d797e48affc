package audit

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// Mentions: what selectors can see of a label set.

// mentions are the label keys and values some selector can test. A label
// whose key is not among them cannot change any answer, nor can a value
// none of them compares with (it fails every equality and every set
// membership alike), so pods that agree on the rest are one group.
type mentions struct {
	keys, values map[string]bool
	// anyValue is set by a substring comparison (Calico contains, starts
	// with, ends with): then every value counts.
	anyValue bool
}

func newMentions() mentions { return mentions{keys: map[string]bool{}, values: map[string]bool{}} }

func (m *mentions) addSelector(s *metav1.LabelSelector) {
	if s == nil {
		return
	}
	for k, v := range s.MatchLabels {
		m.keys[k], m.values[v] = true, true
	}
	for _, e := range s.MatchExpressions {
		m.keys[e.Key] = true
		for _, v := range e.Values {
			m.values[v] = true
		}
	}
}

// addCalico collects a Calico selector's words and quoted values. Every
// run of label-key characters counts as a key (keywords too, which costs
// nothing), every quoted string as a value: nothing a selector compares
// can be missed.
func (m *mentions) addCalico(src string) {
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(src[i+1:], c)
			if end < 0 {
				m.anyValue = true
				return
			}
			m.values[src[i+1:i+1+end]] = true
			i += end + 2
		case isKeyByte(c):
			j := i
			for j < len(src) && isKeyByte(src[j]) {
				j++
			}
			w := src[i:j]
			m.keys[w] = true
			if w == "contains" || w == "starts" || w == "ends" {
				m.anyValue = true
			}
			i = j
		default:
			i++
		}
	}
}

func isKeyByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '/' ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// project renders what m can see of set, as part of a group key.
func (m *mentions) project(set map[string]string) string {
	var keys []string
	for k := range set {
		if m.keys[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := set[k]
		if !m.anyValue && !m.values[v] {
			v = "\x00" // a value no selector names; never a label value
		}
		b.WriteString(k + "=" + v + "\x1f")
	}
	return b.String()
}

// subjectKey groups the pods of the scope's namespace.
func (sc *scope) subjectKey(p *pod) string {
	key := sc.subject.project(p.k8s.Labels) + "\x1e" + ipsKey(p)
	if sc.dir == ingress {
		key += "\x1e" + sc.namedPorts(p) // resolved on the destination
	}
	return key
}

// peerKey groups the pods of other namespaces: a peer selector sees the
// namespace's labels and the pod's, Calico's implicit pod labels among
// them, and its addresses (Calico nets match pod IPs).
func (sc *scope) peerKey(n *network, p *pod) string {
	sc.mu.Lock()
	nsKey, ok := sc.nsKeys[p.ns]
	if !ok {
		nsKey = sc.peerNS.project(n.nsLabels[p.ns])
		sc.nsKeys[p.ns] = nsKey
	}
	sc.mu.Unlock()
	return nsKey + "\x1e" + n.podKey(sc, p)
}

// podKey is what sc's peer selectors see of p itself. Scopes whose peer
// selectors name the same labels share it: most compute it for no pod.
func (n *network) podKey(sc *scope, p *pod) string {
	n.mu.Lock()
	cache := n.podKeys[sc.podSig]
	if cache == nil {
		cache = map[*pod]string{}
		n.podKeys[sc.podSig] = cache
	}
	key, ok := cache[p]
	n.mu.Unlock()
	if ok {
		return key
	}
	implicit := map[string]string{"projectcalico.org/namespace": p.ns, "projectcalico.org/orchestrator": "k8s"}
	key = sc.peerPods.project(p.k8s.Labels) + "\x1e" + sc.peerPods.project(implicit) + "\x1e" + ipsKey(p)
	if sc.dir == egress {
		key += "\x1e" + sc.namedPorts(p)
	}
	n.mu.Lock()
	cache[p] = key
	n.mu.Unlock()
	return key
}

// signature identifies what m can see.
func (m *mentions) signature() string {
	return fmt.Sprint(m.anyValue, slices.Sorted(maps.Keys(m.keys)), slices.Sorted(maps.Keys(m.values)))
}

func ipsKey(p *pod) string {
	ips := []string{p.k8s.Status.PodIP}
	for _, ip := range p.k8s.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	return strings.Join(ips, ",")
}

// namedPorts are p's container ports with a name some rule uses.
func (sc *scope) namedPorts(p *pod) string {
	var out []string
	for _, cp := range containerPorts(p) {
		if sc.portNames[cp.Name] {
			out = append(out, fmt.Sprintf("%s/%s/%d", cp.Name, protocolOf(cp), cp.ContainerPort))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func containerPorts(p *pod) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, c := range p.k8s.Spec.Containers {
		out = append(out, c.Ports...)
	}
	return out
}

func protocolOf(cp corev1.ContainerPort) corev1.Protocol {
	return cmp.Or(cp.Protocol, corev1.ProtocolTCP)
}

// Tables: one scope's answers for every group of pods, from one matrix.

// group is pods the scope cannot tell apart; rep stands for them.
type group struct {
	rep     *pod
	members []*pod
}

// table holds, for a scope, whether each subject group allows each peer
// group on each elementary port range (the direction of the scope only).
type table struct {
	sc       *scope
	subjects []*group
	peers    []*group
	ports    []portRange
	allowed  [][][]bool // [subject][peer][port]

	subjectOf map[*pod]int
	peerIndex map[string]int // peer key → peer group
	synthetic *pod           // a new pod with no labels in the namespace (normal ingress tables)
	fresh     *pod           // a pod of a namespace that did not exist (normal ingress tables)
}

// table simulates the scope ns/dir against every pod of another namespace
// the check needs: in the hostile world, pods of other tenants; otherwise
// pods of other namespaces, when one side is a tenant's.
func (w *world) table(ns string, dir int) *table {
	return memo(&w.mu, w.tables, scopeKey{ns, dir}, func() *table { return w.newTable(ns, dir) })
}

// memo returns m[k], building it on first use. build runs without the
// lock: it may ask for other entries.
func memo[K comparable, V any](mu *sync.Mutex, m map[K]V, k K, build func() V) V {
	mu.Lock()
	v, ok := m[k]
	mu.Unlock()
	if ok {
		return v
	}
	v = build()
	mu.Lock()
	m[k] = v
	mu.Unlock()
	return v
}

func (w *world) newTable(ns string, dir int) *table {
	t := &table{sc: w.scope(ns, dir), subjectOf: map[*pod]int{}, peerIndex: map[string]int{}}
	subjects := slices.Clone(w.n.podsIn[ns])
	var peers []*pod
	if !w.hostile && dir == ingress && w.n.owner[ns] != "" {
		t.synthetic, t.fresh = w.n.syntheticPods(ns)
		subjects = append(subjects, t.synthetic)
		peers = append(peers, t.fresh)
	}
	for _, p := range w.n.pods {
		if p.ns != ns && w.peerWanted(ns, p.ns) {
			peers = append(peers, p)
		}
	}
	t.group(w.n, subjects, peers)
	w.n.simulate(t)
	return t
}

func (w *world) peerWanted(ns, other string) bool {
	if w.hostile {
		return w.n.owner[ns] != "" && w.n.owner[other] != "" && w.n.owner[ns] != w.n.owner[other]
	}
	return w.n.crossTenant(ns, other)
}

func (t *table) group(n *network, subjects, peers []*pod) {
	byKey := map[string]int{}
	for _, p := range subjects {
		key := t.sc.subjectKey(p)
		if p == t.synthetic {
			key = "\x00synthetic"
		}
		i, ok := byKey[key]
		if !ok {
			i = len(t.subjects)
			byKey[key] = i
			t.subjects = append(t.subjects, &group{rep: p})
		}
		t.subjects[i].members = append(t.subjects[i].members, p)
		t.subjectOf[p] = i
	}
	for _, p := range peers {
		key := "\x00fresh"
		if p != t.fresh {
			key = t.sc.peerKey(n, p)
		}
		i, ok := t.peerIndex[key]
		if !ok {
			i = len(t.peers)
			t.peerIndex[key] = i
			t.peers = append(t.peers, &group{rep: p})
		}
		t.peers[i].members = append(t.peers[i].members, p)
	}
}

// syntheticPods returns a new pod with no labels in ns and a pod in a
// namespace that did not exist before: the sources and destinations a
// default must hold for.
func (n *network) syntheticPods(ns string) (synthetic, fresh *pod) {
	name := "bulwark-audit-new-pod"
	for slices.ContainsFunc(n.podsIn[ns], func(p *pod) bool { return p.name == name }) {
		name += "-x"
	}
	freshNS := "bulwark-audit-new-namespace"
	for n.nsLabels[freshNS] != nil {
		freshNS += "-x"
	}
	mk := func(ns, name string) *pod {
		return &pod{ns: ns, name: name, k8s: corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
	}
	return mk(ns, name), mk(freshNS, "new-pod")
}

// peerGroup returns the group of p, a pod of another namespace, or -1
// when the table did not simulate it.
func (t *table) peerGroup(n *network, p *pod) int {
	key := t.sc.peerKey(n, p)
	if i, ok := t.peerIndex[key]; ok {
		return i
	}
	return -1
}

// simulate fills t.allowed, a matrix per slice of peer groups so that
// the subject × subject and peer × peer cells it also computes stay few.
func (n *network) simulate(t *table) {
	c := cuts{}.merge(t.sc.ports)
	side := t.subjects
	if t.sc.dir == egress {
		side = t.peers // named ports resolve on the destination
	}
	for _, g := range side {
		for _, cp := range containerPorts(g.rep) {
			if t.sc.portNames[cp.Name] {
				c.add(protocolOf(cp), cp.ContainerPort, cp.ContainerPort)
			}
		}
	}
	t.ports = c.ranges()
	t.allowed = make([][][]bool, len(t.subjects))
	for i := range t.allowed {
		t.allowed[i] = make([][]bool, len(t.peers))
		for j := range t.allowed[i] {
			t.allowed[i][j] = make([]bool, len(t.ports)) // denied until simulated
		}
	}
	chunk := max(8, len(t.subjects))
	for start := 0; start < len(t.peers); start += chunk {
		end := min(len(t.peers), start+chunk)
		if err := n.simulateChunk(t, start, end); err != nil {
			n.fail(fmt.Errorf("namespace %s, %s: %w", t.sc.ns, directionName[t.sc.dir], err))
			return
		}
	}
}

func (n *network) simulateChunk(t *table, start, end int) error {
	var pods []*pod
	for _, g := range t.subjects {
		pods = append(pods, g.rep)
	}
	for _, g := range t.peers[start:end] {
		pods = append(pods, g.rep)
	}
	ports := make([]netpol.Port, len(t.ports))
	for i, r := range t.ports {
		ports[i] = r.port()
	}
	mx, err := matrix(n.subCluster(t.sc, pods), ports)
	if err != nil {
		return err
	}
	at := map[string]int{}
	for i, e := range mx.Pods {
		at[e.String()] = i
	}
	size := len(mx.Pods)
	for si, s := range t.subjects {
		for pi := start; pi < end; pi++ {
			a, b := at[s.rep.endpoint().String()], at[t.peers[pi].rep.endpoint().String()]
			ok := t.allowed[si][pi]
			for k := range ports {
				if t.sc.dir == ingress {
					ok[k] = mx.Cells[k*size*size+b*size+a].Verdict.Ingress.Allowed
				} else {
					ok[k] = mx.Cells[k*size*size+a*size+b].Verdict.Egress.Allowed
				}
			}
		}
	}
	return nil
}

// subCluster is the scope's policies with the given pods and their
// namespaces: enough for the scope's direction, which is all that is read.
func (n *network) subCluster(sc *scope, pods []*pod) *tiered.Cluster {
	c := &tiered.Cluster{Calico: sc.calico, Admin: sc.admin}
	if len(sc.calico) > 0 {
		c.Tiers = n.cluster.Tiers
	}
	c.Policies = sc.nps
	c.IPBlockMatchesPodIPs = n.cluster.IPBlockMatchesPodIPs
	seen := map[string]bool{}
	for _, p := range pods {
		c.Pods = append(c.Pods, p.k8s)
		if ns, ok := n.nsK8s[p.ns]; ok && !seen[p.ns] {
			seen[p.ns] = true
			c.Namespaces = append(c.Namespaces, ns)
		}
	}
	return c
}

// matrix is c.Matrix, by the Kubernetes engine alone when c holds nothing
// else (the layered model then gives the same answers, without the cost
// of rendering each decision).
func matrix(c *tiered.Cluster, ports []netpol.Port) (*netpol.Matrix, error) {
	if c.Layered() {
		return c.Matrix(ports)
	}
	return c.Cluster.Matrix(ports)
}

// evaluate is c.Evaluate's answer for each direction, as matrix.
func evaluate(c *tiered.Cluster, src, dst netpol.Endpoint, port netpol.Port) ([2]bool, error) {
	if c.Layered() {
		v, err := c.Evaluate(src, dst, port)
		return [2]bool{v.Ingress.Allowed, v.Egress.Allowed}, err
	}
	v, err := c.Cluster.Evaluate(src, dst, port)
	return [2]bool{v.Ingress.Allowed, v.Egress.Allowed}, err
}

// explain asks the simulator once more, for the finding's words.
func (n *network) explain(sc *scope, src, dst netpol.Endpoint, pods []*pod, port netpol.Port) string {
	v, err := n.subCluster(sc, pods).Evaluate(src, dst, port)
	if err != nil {
		return "explanation unavailable: " + err.Error()
	}
	if sc.dir == ingress {
		return "ingress " + v.Ingress.String()
	}
	return "egress " + v.Egress.String()
}
