package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/waf"
)

const auditData = "../audit/testdata/"

// exampleRepo is the documented GitOps repository: it passes every check,
// with notes.
const exampleRepo = "../../examples/gitops"

// exitCode is what cmd/bulwark makes of Run's error.
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	return 1
}

func TestAuditExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		// out is a substring of stdout.
		out string
	}{
		{"clean", []string{exampleRepo}, 0, "0 errors, 0 warnings"},
		{"findings", []string{auditData + "repo"}, 1, "INV-14  TLS secrets come from cert-manager"},
		{"notes pass by default", []string{exampleRepo}, 0, "not a Kubernetes object, not audited"},
		{"fail on note", []string{"--fail-on", "note", exampleRepo}, 1, ""},
		{"fail on warning includes errors", []string{"--fail-on", "warning", auditData + "checks/secops1-bad.yaml"}, 1, "SECOPS-1"},
		{"ingress class", []string{"--ingress-class", "nginx", auditData + "checks/inv2-good.yaml"}, 1, `not Bulwark's "nginx"`},
		{"json", []string{"--format", "json", exampleRepo}, 0, `"errors": 0`},
		{"sarif", []string{"--format", "sarif", auditData + "checks/inv3-bad.yaml"}, 1, `"ruleId": "INV-3"`},
		{"help", []string{"--help"}, 0, "Usage: bulwark audit"},
		{"no path", nil, 2, ""},
		{"two paths", []string{auditData + "repo", auditData + "load"}, 2, ""},
		{"bad format", []string{"--format", "xml", auditData + "repo"}, 2, ""},
		{"bad severity", []string{"--fail-on", "fatal", auditData + "repo"}, 2, ""},
		{"unreadable path", []string{auditData + "does-not-exist"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			err := Run(Env{Stdout: &out, Stderr: &errw}, append([]string{"audit"}, tt.args...))
			if got := exitCode(err); got != tt.code {
				t.Errorf("exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", got, err, tt.code, out.String(), errw.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("stdout lacks %q:\n%s", tt.out, out.String())
			}
		})
	}
}

func TestAuditJSONIsParseable(t *testing.T) {
	var out bytes.Buffer
	err := Run(Env{Stdout: &out, Stderr: &bytes.Buffer{}}, []string{"audit", "--format", "json", auditData + "repo"})
	if exitCode(err) != 1 {
		t.Fatalf("err = %v, want findings", err)
	}
	var rep struct {
		Findings []struct {
			Check string `json:"check"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Findings) == 0 {
		t.Fatalf("JSON report: %v, %d findings\n%s", err, len(rep.Findings), out.String())
	}
}

// TestAuditEvidence: --evidence writes both reports whatever the
// findings, naming the three controls and no secret value; a directory
// that cannot be written is exit 2.
func TestAuditEvidence(t *testing.T) {
	tests := []struct {
		name, path string
		code       int
	}{
		{"findings", auditData + "repo", 1},
		{"notes only", exampleRepo, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "evidence")
			var out, errw bytes.Buffer
			err := Run(Env{Stdout: &out, Stderr: &errw}, []string{"audit", "--fail-on", "error", "--evidence", dir, tt.path})
			if got := exitCode(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d\nstderr:\n%s", got, err, tt.code, errw.String())
			}
			for _, file := range []string{"evidence.md", "evidence.html"} {
				data, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"SOC 2 CC6.6", "PCI DSS 6.6", "ISO 27001 A.13.1", tt.path, "Bulwark version"} {
					if !bytes.Contains(data, []byte(want)) {
						t.Errorf("%s lacks %q", file, want)
					}
				}
				// The committed TLS Secret's values in testdata/repo.
				for _, secret := range []string{"Q0VSVElGSUNBVEUtU0VOVElORUw=", "UFJJVkFURS1LRVktU0VOVElORUw="} {
					if bytes.Contains(data, []byte(secret)) {
						t.Errorf("%s contains a secret value", file)
					}
				}
			}
		})
	}

	t.Run("unwritable", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		err := Run(Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}, []string{"audit", "--evidence", filepath.Join(file, "dir"), auditData + "repo"})
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), file) {
			t.Errorf("err = %v, want exit 2 naming %s", err, file)
		}
	})
}

// TestAuditLedgerFlag: outside Git, INV-4 reads the ledger --ledger names.
// The noncompliant example's shop/web blocks: without a ledger that is
// unverifiable (a warning), with an empty state directory the ledger cannot
// be read (an error), and with a ledger where its rule set has served in
// detection for thirty days it holds.
func TestAuditLedgerFlag(t *testing.T) {
	repo := t.TempDir()
	for _, f := range []string{"platform.yaml", "tenants/shop.yaml", "tenants/blog.yaml"} {
		data, err := os.ReadFile(filepath.Join("../../examples/noncompliant", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	served := t.TempDir()
	cfg, err := config.LoadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	before, after, err := waf.PlatformRuleFiles(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := waf.OpenLedger(served)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cfg.Routes, func(r *config.Route) bool { return r.ID == "shop/web" })
	if i < 0 {
		t.Fatal("no route shop/web in the noncompliant example")
	}
	fp := waf.ForRoute(&cfg.Platform.WAF, cfg.Routes[i], before, after).Fingerprint()
	if err := l.Commit([]waf.LedgerChange{{Route: "shop/web", DetectionStart: fp, At: time.Now().Add(-30 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string // "" : no INV-4 finding
	}{
		{"no ledger", nil, "warning INV-4"},
		{"empty state directory", []string{"--ledger", t.TempDir()}, "error INV-4"},
		{"served thirty days", []string{"--ledger", served}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			args := append(append([]string{"audit", "--format", "json"}, tt.args...), repo)
			if err := Run(Env{Stdout: &out, Stderr: &bytes.Buffer{}}, args); exitCode(err) == 2 {
				t.Fatal(err)
			}
			var rep struct {
				Findings []struct{ Check, Severity, Message string }
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Findings {
				if f.Check == "INV-4" {
					got = append(got, f.Severity+" "+f.Check+": "+f.Message)
				}
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("INV-4 findings %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.want)):
				t.Errorf("INV-4 findings %q, want one %q", got, tt.want)
			}
		})
	}
}
