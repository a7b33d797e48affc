// Package gitops_test keeps the example GitOps repository honest: its
// configuration is valid, its committed policies are exactly what the
// compiler makes of its declarations in every flavor (INV-12: policies in
// Git never drift from what the tenants declared), and those policies keep
// its promises in every flavor.
package gitops_test

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/cli"
	"github.com/bulwark-sec/bulwark/internal/gittest"
	"github.com/bulwark-sec/bulwark/internal/golden"
)

var update = flag.Bool("update", false, "rewrite audit.golden")

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

// flavors are the compiler's flavors committed under policies/ (the
// compiler's OUTDIR for all of them: each writes kubernetes/, the guardrail
// flavors their own directory and rbac/ beside it), each with the
// directories `bulwark policy test` evaluates for it.
var flavors = []struct {
	name string
	dirs []string
}{
	{"kubernetes", []string{"kubernetes"}},
	{"calico", []string{"kubernetes", "calico"}},
	{"adminnetworkpolicy", []string{"kubernetes", "adminnetworkpolicy"}},
}

// TestCommittedPoliciesAreCompiled fails when a file under policies/ is
// not byte for byte what `bulwark policy compile` writes there in every
// flavor, or when a committed file is written by no flavor: regenerate
// them (see README.md) in the same change as the declarations.
func TestCommittedPoliciesAreCompiled(t *testing.T) {
	committed := readTree(t, "policies")
	written := map[string]bool{}
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			out := t.TempDir()
			if _, err := run(t, "policy", "compile", "--flavor", f.name, "--out", out, "."); err != nil {
				t.Fatal(err)
			}
			compiled := readTree(t, out)
			if len(compiled) == 0 {
				t.Fatal("the compiler wrote nothing")
			}
			for name, data := range compiled {
				written[name] = true
				if c, ok := committed[name]; !ok {
					t.Errorf("policies/%s is missing: regenerate the policies", name)
				} else if !bytes.Equal(c, data) {
					t.Errorf("policies/%s differs from the compiler's %s output: regenerate the policies", name, f.name)
				}
			}
		})
	}
	for name := range committed {
		if !written[name] {
			t.Errorf("policies/%s is not compiled from the declarations by any flavor: remove it", name)
		}
	}
}

// policyArgs are cluster/ and the flavor's policy directories under dir.
func policyArgs(dir string, dirs []string) []string {
	args := []string{"cluster"}
	for _, d := range dirs {
		args = append(args, filepath.Join(dir, d))
	}
	return args
}

func TestExpectationsHold(t *testing.T) {
	for _, f := range flavors {
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"tenants from namespace labels", nil},
			{"tenants from the registry too", []string{"--config", "."}},
		} {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				args := append(append([]string{"policy", "test"}, tc.args...), "expectations.yaml")
				out, err := run(t, append(args, policyArgs("policies", f.dirs)...)...)
				if err != nil {
					t.Fatalf("policy test: %v\n%s", err, out)
				}
				if strings.Contains(out, "FAIL") || strings.Contains(out, "ERROR") {
					t.Errorf("output:\n%s", out)
				}
			})
		}
	}
}

// withoutShopDefaultDeny copies the flavor's policy directories to a
// temporary directory, taking away from kubernetes/shop.yaml what isolates
// shop's pods for ingress by default: bulwark-default-deny and the
// platform namespaces' policies, which select every pod of the namespace
// too. (Removing bulwark-default-deny alone changes no verdict:
// bulwark-platform-monitoring and bulwark-allow-dns already select every
// pod for ingress and egress; the default deny is what keeps the namespace
// closed if those are ever dropped.)
func withoutShopDefaultDeny(t *testing.T, dirs []string) string {
	t.Helper()
	tmp := t.TempDir()
	for _, d := range dirs {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range readTree(t, filepath.Join("policies", d)) {
			if d == "kubernetes" && name == "shop.yaml" {
				kept := dropDocuments(data, "name: bulwark-default-deny\n", "name: bulwark-platform-")
				if bytes.Equal(kept, data) {
					t.Fatal("kubernetes/shop.yaml: no default-deny or platform policy to drop")
				}
				data = kept
			}
			if err := os.WriteFile(filepath.Join(tmp, d, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return tmp
}

// TestProbesSucceedWithoutDefaultDeny is the negative: without shop's
// default deny (see withoutShopDefaultDeny) the NetworkPolicies alone no
// longer keep RFC 2.5.1's promise, and the failure names the pod that
// became reachable.
func TestProbesSucceedWithoutDefaultDeny(t *testing.T) {
	dirs := flavors[0].dirs
	dir := withoutShopDefaultDeny(t, dirs)
	out, err := run(t, append([]string{"policy", "test", "expectations.yaml"}, policyArgs(dir, dirs)...)...)
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

// TestGuardrailsHoldWithoutDefaultDeny: in the guardrail flavors the same
// removal leaves the cross-tenant promises kept, because the platform's
// guardrail (the Calico platform tier, or the AdminNetworkPolicy), which
// tenants cannot override (INV-8), denies other namespaces' pods before
// any NetworkPolicy is consulted. Promises that rest on the tenant's own
// NetworkPolicies (the gateway's undeclared ports, outside addresses) may
// fail; only the cross-tenant ones are required here.
func TestGuardrailsHoldWithoutDefaultDeny(t *testing.T) {
	for _, f := range flavors[1:] {
		t.Run(f.name, func(t *testing.T) {
			paths := policyArgs(withoutShopDefaultDeny(t, f.dirs), f.dirs)
			out, _ := run(t, append([]string{"policy", "test", "expectations.yaml"}, paths...)...)
			for _, want := range []string{
				"PASS   cross-namespace probes fail by default (RFC 2.5.1)",
				"PASS   billing cannot reach shop",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			// The guardrail is what denies, not what is left of shop's policies.
			out, err := run(t, append([]string{"policy", "simulate", "--explain", "--from", "probe/probe", "--to", "shop/worker:9090"}, paths...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, "denied\n") || !strings.Contains(out, "ingress: deny: ") ||
				!strings.Contains(out, "bulwark-isolate-shop rule 3 (deny-other-namespaces): Deny") {
				t.Errorf("probe/probe -> shop/worker:9090 not denied by the guardrail:\n%s", out)
			}
		})
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

// readTree reads every file under dir, keyed by its slash-separated path
// relative to dir.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestAuditClean: the repository, committed to Git as a GitOps repository
// is, passes every check of bulwark audit — exit status 0, nothing above a
// note — and its evidence report finds all three compliance controls
// satisfied. The text report is kept in audit.golden (go test
// ./examples/gitops -update rewrites it). The audit runs on a copy
// committed to a temporary repository, so that this work tree's state (a
// file being edited) does not change the result.
func TestAuditClean(t *testing.T) {
	g := gittest.New(t)
	g.Commit(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), gittest.ReadDir(t, "."))
	evidence := t.TempDir()
	out, err := run(t, "audit", "--fail-on", "warning", "--evidence", evidence, g.Dir)
	if err != nil {
		t.Errorf("audit: %v\n%s", err, out)
	}
	golden.Check(t, "audit.golden", []byte(out), *update)
	md, err := os.ReadFile(filepath.Join(evidence, "evidence.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(md), "Status: **satisfied**"); n != 3 {
		t.Errorf("%d of 3 controls satisfied:\n%s", n, md)
	}
}
