package audit

import (
	"github.com/bulwark-sec/bulwark/internal/auditgen"
	"github.com/bulwark-sec/bulwark/internal/gittest"

	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// networkChecks are the checks the simulator answers.
var networkChecks = []string{"INV-5", "INV-6", "INV-7", "INV-8"}

// networkRepo builds a test repository: testdata/network/base, then the
// files of each testdata/network/<overlay> over it (overlays joined by
// "+"), without the files remove names (relative to the repository).
func networkRepo(t testing.TB, overlays string, remove ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, src := range append([]string{"base"}, strings.Split(overlays, "+")...) {
		if src == "" {
			continue
		}
		gittest.WriteFiles(t, dir, gittest.ReadDir(t, filepath.Join("testdata", "network", src)))
	}
	for _, r := range remove {
		if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(r))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// matchFinding reports whether got ("severity file:line object: message")
// matches want: the text before the first "…" is a prefix of got, each
// later part appears in got after the previous one.
func matchFinding(got, want string) bool {
	parts := strings.Split(want, "…")
	if !strings.HasPrefix(got, parts[0]) {
		return false
	}
	rest := got[len(parts[0]):]
	for _, p := range parts[1:] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return true
}

// checkFindings compares every network check's findings with want, in
// order; a check want does not name must have none.
func checkFindings(t *testing.T, res *Result, want map[string][]string) {
	t.Helper()
	for _, check := range networkChecks {
		got := located(res, check)
		if len(got) != len(want[check]) {
			t.Errorf("%s: got %d findings, want %d:\n%s", check, len(got), len(want[check]), strings.Join(got, "\n"))
			continue
		}
		for i, w := range want[check] {
			if !matchFinding(got[i], w) {
				t.Errorf("%s finding %d:\n got %s\nwant %s", check, i, got[i], w)
			}
		}
	}
}

// TestNetworkChecks audits small repositories: base (two tenants,
// compiled Calico guardrails and NetworkPolicies, RBAC) and each case's
// change to it. Every finding of INV-5 … INV-8 is listed, in order.
func TestNetworkChecks(t *testing.T) {
	tests := []struct {
		name    string
		overlay string
		remove  []string
		want    map[string][]string
	}{
		{name: "compiled policies are clean"},
		{name: "adminnetworkpolicy flavor is clean", overlay: "adminnetworkpolicy", remove: []string{"policies/calico"}},
		{name: "default deny removed but every pod still selected", overlay: "deny-by-other-policy"},
		{name: "no default deny", overlay: "no-default-deny", want: map[string][]string{
			"INV-5": {"error cluster/namespaces.yaml:13 Namespace shop: namespace shop does not deny ingress by default: a new pod there would accept connections from outside the cluster, from 0.0.0.0/0 on TCP (every port), UDP (every port), SCTP (every port); ::/0 on …(ingress allow: no policy decided (allow) [passed by GlobalNetworkPolicy platform.bulwark-isolate-shop rule 4 (pass-rest)])"},
			"INV-6": {"error cluster/tenants.yaml:14 Deployment shop/worker: Deployment shop/worker has cross-namespace connections no declaration authorizes: ingress-system/gateway to shop/worker on TCP (every port), UDP (every port), SCTP (every port) (egress allow: no policy decided (allow); ingress allow: no policy decided (allow) [passed by GlobalNetworkPolicy platform.bulwark-isolate-shop rule 1 (pass-gateway)])"},
		}},
		{name: "one pod open to the internet", overlay: "web-open", want: map[string][]string{
			"INV-5": {"error cluster/tenants.yaml:1 Deployment shop/web: Deployment shop/web in tenant namespace shop accepts connections nobody declared: from outside the cluster, from 0.0.0.0/0 on TCP/8080 (ingress allow: …allowed by rule shop/web-open rule 0 [passed by GlobalNetworkPolicy platform.bulwark-isolate-shop rule 4 (pass-rest)])"},
		}},
		{name: "one pod open to every namespace, kubernetes flavor only", overlay: "web-open", remove: []string{"policies/calico"}, want: map[string][]string{
			"INV-5": {
				"error cluster/tenants.yaml:1 Deployment shop/web: Deployment shop/web in tenant namespace shop accepts connections nobody declared: from pods of any other namespace on TCP/8080 (ingress allow: NetworkPolicy default (order 1000000): allow: allowed by rule shop/web-open rule 0)",
				"error cluster/tenants.yaml:1 Deployment shop/web: Deployment shop/web in tenant namespace shop accepts connections nobody declared: from outside the cluster, from 0.0.0.0/0 on TCP/8080 (",
			},
			"INV-6": {"error cluster/tenants.yaml:1 Deployment shop/web: Deployment shop/web has cross-namespace connections no declaration authorizes: kube-system/coredns to shop/web on TCP/8080; monitoring/prometheus to shop/web on TCP/8080 (egress allow: no policy decided (allow); ingress allow: …allowed by rule shop/web-open rule 0)"},
			"INV-8": {
				"error cluster/namespaces.yaml:13 Namespace shop: a NetworkPolicy tenant shop writes in namespace shop could open what the platform forbids: …no guardrail layer",
				"error cluster/namespaces.yaml:19 Namespace billing: a NetworkPolicy tenant billing writes in namespace billing could open what the platform forbids: …no guardrail layer",
			},
		}},
		{name: "allow-all ingress policy", overlay: "allow-all-ingress", want: map[string][]string{
			"INV-5": {"error cluster/namespaces.yaml:19 Namespace billing: namespace billing does not deny ingress by default: a new pod there would accept connections from outside the cluster, from 0.0.0.0/0 …allowed by rule billing/allow-all rule 0"},
			"INV-6": {"error cluster/tenants.yaml:27 Deployment billing/api: Deployment billing/api has cross-namespace connections no declaration authorizes: ingress-system/gateway to billing/api on TCP/1-8999, TCP/9001-65535, UDP (every port), SCTP (every port) (…allowed by rule billing/allow-all rule 0 [passed by GlobalNetworkPolicy platform.bulwark-isolate-billing rule 1 (pass-gateway)])"},
		}},
		{name: "undeclared egress to a platform namespace", overlay: "undeclared-egress", want: map[string][]string{
			"INV-6": {
				"error cluster/tenants.yaml:1 Deployment shop/web: Deployment shop/web has cross-namespace connections no declaration authorizes: shop/web to monitoring/prometheus on TCP/9090 (egress allow: …allowed by rule shop/push-metrics rule 0",
				"error cluster/tenants.yaml:14 Deployment shop/worker: Deployment shop/worker has cross-namespace connections no declaration authorizes: shop/worker to monitoring/prometheus on TCP/9090 (",
			},
		}},
		{name: "internet egress wider than declared", overlay: "wide-egress", want: map[string][]string{
			"INV-7": {
				"error cluster/tenants.yaml:1 Deployment shop/web: Deployment shop/web in tenant namespace shop can connect outside the cluster to 0.0.0.0-10.95.255.255 on TCP/8443; 10.96.0.0/12 on TCP/443, TCP/8443; 10.112.0.0-10.243.255.255 on TCP/8443; and 3 more, beyond its tenant's declared egress (0.0.0.0/0 on TCP 443) (egress allow: …allowed by rule shop/more-egress rule 0",
				"error cluster/tenants.yaml:14 Deployment shop/worker: Deployment shop/worker in tenant namespace shop can connect outside the cluster to 0.0.0.0-10.95.255.255 on TCP/8443; ",
			},
		}},
		{name: "kubernetes flavor only, egress to a forbidden CIDR", overlay: "kubernetes-only", remove: []string{"policies/calico"}, want: map[string][]string{
			"INV-7": {
				"error cluster/tenants.yaml:27 Deployment billing/api: Deployment billing/api in tenant namespace billing can connect to the forbidden 169.254.169.254/32 on TCP/80 (egress allow: NetworkPolicy default (order 1000000): allow: allowed by rule billing/metadata rule 0)",
				"error cluster/tenants.yaml:27 Deployment billing/api: Deployment billing/api in tenant namespace billing can connect outside the cluster to 169.254.0.0-169.254.169.253 on TCP/80; 169.254.169.255-169.254.255.255 on TCP/80, beyond its tenant's declared egress (none)",
			},
			"INV-8": {
				"error cluster/namespaces.yaml:13 Namespace shop: a NetworkPolicy tenant shop writes in namespace shop could open what the platform forbids: egress from shop/web and 1 more of namespace shop to the forbidden 169.254.169.254/32 on TCP (every port), UDP (every port), SCTP (every port) (…); billing/api to shop/web on TCP (every port)…; no guardrail layer: only NetworkPolicies, which tenants may edit; use bulwark policy compile --flavor calico or adminnetworkpolicy",
				"error cluster/namespaces.yaml:19 Namespace billing: a NetworkPolicy tenant billing writes in namespace billing could open what the platform forbids: egress from billing/api to the forbidden 169.254.169.254/32 …; shop/web and 1 more of namespace shop to billing/api on TCP/1-8999, TCP/9001-65535, UDP (every port), SCTP (every port) …; no guardrail layer",
			},
		}},
		{name: "tenant RBAC on the guardrails", overlay: "tenant-rbac", want: map[string][]string{
			"INV-8": {
				"error policies/rbac/extra.yaml:19 RoleBinding shop/shop-calico: binds group bulwark:tenant:shop to ClusterRole calico-editor, which grants * on networkpolicies.projectcalico.org in namespace shop (rule 0): tenants could edit the platform's guardrails",
				"error policies/rbac/extra.yaml:38 ClusterRoleBinding billing-deployer: binds service account billing/deployer to ClusterRole gnp-writer, which grants create on globalnetworkpolicies.projectcalico.org in every namespace (rule 0): tenants could edit the platform's guardrails",
				"error policies/rbac/extra.yaml:87 RoleBinding billing/shop-edits-billing: binds group bulwark:tenant:shop to ClusterRole edit, which grants create, delete, deletecollection, patch, update on networkpolicies.networking.k8s.io in namespace billing (rule 0): a tenant could edit the NetworkPolicies of a namespace not its own",
			},
		}},
		{name: "a policy the simulator does not evaluate", overlay: "unsupported", want: map[string][]string{
			"INV-5": {"warning policies/extra/cnp.yaml:3 ClusterNetworkPolicy allow-probe: policy not simulated: the simulator does not evaluate this kind yet"},
			"INV-6": {"warning policies/extra/cnp.yaml:3 ClusterNetworkPolicy allow-probe: policy not simulated"},
			"INV-7": {"warning policies/extra/cnp.yaml:3 ClusterNetworkPolicy allow-probe: policy not simulated"},
			"INV-8": {"warning policies/extra/cnp.yaml:3 ClusterNetworkPolicy allow-probe: policy not simulated"},
		}},
		{name: "no Bulwark configuration", remove: []string{"platform.yaml", "tenants"}, want: map[string][]string{
			"INV-5": {
				"error cluster/namespaces.yaml:9 Namespace monitoring: namespace monitoring does not deny ingress by default: a new pod there would accept connections from pods of any other namespace on TCP (every port)",
				"error cluster/namespaces.yaml:9 Namespace monitoring: namespace monitoring does not deny ingress by default: a new pod there would accept connections from outside the cluster",
			},
			"INV-6": {
				"warning cluster/namespaces.yaml:9 Namespace monitoring: cross-namespace paths into and out of namespace monitoring cannot be verified: the repository has no platform.yaml declaring them",
				"warning cluster/namespaces.yaml:13 Namespace shop: cross-namespace paths into and out of namespace shop cannot be verified",
				"warning cluster/namespaces.yaml:19 Namespace billing: cross-namespace paths into and out of namespace billing cannot be verified",
			},
			"INV-7": {
				"warning cluster/platform.yaml:29 Deployment monitoring/prometheus: Deployment monitoring/prometheus in tenant namespace monitoring can connect outside the cluster to 0.0.0.0/0 on TCP (every port), UDP (every port), SCTP (every port); ::/0 on …and no platform.yaml declares what tenants may reach",
				"warning cluster/tenants.yaml:1 Deployment shop/web: Deployment shop/web in tenant namespace shop can connect outside the cluster to 0.0.0.0-10.95.255.255 on TCP/443; 10.112.0.0-10.243.255.255 on TCP/443; 10.245.0.0-169.254.169.253 on TCP/443; and 1 more (…and no platform.yaml declares",
				"warning cluster/tenants.yaml:14 Deployment shop/worker: Deployment shop/worker in tenant namespace shop can connect outside the cluster to 0.0.0.0-10.95.255.255 on TCP/443;",
			},
			"INV-8": {
				"error cluster/namespaces.yaml:9 Namespace monitoring: a NetworkPolicy tenant monitoring writes in namespace monitoring could open what the platform forbids: shop/web and 1 more of namespace shop to monitoring/prometheus on TCP (every port)",
				"error cluster/namespaces.yaml:13 Namespace shop: a NetworkPolicy tenant shop writes in namespace shop could open what the platform forbids: monitoring/prometheus to shop/web and 1 more of namespace shop on TCP/9090 (…pass-platform-monitoring",
				"error cluster/namespaces.yaml:19 Namespace billing: a NetworkPolicy tenant billing writes in namespace billing could open what the platform forbids: monitoring/prometheus to billing/api on TCP/9090 (",
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := audit(t, networkRepo(t, tt.overlay, tt.remove...))
			checkFindings(t, res, tt.want)
			for _, f := range res.Findings {
				if f.Check == LoadID && f.Severity > Note {
					t.Errorf("load finding: %s %s", f.Location(), f.Message)
				}
			}
		})
	}
}

// TestExampleGitOps: the example repository, every guardrail flavor's
// policies loaded together, keeps INV-5 … INV-8.
func TestExampleGitOps(t *testing.T) {
	res := audit(t, filepath.Join("..", "..", "examples", "gitops"))
	checkFindings(t, res, nil)
	if ev := res.Evidence["INV-8"]; !slices.Contains(ev, "policies/rbac/shop.yaml") || !slices.Contains(ev, "policies/calico/platform.yaml") {
		t.Errorf("INV-8 evidence lacks the policies and RBAC it read: %v", ev)
	}
}

// TestGroupsAreExact asks the simulator about every pod pair of each
// whole cluster, and every pod against addresses outside it, on ports and
// addresses on both sides of every boundary the test policies name, and
// compares with the grouped answers the checks use: grouping pods and
// cutting ports and addresses must never change an answer, in either
// world (as committed, and with every tenant's policies replaced).
func TestGroupsAreExact(t *testing.T) {
	repos := []struct {
		name, overlay string
		remove        []string
		external      bool
	}{
		{"base", "", nil, true},
		{"kubernetes only", "", []string{"policies/calico"}, true},
		{"no default deny", "no-default-deny", nil, true},
		{"web open, kubernetes only", "web-open", []string{"policies/calico"}, true},
		{"odd policies", "odd-policies", nil, true},
		{"odd policies, kubernetes only", "odd-policies", []string{"policies/calico"}, true},
		{"odd policies, adminnetworkpolicy", "odd-policies+adminnetworkpolicy", []string{"policies/calico"}, true},
		{"no default deny, adminnetworkpolicy", "no-default-deny+adminnetworkpolicy", []string{"policies/calico"}, true},
		{"no configuration", "odd-policies", []string{"platform.yaml", "tenants"}, true},
		{"generated, two tenants", "", nil, false},
		{"generated, two tenants, adminnetworkpolicy", "", nil, false},
	}
	for _, tt := range repos {
		t.Run(tt.name, func(t *testing.T) {
			dir := networkRepo(t, tt.overlay, tt.remove...)
			if flavor, ok := strings.CutPrefix(tt.name, "generated, two tenants"); ok {
				dir = t.TempDir()
				opts := auditgen.Options{Tenants: 2, Services: 2, Workers: 8, Flavors: []string{cmp.Or(strings.TrimPrefix(flavor, ", "), "calico")}}
				if _, err := auditgen.Write(dir, opts); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			n := networkOf(r)
			for _, hostile := range []bool{false, true} {
				w := n.world(hostile)
				comparePairs(t, n, w)
				if tt.external && !hostile {
					compareExternal(t, n, w)
				}
			}
			if len(n.errs) > 0 {
				t.Errorf("simulation failures: %v", n.errs)
			}
		})
	}
}

var (
	samplePorts = func() []netpol.Port {
		var out []netpol.Port
		for _, proto := range protocols {
			for _, p := range []int32{1, 52, 53, 54, 79, 80, 81, 442, 443, 444, 4999, 5000, 5005, 5010, 5011, 7999, 8000, 8079,
				8080, 8081, 8100, 8101, 8442, 8443, 8444, 8999, 9000, 9001, 9050, 9089, 9090, 9091, 9100, 9101, 65535} {
				out = append(out, netpol.Port{Protocol: proto, Port: p})
			}
		}
		return out
	}()
	externalPorts = []netpol.Port{{Protocol: "TCP", Port: 1}, {Protocol: "TCP", Port: 80}, {Protocol: "TCP", Port: 81},
		{Protocol: "TCP", Port: 442}, {Protocol: "TCP", Port: 443}, {Protocol: "TCP", Port: 444}, {Protocol: "TCP", Port: 8443},
		{Protocol: "TCP", Port: 9089}, {Protocol: "TCP", Port: 9090}, {Protocol: "TCP", Port: 9091},
		{Protocol: "TCP", Port: 65535}, {Protocol: "UDP", Port: 1}, {Protocol: "UDP", Port: 4999}, {Protocol: "UDP", Port: 5000},
		{Protocol: "UDP", Port: 5010}, {Protocol: "UDP", Port: 5011}, {Protocol: "UDP", Port: 65535}, {Protocol: "SCTP", Port: 1}}
	externalAddrs = func() []netip.Addr {
		var out []netip.Addr
		for _, s := range []string{"0.0.0.0", "10.0.0.1", "10.96.0.0", "10.112.0.0", "10.244.0.1", "10.245.0.0", "169.254.0.1",
			"169.254.169.254", "169.254.169.255", "198.51.100.1", "198.51.100.200", "203.0.113.6", "203.0.113.7", "203.0.113.8",
			"255.255.255.255", "::", "2001:db8::1"} {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}()
)

// fullCluster is the whole cluster of w: every pod and every policy.
func fullCluster(n *network, w *world) *tiered.Cluster {
	c := *n.cluster
	c.Policies = nil
	for _, ns := range slices.Sorted(maps.Keys(w.nps)) {
		c.Policies = append(c.Policies, w.nps[ns]...)
	}
	return &c
}

func comparePairs(t *testing.T, n *network, w *world) {
	t.Helper()
	mx, err := fullCluster(n, w).Matrix(samplePorts)
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]*pod{}
	for _, p := range n.pods {
		byRef[p.ref()] = p
	}
	checked := 0
	for _, c := range mx.Cells {
		s, d := byRef[c.From.String()], byRef[c.To.String()]
		if s.ns == d.ns || !w.peerWanted(d.ns, s.ns) {
			continue
		}
		in, eg := w.table(d.ns, ingress), w.table(s.ns, egress)
		gotIn := allowedAt(in.ports, in.allowed[in.subjectOf[d]][in.peerGroup(n, s)], c.Port)
		gotEg := allowedAt(eg.ports, eg.allowed[eg.subjectOf[s]][eg.peerGroup(n, d)], c.Port)
		if gotIn != c.Verdict.Ingress.Allowed || gotEg != c.Verdict.Egress.Allowed {
			t.Errorf("hostile=%v %s to %s on %s: grouped ingress %v egress %v, simulator %v (%s) %v (%s)", w.hostile, s.ref(), d.ref(), c.Port,
				gotIn, gotEg, c.Verdict.Ingress.Allowed, c.Verdict.Ingress.Reason, c.Verdict.Egress.Allowed, c.Verdict.Egress.Reason)
		}
		checked++
	}
	if checked == 0 {
		t.Errorf("hostile=%v: no pair compared", w.hostile)
	}
}

func compareExternal(t *testing.T, n *network, w *world) {
	t.Helper()
	full := fullCluster(n, w)
	for _, ns := range n.tenantNamespaces() {
		for dir, g := range []*grid{w.grid(ns, ingress, "inv5", nil, nil, nil), w.grid(ns, egress, "inv7", nil, nil, nil)} {
			for si, sg := range g.t.subjects {
				for _, p := range sg.members {
					if p.obj == nil {
						continue // synthetic: not in the full cluster
					}
					for _, a := range externalAddrs {
						for _, port := range externalPorts {
							src, dst := netpol.ExternalEndpoint(a), p.endpoint()
							if dir == egress {
								src, dst = dst, src
							}
							v, err := full.Evaluate(src, dst, port)
							if err != nil {
								t.Fatal(err)
							}
							want := [2]bool{v.Ingress.Allowed, v.Egress.Allowed}[dir]
							if got := g.allowedAt(si, a, port); got != want {
								t.Errorf("%s %s %s on %s: grouped %v, simulator %v", p.ref(), directionName[dir], a, port, got, want)
							}
						}
					}
				}
			}
		}
	}
}

func allowedAt(ranges []portRange, ok []bool, p netpol.Port) bool {
	for i, r := range ranges {
		if r.proto == p.Protocol && r.lo <= p.Port && p.Port <= r.hi {
			return ok[i]
		}
	}
	panic(fmt.Sprintf("port %s in no range", p))
}

func (g *grid) allowedAt(si int, a netip.Addr, p netpol.Port) bool {
	for ai, r := range g.addrs {
		if r.lo.Compare(a) <= 0 && a.Compare(r.hi) <= 0 {
			return allowedAt(g.ports, g.allows[si][ai], p)
		}
	}
	panic(fmt.Sprintf("address %s in no interval", a))
}

func TestAddrRanges(t *testing.T) {
	tests := []struct {
		name string
		nets []string
		want []string
	}{
		{"nothing", nil, []string{"0.0.0.0/0", "::/0"}},
		{"a block and an exception", []string{"10.0.0.0/8", "10.1.0.0/16"},
			[]string{"0.0.0.0-9.255.255.255", "10.0.0.0/16", "10.1.0.0/16", "10.2.0.0-10.255.255.255", "11.0.0.0-255.255.255.255", "::/0"}},
		{"one address at the top", []string{"255.255.255.255/32", "2001:db8::/32"},
			[]string{"0.0.0.0-255.255.255.254", "255.255.255.255/32", "::-2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32", "2001:db9::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}},
		{"the same boundary twice", []string{"0.0.0.0/0", "0.0.0.0/1"}, []string{"0.0.0.0/1", "128.0.0.0/1", "::/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nets []netip.Prefix
			for _, s := range tt.nets {
				nets = append(nets, netip.MustParsePrefix(s))
			}
			var got []string
			for _, r := range addrRanges(nets) {
				got = append(got, r.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPortRanges(t *testing.T) {
	c := cuts{}
	c.add("TCP", 80, 80)
	c.add("TCP", 8000, 8100)
	c.add("", 53, 53)
	got := joinRanges(c.ranges(), 20)
	want := "TCP/1-52, TCP/53, TCP/54-79, TCP/80, TCP/81-7999, TCP/8000-8100, TCP/8101-65535, UDP/1-52, UDP/53, UDP/54-65535, SCTP/1-52, SCTP/53, SCTP/54-65535"
	if got != want {
		t.Errorf("ranges:\n got %s\nwant %s", got, want)
	}
	all := []portRange{{"TCP", 1, 65535}, {"UDP", 1, 65535}}
	left := subtractPorts(intersectRanges(all, []portRange{{"TCP", 50, 60}, {"UDP", 53, 53}}), []netpol.Port{{Protocol: "TCP", Port: 53}, {Protocol: "UDP", Port: 53}})
	if got, want := joinRanges(left, 5), "TCP/50-52, TCP/54-60"; got != want {
		t.Errorf("intersect and subtract: got %s, want %s", got, want)
	}
}

// TestMentions: what a selector can test decides which pods are one group.
func TestMentions(t *testing.T) {
	tests := []struct {
		name     string
		calico   string
		selector *metav1.LabelSelector
		a, b     map[string]string
		same     bool
	}{
		{"unnamed key", "app == 'web'", nil, map[string]string{"app": "web", "team": "a"}, map[string]string{"app": "web", "team": "b"}, true},
		{"value no one names", "app != 'web'", nil, map[string]string{"app": "api"}, map[string]string{"app": "db"}, true},
		{"named value", "app in {'web', \"api\"}", nil, map[string]string{"app": "api"}, map[string]string{"app": "db"}, false},
		{"present or absent", "has(tier)", nil, map[string]string{"tier": "x"}, map[string]string{}, false},
		{"substring test keeps every value", "app starts with 'w'", nil, map[string]string{"app": "web"}, map[string]string{"app": "db"}, false},
		{"label selector value", "", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"web"}}}},
			map[string]string{"app": "web"}, map[string]string{"app": "db"}, false},
		{"label selector other value", "", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			map[string]string{"app": "api"}, map[string]string{"app": "db"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMentions()
			m.addCalico(tt.calico)
			m.addSelector(tt.selector)
			if same := m.project(tt.a) == m.project(tt.b); same != tt.same {
				t.Errorf("%v and %v: same group %v, want %v", tt.a, tt.b, same, tt.same)
			}
		})
	}
}
