package audit

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// sentinels are the secret values in testdata; no output may contain one.
var sentinels = []string{"PLAINTEXT-SENTINEL", "QkFTRTY0LVNFTlRJTkVM", "Q0VSVElGSUNBVEUtU0VOVElORUw=", "UFJJVkFURS1LRVktU0VOVElORUw=", "c29tZQ=="}

// audit runs every check over testdata, outside Git: testdata lives in
// this repository's work tree, whose state (a file being edited, a clone
// without history) must not change what these tests see. The Git-based
// checks have their own tests over temporary repositories.
func audit(t *testing.T, path string) *Result {
	t.Helper()
	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r.Git = nil
	return Run(r, Checks(Options{}))
}

// located renders a check's findings as "file:line object: message" for
// comparison.
func located(res *Result, check string) []string {
	var out []string
	for _, f := range res.Findings {
		if f.Check == check {
			out = append(out, fmt.Sprintf("%s %s %s: %s", f.Severity, f.Location(), f.Object, f.Message))
		}
	}
	return out
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		check string
		// want are substrings of the findings, one per finding, in order.
		want []string
	}{
		{"INV-1 bypasses", "inv1-bad.yaml", "INV-1", []string{
			`error inv1-bad.yaml:7 Ingress shop/web: Ingress uses ingress class "nginx", not Bulwark's "bulwark"`,
			`error inv1-bad.yaml:17 Service shop/public: tenant Service of type LoadBalancer`,
			`error inv1-bad.yaml:29 Deployment shop/agent: tenant workload uses hostNetwork`,
			`error inv1-bad.yaml:35 Deployment shop/agent: tenant workload binds host port 8080 (container agent)`,
			`error inv1-bad.yaml:51 Gateway shop/side-door: Gateway of class "nginx", not Bulwark's "bulwark"`,
			`error inv1-bad.yaml:61 HTTPRoute shop/web: HTTPRoute attaches to Gateway shop/side-door of class "nginx"`,
			`warning inv1-bad.yaml:62 HTTPRoute shop/web: HTTPRoute attaches to Gateway somewhere-else/edge, which the repository does not hold`,
		}},
		{"INV-1 clean", "inv1-good.yaml", "INV-1", nil},
		{"INV-2 weak protocols", "inv2-bad.yaml", "INV-2", []string{
			`error inv2-bad.yaml:7 Ingress shop/legacy: annotation nginx.ingress.kubernetes.io/ssl-protocols enables TLSv1, TLSv1.1`,
			`error inv2-bad.yaml:17 ConfigMap ingress-nginx/ingress-nginx-controller: ingress controller setting ssl-protocols enables TLSv1.1`,
			`error inv2-bad.yaml:31 Gateway istio-ingress/public: spec.servers[0].tls.minProtocolVersion is TLSV1_1`,
			`error inv2-bad.yaml:41 ClientTrafficPolicy envoy-gateway-system/legacy-clients: spec.tls.minVersion is 1.0`,
		}},
		{"INV-2 clean", "inv2-good.yaml", "INV-2", nil},
		{"INV-3 committed certificate", "inv3-bad.yaml", "INV-3", []string{
			`error inv3-bad.yaml:7 Secret shop/shop-tls: TLS Secret with certificate data is committed`,
		}},
		{"INV-3 clean", "inv3-good.yaml", "INV-3", nil},
		{"INV-14 unproduced secret", "inv14-bad.yaml", "INV-14", []string{
			`error inv14-bad.yaml:10 Ingress shop/web: spec.tls[0].secretName names TLS secret shop/shop-tls, which no cert-manager Certificate`,
		}},
		{"INV-14 clean", "inv14-good.yaml", "INV-14", nil},
		{"SECOPS-1 plaintext", "secops1-bad.yaml", "SECOPS-1", []string{
			`error secops1-bad.yaml:6 Secret billing/db: Secret commits plaintext values for key(s) password`,
			`error secops1-bad.yaml:14 Secret billing/api: Secret commits plaintext values for key(s) token`,
		}},
		{"SECOPS-1 clean", "secops1-good.yaml", "SECOPS-1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := audit(t, filepath.Join("testdata", "checks", tt.file))
			got := located(res, tt.check)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("finding %d:\n got %s\nwant %s…", i, got[i], w)
				}
			}
			for _, f := range res.Findings {
				if f.Check == LoadID {
					t.Errorf("unexpected load finding: %s", f.Message)
				}
			}
			assertNoSecrets(t, res)
		})
	}
}

func assertNoSecrets(t *testing.T, res *Result) {
	t.Helper()
	for _, format := range Formats {
		var b strings.Builder
		if err := WriteReport(&b, format, res); err != nil {
			t.Fatal(err)
		}
		for _, s := range sentinels {
			if strings.Contains(b.String(), s) {
				t.Errorf("%s report prints secret value %q", format, s)
			}
		}
	}
}

// TestIngressClassOption checks --ingress-class changes what INV-1 wants.
func TestIngressClassOption(t *testing.T) {
	r, err := Load(filepath.Join("testdata", "checks", "inv1-bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res := Run(r, Checks(Options{IngressClass: "nginx"}))
	for _, f := range located(res, "INV-1") {
		if strings.Contains(f, "Ingress shop/web") {
			t.Errorf("ingress class nginx configured, still reported: %s", f)
		}
	}
}

// TestTenantNamespacesFromConfig: with a Bulwark configuration, tenant
// namespaces are the registry's, so monitoring's LoadBalancer is not a
// tenant bypass; Bulwark's TLS minimum is reported as evidence.
func TestTenantNamespacesFromConfig(t *testing.T) {
	res := audit(t, filepath.Join("testdata", "repo"))
	got := located(res, "INV-1")
	if len(got) != 1 || !strings.HasPrefix(got[0], "error cluster/apps.yaml:15 Service shop/debug: tenant Service of type NodePort") {
		t.Errorf("INV-1 findings:\n%s", strings.Join(got, "\n"))
	}
	ev := located(res, "INV-2")
	if len(ev) != 1 || !strings.HasPrefix(ev[0], "note platform.yaml:2 : evidence: Bulwark's listener accepts TLS 1.3") {
		t.Errorf("INV-2 evidence:\n%s", strings.Join(ev, "\n"))
	}
}

// TestLoadContinues: a broken document is a LOAD finding with file and
// line, and the audit still reads the rest of the repository.
func TestLoadContinues(t *testing.T) {
	res := audit(t, filepath.Join("testdata", "load"))
	load := located(res, LoadID)
	if len(load) != 1 || !strings.HasPrefix(load[0], "error broken.yaml:7 : invalid YAML") {
		t.Errorf("LOAD findings:\n%s", strings.Join(load, "\n"))
	}
	if got := located(res, "SECOPS-1"); len(got) != 1 || !strings.Contains(got[0], "ok.yaml:6 Secret shop/leaked") {
		t.Errorf("audit did not continue past the broken file: %v", got)
	}
	assertNoSecrets(t, res)
}

// TestConfigErrors: an invalid Bulwark configuration is a LOAD finding
// with the configuration's file and line.
func TestConfigErrors(t *testing.T) {
	res := audit(t, filepath.Join("testdata", "badconfig"))
	load := located(res, LoadID)
	if len(load) != 1 || !strings.HasPrefix(load[0], `error platform.yaml:2 : Bulwark configuration: tls.min_version: "1.0" is refused`) {
		t.Errorf("LOAD findings:\n%s", strings.Join(load, "\n"))
	}
}

func TestUnreadablePath(t *testing.T) {
	if _, err := Load(filepath.Join("testdata", "does-not-exist")); err == nil {
		t.Fatal("Load of a missing path succeeded")
	}
}

func TestFieldPath(t *testing.T) {
	for in, want := range map[string]string{
		"spec.tls[0].secretName": "spec|tls|0|secretName",
		"metadata.annotations[nginx.ingress.kubernetes.io/ssl-protocols]": "metadata|annotations|nginx.ingress.kubernetes.io/ssl-protocols",
		"data[ssl-protocols]": "data|ssl-protocols",
		"spec":                "spec",
		"a[unclosed":          "a|unclosed",
	} {
		if got := strings.Join(fieldPath(in), "|"); got != want {
			t.Errorf("fieldPath(%q) = %s, want %s", in, got, want)
		}
	}
}
