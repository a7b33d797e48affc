package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// expectCluster is the expect package's test cluster: tenant alpha
// (namespace a, open), tenant beta (namespace b, default deny; b/api
// accepts a/web on 9000).
const expectCluster = "../policy/expect/testdata/cluster.yaml"

func policyTest(t *testing.T, expectations string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "expectations.yaml")
	if err := os.WriteFile(file, []byte(expectations), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	args = append(append([]string{"policy", "test"}, args...), file, expectCluster)
	err = Run(Env{Stdout: &out, Stderr: &errw}, args)
	return out.String(), errw.String(), err
}

// policyTestWith is policyTest with manifests beside expectCluster.
func policyTestWith(t *testing.T, expectations string, manifests ...string) (stdout, stderr string, err error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "expectations.yaml")
	if err := os.WriteFile(file, []byte(expectations), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	err = Run(Env{Stdout: &out, Stderr: &errw}, append([]string{"policy", "test", file, expectCluster}, manifests...))
	return out.String(), errw.String(), err
}

func TestPolicyTestPasses(t *testing.T) {
	out, stderr, err := policyTest(t, `expectations:
  - {name: web calls api, from: {pod: a/web}, to: {tenant: beta}, port: 9000, expect: allow}
  - {name: beta is closed, from: {tenant: beta}, to: {tenant: alpha}, port: any, expect: deny}
`)
	if err != nil || stderr != "" {
		t.Fatalf("err %v, stderr %q", err, stderr)
	}
	if !strings.Contains(out, "PASS   web calls api") || !strings.HasSuffix(out, "2 of 2 expectations passed\n") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestPolicyTestFails(t *testing.T) {
	out, _, err := policyTest(t, `expectations:
  - {name: alpha cannot call api, from: {tenant: alpha}, to: {pod: b/api}, port: 9000, expect: deny}
`)
	if !errors.Is(err, errExpectations) || errors.Is(err, ErrUsage) {
		t.Fatalf("err = %v, want the expectations failure (exit 1)", err)
	}
	if !strings.Contains(out, "FAIL   alpha cannot call api") || !strings.Contains(out, "ingress: allow: allowed by rule b/allow-web rule 0") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestPolicyTestTenantsFromConfig(t *testing.T) {
	// The registry gives tenant gamma namespace c; beta's label still counts.
	dir := t.TempDir()
	platform := "tenants:\n  gamma:\n    hosts: [\"gamma.example.com\"]\n    namespaces: [c]\n"
	if err := os.WriteFile(filepath.Join(dir, "platform.yaml"), []byte(platform), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := policyTest(t, `expectations:
  - {name: gamma cannot reach beta, from: {tenant: gamma}, to: {tenant: beta}, port: 9000, expect: deny}
`, "--config", dir)
	if err != nil {
		t.Fatalf("err %v\n%s", err, out)
	}
	_, _, err = policyTest(t, `expectations:
  - {name: unknown without config, from: {tenant: gamma}, to: {tenant: beta}, port: 9000, expect: deny}
`)
	if !errors.Is(err, errExpectations) {
		t.Errorf("err = %v, want a failed (ERROR) expectation", err)
	}
}

func TestPolicyTestErrors(t *testing.T) {
	var out, errw bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errw}
	if err := Run(env, []string{"policy", "test", expectCluster}); !errors.Is(err, ErrUsage) {
		t.Errorf("one argument: err = %v, want usage", err)
	}
	if err := Run(env, []string{"policy", "test", "e.yaml", expectCluster, "--config", "x"}); !errors.Is(err, ErrUsage) {
		t.Errorf("flag after files: err = %v, want usage", err)
	}
	_, _, err := policyTest(t, "expectations:\n  - {name: x, from: {pod: a/web}, to: {pod: b/api}, port: 80, expect: perhaps}\n")
	if err == nil || errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "expectations.yaml:2: expectations[0].expect") {
		t.Errorf("bad file: err = %v, want a located error (exit 1)", err)
	}
}

// TestPolicyTestLayered: policy test evaluates AdminNetworkPolicies (and
// Calico tiers) as simulate does, instead of refusing them, and a failure
// names the guardrail that decided.
func TestPolicyTestLayered(t *testing.T) {
	anp := filepath.Join(t.TempDir(), "anp.yaml")
	if err := os.WriteFile(anp, []byte(`apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: isolate-b}
spec:
  priority: 20
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: b}}}
  ingress:
    - name: deny-other-namespaces
      action: Deny
      from: [{namespaces: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [b]}]}}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	const exps = `expectations:
  - {name: web calls api, from: {pod: a/web}, to: {pod: b/api}, port: 9000, expect: allow}
  - {name: alpha cannot call api, from: {tenant: alpha}, to: {pod: b/api}, port: 9000, expect: deny}
`
	out, stderr, err := policyTestWith(t, exps, anp)
	if !errors.Is(err, errExpectations) || stderr != "" {
		t.Fatalf("err %v, stderr %q; want the expectations failure", err, stderr)
	}
	for _, want := range []string{
		"FAIL   web calls api",
		"ingress: deny: AdminNetworkPolicy priority 20: AdminNetworkPolicy isolate-b rule 0 (deny-other-namespaces): Deny",
		"PASS   alpha cannot call api",
		"1 of 2 expectations passed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

// TestPolicyTestRefusesUnevaluatedKinds: a policy kind the simulator does
// not evaluate still means no answer.
func TestPolicyTestRefusesUnevaluatedKinds(t *testing.T) {
	cnp := filepath.Join(t.TempDir(), "cnp.yaml")
	if err := os.WriteFile(cnp, []byte("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: x}\nspec: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := policyTestWith(t, "expectations:\n  - {name: x, from: {pod: a/web}, to: {pod: b/api}, port: 9000, expect: allow}\n", cnp)
	if err == nil || !strings.Contains(err.Error(), "refusing to answer") || !strings.Contains(stderr, "error: ") || out != "" {
		t.Errorf("err %v, stderr %q, stdout %q; want a refusal", err, stderr, out)
	}
}
