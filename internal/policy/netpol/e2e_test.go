package netpol

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	networkingv1 "k8s.io/api/networking/v1"
)

// e2eCase is one scenario of testdata/e2e.yaml (its header explains the format).
type e2eCase struct {
	Name                 string                       `yaml:"name"`
	IPBlockMatchesPodIPs bool                         `yaml:"ipBlockMatchesPodIPs"`
	NamespaceLabels      map[string]map[string]string `yaml:"namespaceLabels"`
	PodLabels            map[string]map[string]string `yaml:"podLabels"`
	Policies             []map[string]any             `yaml:"policies"`
	Checks               []struct {
		Ports   []string `yaml:"ports"`
		Changes []string `yaml:"changes"`
	} `yaml:"checks"`
}

func TestUpstreamE2EScenarios(t *testing.T) {
	raw, err := os.ReadFile("testdata/e2e.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []e2eCase
	if err := yaml.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("testdata/e2e.yaml: %v", err)
	}
	upstream := 0
	for _, tc := range cases {
		if !strings.HasPrefix(tc.Name, "bulwark:") {
			upstream++
		}
		t.Run(tc.Name, func(t *testing.T) {
			c := e2eCluster(t, tc)
			for _, check := range tc.Checks {
				var ports []Port
				for _, p := range check.Ports {
					ports = append(ports, parsePort(t, p))
				}
				mx, err := c.Matrix(ports)
				if err != nil {
					t.Fatalf("Matrix: %v", err)
				}
				want := expectedTable(t, mx.Pods, check.Changes)
				for _, cell := range mx.Cells {
					if w := want[[2]string{cell.From.String(), cell.To.String()}]; cell.Verdict.Allowed != w {
						t.Errorf("%s -> %s %s: allowed = %v, want %v\n  egress:  %s\n  ingress: %s",
							cell.From, cell.To, cell.Port, cell.Verdict.Allowed, w, cell.Verdict.Egress, cell.Verdict.Ingress)
					}
				}
				if t.Failed() {
					var b strings.Builder
					_ = mx.WriteText(&b)
					t.Logf("got:\n%s", b.String())
				}
			}
		})
	}
	if upstream < 15 {
		t.Errorf("only %d upstream scenarios", upstream)
	}
}

func e2eCluster(t *testing.T, tc e2eCase) *Cluster {
	t.Helper()
	c := world()
	c.IPBlockMatchesPodIPs = tc.IPBlockMatchesPodIPs
	for i := range c.Namespaces {
		for k, v := range tc.NamespaceLabels[c.Namespaces[i].Name] {
			if c.Namespaces[i].Labels == nil {
				c.Namespaces[i].Labels = map[string]string{}
			}
			c.Namespaces[i].Labels[k] = v
		}
	}
	for i := range c.Pods {
		for k, v := range tc.PodLabels[c.Pods[i].Namespace+"/"+c.Pods[i].Name] {
			c.Pods[i].Labels[k] = v
		}
	}
	for _, doc := range tc.Policies {
		js, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var np networkingv1.NetworkPolicy
		if err := json.Unmarshal(js, &np); err != nil {
			t.Fatalf("policy: %v", err)
		}
		c.Policies = append(c.Policies, np)
	}
	return c
}

// expectedTable applies changes ("FROM -> TO: allow|deny", in order) to an
// all-allowed table; self is always allowed.
func expectedTable(t *testing.T, pods []Endpoint, changes []string) map[[2]string]bool {
	t.Helper()
	want := map[[2]string]bool{}
	for _, s := range pods {
		for _, d := range pods {
			want[[2]string{s.String(), d.String()}] = true
		}
	}
	for _, ch := range changes {
		from, to, allow, err := parseChange(ch)
		if err != nil {
			t.Fatalf("change %q: %v", ch, err)
		}
		for _, s := range pods {
			for _, d := range pods {
				if s != d && matchPattern(from, s) && matchPattern(to, d) {
					want[[2]string{s.String(), d.String()}] = allow
				}
			}
		}
	}
	return want
}

func parseChange(s string) (from, to string, allow bool, err error) {
	pair, verdict, ok := strings.Cut(s, ":")
	from, to, ok2 := strings.Cut(pair, "->")
	if !ok || !ok2 {
		return "", "", false, fmt.Errorf("want FROM -> TO: allow|deny")
	}
	switch strings.TrimSpace(verdict) {
	case "allow":
		allow = true
	case "deny":
	default:
		return "", "", false, fmt.Errorf("verdict %q", verdict)
	}
	return strings.TrimSpace(from), strings.TrimSpace(to), allow, nil
}

func matchPattern(pattern string, e Endpoint) bool {
	ns, pod, _ := strings.Cut(pattern, "/")
	return (ns == "*" || ns == e.Namespace) && (pod == "*" || pod == e.Pod)
}
