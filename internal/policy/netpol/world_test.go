package netpol

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The test world mirrors the upstream e2e suite's model
// (test/e2e/network/netpol): namespaces x, y, z; pods a, b, c in each,
// labelled pod=<name>; every pod serves 80 and 81 on TCP, UDP and SCTP
// under the names serve-<port>-<protocol>. Pod n/p has IP 10.0.N.P
// (x=1, y=2, z=3; a=1, b=2, c=3). Namespaces also carry team labels
// (x: red, y: blue, z: none) for namespace selector cases, and pods b carry
// role=db for Exists/DoesNotExist cases.
var (
	worldNamespaces = []string{"x", "y", "z"}
	worldPods       = []string{"a", "b", "c"}
	worldProtocols  = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	worldTeams      = map[string]string{"x": "red", "y": "blue"}
)

func world() *Cluster {
	c := &Cluster{}
	for ni, ns := range worldNamespaces {
		meta := metav1.ObjectMeta{Name: ns}
		if team, ok := worldTeams[ns]; ok {
			meta.Labels = map[string]string{"team": team}
		}
		c.Namespaces = append(c.Namespaces, corev1.Namespace{ObjectMeta: meta})
		for pi, name := range worldPods {
			c.Pods = append(c.Pods, worldPod(ns, name, fmt.Sprintf("10.0.%d.%d", ni+1, pi+1)))
		}
	}
	return c
}

func worldPod(ns, name, ip string) corev1.Pod {
	labels := map[string]string{"pod": name}
	if name == "b" {
		labels["role"] = "db"
	}
	var containers []corev1.Container
	for _, port := range []int32{80, 81} {
		for _, proto := range worldProtocols {
			containers = append(containers, corev1.Container{
				Name: fmt.Sprintf("c%d-%s", port, strings.ToLower(string(proto))),
				Ports: []corev1.ContainerPort{{
					Name:          fmt.Sprintf("serve-%d-%s", port, strings.ToLower(string(proto))),
					ContainerPort: port, Protocol: proto,
				}},
			})
		}
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: containers},
		Status:     corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
}

// parsePolicies decodes a YAML stream of NetworkPolicies. YAML goes through
// JSON so the API types' json tags (and IntOrString) decode exactly as
// kubectl would.
func parsePolicies(t testing.TB, src string) []networkingv1.NetworkPolicy {
	t.Helper()
	var out []networkingv1.NetworkPolicy
	dec := yaml.NewDecoder(strings.NewReader(src))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("policies: %v", err)
		}
		if doc == nil {
			continue
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("policies: %v", err)
		}
		var np networkingv1.NetworkPolicy
		if err := json.Unmarshal(raw, &np); err != nil {
			t.Fatalf("policies: %v", err)
		}
		out = append(out, np)
	}
}

// parseEndpoint reads "ns/pod" or an IP address.
func parseEndpoint(t testing.TB, s string) Endpoint {
	t.Helper()
	if ns, name, ok := strings.Cut(s, "/"); ok {
		return PodEndpoint(ns, name)
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("endpoint %q: %v", s, err)
	}
	return ExternalEndpoint(ip)
}

// parsePort reads "TCP/80".
func parsePort(t testing.TB, s string) Port {
	t.Helper()
	proto, num, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		t.Fatalf("port %q: want PROTO/NUMBER", s)
	}
	return Port{Protocol: corev1.Protocol(proto), Port: int32(n)}
}
