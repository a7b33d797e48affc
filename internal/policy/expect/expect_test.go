package expect

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/load"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

func testCluster(t *testing.T) *netpol.Cluster {
	t.Helper()
	objs, errs := manifest.Load("testdata/cluster.yaml")
	c, lerrs := load.Cluster(objs)
	if len(errs)+len(lerrs) > 0 {
		t.Fatalf("loading testdata: %v %v", errs, lerrs)
	}
	return c
}

// one parses a single expectation written as YAML flow fields.
func one(t *testing.T, fields string) Expectation {
	t.Helper()
	exps, err := Parse("e.yaml", []byte("expectations:\n  - {name: x, "+fields+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return exps[0]
}

func TestParse(t *testing.T) {
	exps, err := Parse("e.yaml", []byte(`expectations:
  - name: isolated
    from: {tenant: shop}
    to: {tenants: all}
    port: any
    expect: deny
  - name: dns
    from: {namespace: a}
    to: {pod: kube-system/coredns}
    port: 53/udp
    expect: allow
  - name: metadata
    from: {pod: a/web}
    to: {external: 169.254.169.254}
    port: "80"
    expect: deny
`))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, e := range exps {
		got = append(got, strings.Join([]string{e.Name, e.From.String(), e.To.String(), e.Port.String(), word(e.Allow)}, " "))
	}
	want := []string{
		"isolated {tenant: shop} {tenants: all} any deny",
		"dns {namespace: a} {pod: kube-system/coredns} UDP/53 allow",
		"metadata {pod: a/web} {external: 169.254.169.254} TCP/80 deny",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if exps[1].Line != 7 || exps[1].File != "e.yaml" {
		t.Errorf("second expectation at %s:%d, want e.yaml:7", exps[1].File, exps[1].Line)
	}
}

func TestParseErrors(t *testing.T) {
	const ok = "name: x, from: {pod: a/web}, to: {pod: b/api}, port: 80, expect: deny"
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "e.yaml:1: empty file"},
		{"top-level typo", "expectation: []\n", `e.yaml:1: unknown field "expectation"`},
		{"not a list", "expectations: {}\n", "e.yaml:1: expectations: expected a non-empty list"},
		{"unknown field", "expectations:\n  - {" + ok + ", except: x}\n", `e.yaml:2: expectations[0]: unknown field "except"`},
		{"duplicate field", "expectations:\n  - {" + ok + ", port: 81}\n", `e.yaml:2: expectations[0]: field "port" given twice`},
		{"missing expect", "expectations:\n  - {name: x, from: {pod: a/web}, to: {pod: b/api}, port: 80}\n", "e.yaml:2: expectations[0]: missing expect"},
		{"bad expect", "expectations:\n  - {name: x, from: {pod: a/web}, to: {pod: b/api}, port: 80, expect: maybe}\n", `expectations[0].expect: expected allow or deny, got "maybe"`},
		{"two selector keys", "expectations:\n  - {name: x, from: {pod: a/web, namespace: a}, to: {pod: b/api}, port: 80, expect: deny}\n", "expectations[0].from: expected exactly one of"},
		{"unknown selector", "expectations:\n  - {name: x, from: {service: a/web}, to: {pod: b/api}, port: 80, expect: deny}\n", `expectations[0].from: unknown field "service"`},
		{"tenants not all", "expectations:\n  - {name: x, from: {tenants: some}, to: {pod: b/api}, port: 80, expect: deny}\n", "expectations[0].from.tenants: expected all"},
		{"bad pod", "expectations:\n  - {name: x, from: {pod: web}, to: {pod: b/api}, port: 80, expect: deny}\n", "expectations[0].from.pod: expected NAMESPACE/NAME"},
		{"bad address", "expectations:\n  - {name: x, from: {pod: a/web}, to: {external: example.com}, port: 80, expect: deny}\n", "expectations[0].to.external: expected an IP address"},
		{"bad port", "expectations:\n  - {name: x, from: {pod: a/web}, to: {pod: b/api}, port: 70000, expect: deny}\n", "expectations[0].port: expected any, PORT or PORT/PROTO"},
		{"bad protocol", "expectations:\n  - {name: x, from: {pod: a/web}, to: {pod: b/api}, port: 80/icmp, expect: deny}\n", `expectations[0].port: protocol "icmp"`},
		{"both external", "expectations:\n  - {name: x, from: {external: 1.2.3.4}, to: {external: 5.6.7.8}, port: 80, expect: deny}\n", "both external"},
		{"any to external", "expectations:\n  - {name: x, from: {pod: a/web}, to: {external: 5.6.7.8}, port: any, expect: deny}\n", "an external destination declares none"},
		{"second item line", "expectations:\n  - {" + ok + "}\n  - {" + ok + ", bogus: 1}\n", `e.yaml:3: expectations[1]: unknown field "bogus"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("e.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestTenantsOf(t *testing.T) {
	c := testCluster(t)
	got, err := TenantsOf(map[string][]string{"alpha": {"a", "a2"}, "gamma": {"g"}}, c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"alpha": "a a2", "beta": "b", "gamma": "g"}
	for tenant, ns := range want {
		if strings.Join(got[tenant], " ") != ns {
			t.Errorf("tenant %s: namespaces %v, want %s", tenant, got[tenant], ns)
		}
	}
	if len(got) != len(want) {
		t.Errorf("tenants %v", got)
	}
	_, err = TenantsOf(map[string][]string{"gamma": {"b"}}, c)
	if err == nil || !strings.Contains(err.Error(), `namespace b belongs to tenant "gamma" (tenant registry) and to tenant "beta" (label bulwark.io/tenant)`) {
		t.Errorf("conflict: %v", err)
	}
}

func TestCheck(t *testing.T) {
	c := testCluster(t)
	tenants, err := TenantsOf(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		fields   string
		pairs    int
		failures []string // "from -> to port"
		err      string
	}{
		{"deny over a set holds", "from: {tenant: beta}, to: {tenant: alpha}, port: any, expect: deny", 2, nil, ""},
		{"deny over a set fails on one pair", "from: {tenant: alpha}, to: {tenant: beta}, port: any, expect: deny", 4,
			[]string{"a/web -> b/api TCP/9000"}, ""},
		{"allow over a set fails on one pair", "from: {namespace: a}, to: {pod: b/api}, port: 9000, expect: allow", 2,
			[]string{"a/db -> b/api TCP/9000"}, ""},
		{"allow for one pod holds", "from: {pod: a/web}, to: {pod: b/api}, port: 9000/tcp, expect: allow", 1, nil, ""},
		{"any is per destination", "from: {pod: b/api}, to: {tenants: all}, port: any, expect: deny", 2, nil, ""},
		{"a pod and itself are left out", "from: {namespace: a}, to: {namespace: a}, port: any, expect: allow", 2, nil, ""},
		{"external destination", "from: {tenants: all}, to: {external: 169.254.169.254}, port: 80, expect: deny", 3,
			[]string{"a/db -> 169.254.169.254 TCP/80", "a/web -> 169.254.169.254 TCP/80"}, ""},
		{"external source", "from: {external: 203.0.113.7}, to: {tenant: beta}, port: 9000, expect: deny", 1, nil, ""},
		{"unknown tenant", "from: {tenant: gamma}, to: {tenant: beta}, port: any, expect: deny", 0, nil, "from {tenant: gamma}: unknown tenant"},
		{"empty namespace", "from: {namespace: a}, to: {namespace: nowhere}, port: 80, expect: deny", 0, nil, "to {namespace: nowhere}: no pods"},
		{"unknown pod", "from: {pod: a/ghost}, to: {tenant: beta}, port: 80, expect: deny", 0, nil, "from {pod: a/ghost}: no such pod"},
		{"nothing to check", "from: {pod: a/web}, to: {pod: c/idle}, port: any, expect: deny", 0, nil, "no connection to check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Check(c, tenants, []Expectation{one(t, tc.fields)})[0]
			if tc.err != "" {
				if r.Err == nil || !strings.Contains(r.Err.Error(), tc.err) || r.Passed() {
					t.Errorf("err %v, want %q", r.Err, tc.err)
				}
				return
			}
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			var got []string
			for _, f := range r.Failures {
				got = append(got, f.From.String()+" -> "+f.To.String()+" "+f.Port.String())
			}
			if r.Pairs != tc.pairs || strings.Join(got, "; ") != strings.Join(tc.failures, "; ") {
				t.Errorf("pairs %d, failures %q; want %d, %q", r.Pairs, got, tc.pairs, tc.failures)
			}
			if r.Passed() != (len(tc.failures) == 0) {
				t.Errorf("Passed() = %v", r.Passed())
			}
		})
	}
}

// TestWriteNamesTheDecidingPolicy: a failure says which policy and rule
// (or which isolation) made the verdict differ.
func TestWriteNamesTheDecidingPolicy(t *testing.T) {
	c := testCluster(t)
	tenants, _ := TenantsOf(nil, c)
	results := Check(c, tenants, []Expectation{
		one(t, "from: {pod: a/web}, to: {pod: b/api}, port: 9000, expect: deny"),
		one(t, "from: {tenant: alpha}, to: {pod: b/api}, port: 9000, expect: allow"),
		one(t, "from: {tenant: beta}, to: {tenant: alpha}, port: any, expect: deny"),
	})
	var b bytes.Buffer
	failed, err := Write(&b, results, 5)
	if err != nil || failed != 2 {
		t.Fatalf("failed %d, err %v", failed, err)
	}
	want := `RESULT EXPECTATION  CHECKED
FAIL   x            1
       e.yaml:2: {pod: a/web} -> {pod: b/api} port TCP/9000: expected deny
       a/web -> b/api TCP/9000: allow
         egress:  allow: no policy selects the pod
         ingress: allow: allowed by rule b/allow-web rule 0
FAIL   x            2
       e.yaml:2: {tenant: alpha} -> {pod: b/api} port TCP/9000: expected allow
       a/db -> b/api TCP/9000: deny
         ingress: deny: isolated and no rule allows (selected by [b/allow-web b/default-deny])
PASS   x            2

1 of 3 expectations passed
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteShowsAFewPairs(t *testing.T) {
	c := testCluster(t)
	tenants, _ := TenantsOf(nil, c)
	results := Check(c, tenants, []Expectation{one(t, "from: {tenants: all}, to: {external: 198.51.100.1}, port: 80, expect: deny")})
	var b bytes.Buffer
	if _, err := Write(&b, results, 1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "a/db -> 198.51.100.1 TCP/80: allow") || !strings.Contains(b.String(), "... and 1 more") {
		t.Errorf("output:\n%s", b.String())
	}
}
