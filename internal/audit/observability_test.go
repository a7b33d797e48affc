package audit

import (
	"slices"
	"strings"
	"testing"
)

func TestObservabilityChecks(t *testing.T) {
	tests := []struct {
		repo  string
		check string
		want  []string // "severity location object: message" prefixes, in order
	}{
		{"good", "INV-9", []string{
			"note platform.yaml:6 : evidence: every block is a security event with time, request_id, src_ip",
		}},
		{"good", "INV-10", []string{
			`note cluster/monitoring.yaml:32 ConfigMap kube-system/cilium-config: evidence: Cilium's Hubble observes flows`,
		}},
		{"good", "INV-11", []string{
			"note cluster/monitoring.yaml:1 ServiceMonitor monitoring/gateway: evidence: ServiceMonitor monitoring/gateway scrapes the gateway's metrics",
		}},
		{"bad", "INV-9", []string{
			"note platform.yaml:4 : evidence: every block is a security event",
			"warning platform.yaml:4 : events go to stdout, but the repository deploys no log collector",
		}},
		{"bad", "INV-10", []string{
			"error cluster/all.yaml:48 FelixConfiguration default: Calico's default FelixConfiguration does not enable flow logs",
		}},
		{"bad", "INV-11", []string{
			"error . : no ServiceMonitor or PodMonitor scrapes the gateway's admin port 9901",
			"error . : no PrometheusRule alert uses bulwark_waf_errors_total",
			"error . : no PrometheusRule alert uses bulwark_waf_decisions_total",
			"error platform.yaml : listeners.admin is 127.0.0.1:9901, on loopback",
		}},
	}
	results := map[string]*Result{}
	for _, tt := range tests {
		t.Run(tt.repo+"/"+tt.check, func(t *testing.T) {
			res, ok := results[tt.repo]
			if !ok {
				res = audit(t, "testdata/observability/"+tt.repo)
				results[tt.repo] = res
			}
			got := located(res, tt.check)
			if len(got) != len(tt.want) {
				t.Fatalf("findings:\n%s\nwant %d", strings.Join(got, "\n"), len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("finding %d:\n got %s\nwant %s…", i, got[i], w)
				}
			}
		})
	}
}

func TestObservabilityEvidence(t *testing.T) {
	res := audit(t, "testdata/observability/good")
	for check, want := range map[string][]string{
		"INV-9":  {"cluster/monitoring.yaml", "platform.yaml"},
		"INV-10": {"cluster/monitoring.yaml"},
		"INV-11": {"cluster/gateway.yaml", "cluster/monitoring.yaml", "platform.yaml"},
	} {
		if got := res.Evidence[check]; !slices.Equal(got, want) {
			t.Errorf("%s evidence = %v, want %v", check, got, want)
		}
	}
}

// TestEventSchema keeps INV-9's promise true of the code: a security event
// serializes every required field.
func TestEventSchema(t *testing.T) {
	if m := missingEventFields(); len(m) > 0 {
		t.Errorf("events.Security lacks %v", m)
	}
}
