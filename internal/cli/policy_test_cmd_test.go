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
