package tiered_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/load"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// world is the cluster every golden case adds its policies to: two
// namespaces, a client and a server in each.
const world = `
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: red}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: a, labels: {role: client}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: a, labels: {role: server, tier: db}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 80}, {name: dns, containerPort: 53, protocol: UDP}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: b, labels: {role: client}}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: b, labels: {role: server}}
status: {podIP: 10.0.1.2}
`

func cluster(t *testing.T, policies string) *tiered.Cluster {
	t.Helper()
	objs, errs := manifest.Parse("case.yaml", []byte(world+"---\n"+policies))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c, errs := load.Tiered(objs)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return c
}

// tier renders a Calico Tier.
func tier(name, order, extra string) string {
	return "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: " + name + "}\nspec: {order: " + order + extra + "}\n---\n"
}

// connection is one golden answer: from a/client (or the address) to
// the endpoint on port.
type connection struct {
	from, to string // "ns/pod" or an address
	port     netpol.Port
	allowed  bool
	explain  string // substring of the deciding explanation
}

func endpoint(s string) netpol.Endpoint {
	if ns, name, ok := strings.Cut(s, "/"); ok {
		return netpol.PodEndpoint(ns, name)
	}
	return netpol.ExternalEndpoint(netip.MustParseAddr(s))
}

var tcp80 = netpol.Port{Protocol: "TCP", Port: 80}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			c := cluster(t, tc.policies)
			for _, conn := range tc.want {
				v, err := c.Evaluate(endpoint(conn.from), endpoint(conn.to), conn.port)
				if err != nil {
					t.Fatal(err)
				}
				why := "egress:  " + v.Egress.String() + "\ningress: " + v.Ingress.String()
				if v.Allowed != conn.allowed {
					t.Errorf("%s -> %s %s: allowed = %v, want %v\n%s", conn.from, conn.to, conn.port, v.Allowed, conn.allowed, why)
				} else if !strings.Contains(why, conn.explain) {
					t.Errorf("%s -> %s %s: explanation lacks %q:\n%s", conn.from, conn.to, conn.port, conn.explain, why)
				}
			}
		})
	}
}

type golden struct {
	name, policies string
	want           []connection
}
