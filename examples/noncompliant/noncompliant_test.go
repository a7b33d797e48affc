// Package noncompliant_test keeps the noncompliant example honest: every
// check of bulwark audit finds at least one violation in it, each where
// README.md says, and the report is kept in audit.golden.
package noncompliant_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/cli"
	"github.com/bulwark-sec/bulwark/internal/gittest"
	"github.com/bulwark-sec/bulwark/internal/golden"
)

var update = flag.Bool("update", false, "rewrite audit.golden")

// history commits the example as a GitOps repository would have it: the
// configuration with shop/web in detect mode on 5 January, the route
// switched to block two days later (the detection period is seven), the
// rest of the repository after; then a policy written into the work tree
// and never committed. It returns the repository's directory.
func history(t *testing.T) string {
	files := gittest.ReadDir(t, ".")
	delete(files, "audit.golden")
	g := gittest.New(t)
	day := func(d int) time.Time { return time.Date(2026, 1, d, 9, 0, 0, 0, time.UTC) }
	shop := files["tenants/shop.yaml"]
	detect := strings.Replace(shop, "mode: block", "mode: detect", 1)
	if detect == shop {
		t.Fatal("tenants/shop.yaml has no 'mode: block' to start in detect mode")
	}
	g.Commit(day(5), map[string]string{"platform.yaml": files["platform.yaml"], "tenants/shop.yaml": detect, "tenants/blog.yaml": files["tenants/blog.yaml"]})
	g.Commit(day(7), map[string]string{"tenants/shop.yaml": shop})
	g.Commit(day(8), files)
	g.Write(map[string]string{"policies/kubernetes/debug.yaml": debugPolicy})
	return g.Dir
}

// debugPolicy is written by hand into the work tree and never committed:
// it opens nothing, but it is neither compiled nor in Git (INV-12).
const debugPolicy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: debug-deny-all, namespace: blog}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`

func audit(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	err := cli.Run(cli.Env{Stdout: &out, Stderr: &errw}, append([]string{"audit"}, args...))
	return out.String(), err
}

// TestAuditGolden: the audit fails (exit status 1) with the report in
// audit.golden; go test ./examples/noncompliant -update rewrites it.
func TestAuditGolden(t *testing.T) {
	out, err := audit(t, history(t))
	if err == nil {
		t.Error("the audit of the noncompliant example passed")
	}
	golden.Check(t, "audit.golden", []byte(out), *update)
}

// TestEveryCheckViolated: each check, LOAD included, has a finding at
// warning or above.
func TestEveryCheckViolated(t *testing.T) {
	out, _ := audit(t, "--format", "json", history(t))
	var rep struct {
		Findings []struct{ Check, Severity string }
		Checks   []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	violated := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Severity != "note" {
			violated[f.Check] = true
		}
	}
	if len(rep.Checks) < 16 {
		t.Errorf("%d checks ran, want 16", len(rep.Checks))
	}
	for _, c := range rep.Checks {
		if !violated[c.ID] {
			t.Errorf("%s: no violation found", c.ID)
		}
	}
}
