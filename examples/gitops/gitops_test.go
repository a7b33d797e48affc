// Package gitops_test keeps the example GitOps repository honest: its
// configuration is valid, its committed policies are exactly what the
// compiler makes of its declarations (INV-12: policies in Git never drift
// from what the tenants declared), and those policies keep its promises.
package gitops_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/cli"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	err := cli.Run(cli.Env{Stdout: &out, Stderr: &errw}, args)
	if errw.Len() > 0 {
		t.Logf("stderr:\n%s", errw.String())
	}
	return out.String(), err
}

func TestConfigCheck(t *testing.T) {
	if out, err := run(t, "config", "check", "."); err != nil {
		t.Fatalf("config check: %v\n%s", err, out)
	}
}

// TestCommittedPoliciesAreCompiled fails when policies/kubernetes is not
// byte for byte what `bulwark policy compile` makes of the declarations:
// regenerate it (see README.md) in the same change as the declarations.
func TestCommittedPoliciesAreCompiled(t *testing.T) {
	out := t.TempDir()
	if _, err := run(t, "policy", "compile", "--flavor", "kubernetes", "--out", out, "."); err != nil {
		t.Fatal(err)
	}
	compiled := readDir(t, filepath.Join(out, "kubernetes"))
	committed := readDir(t, filepath.Join("policies", "kubernetes"))
	for name, data := range compiled {
		if c, ok := committed[name]; !ok {
			t.Errorf("policies/kubernetes/%s is missing: regenerate the policies", name)
		} else if !bytes.Equal(c, data) {
			t.Errorf("policies/kubernetes/%s differs from the compiler's output: regenerate the policies", name)
		}
	}
	for name := range committed {
		if _, ok := compiled[name]; !ok {
			t.Errorf("policies/kubernetes/%s is not compiled from the declarations: remove it", name)
		}
	}
}

func TestExpectationsHold(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"tenants from namespace labels", nil},
		{"tenants from the registry too", []string{"--config", "."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"policy", "test"}, tc.args...), "expectations.yaml", "cluster", filepath.Join("policies", "kubernetes"))
			out, err := run(t, args...)
			if err != nil {
				t.Fatalf("policy test: %v\n%s", err, out)
			}
		})
	}
}

// TestProbesSucceedWithoutDefaultDeny is the negative: take away what
// isolates shop's pods for ingress by default — bulwark-default-deny and
// the platform namespaces' policies, which select every pod of the
// namespace too — and RFC 2.5.1's expectation must fail, naming the
// pod that became reachable. (Removing bulwark-default-deny alone changes
// no verdict: bulwark-platform-monitoring and bulwark-allow-dns already
// select every pod for ingress and egress; the default deny is what keeps
// the namespace closed if those are ever dropped.)
func TestProbesSucceedWithoutDefaultDeny(t *testing.T) {
	dir := t.TempDir()
	for name, data := range readDir(t, filepath.Join("policies", "kubernetes")) {
		if name == "shop.yaml" {
			data = dropDocuments(data, "name: bulwark-default-deny\n", "name: bulwark-platform-")
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, "policy", "test", "expectations.yaml", "cluster", dir)
	if err == nil {
		t.Fatalf("policy test passed without shop's default deny:\n%s", out)
	}
	for _, want := range []string{
		"FAIL   cross-namespace probes fail by default (RFC 2.5.1)",
		"probe/probe -> shop/worker TCP/9090: allow",
		"ingress: allow: no policy selects the pod",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// dropDocuments removes the YAML documents that contain any of marks.
func dropDocuments(data []byte, marks ...string) []byte {
	docs := strings.Split(string(data), "---\n")
	kept := docs[:0]
	for _, d := range docs {
		drop := false
		for _, m := range marks {
			drop = drop || strings.Contains(d, m)
		}
		if !drop {
			kept = append(kept, d)
		}
	}
	return []byte(strings.Join(kept, "---\n"))
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	return files
}
