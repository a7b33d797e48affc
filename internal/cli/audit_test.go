package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const auditData = "../audit/testdata/"

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
		{"clean", []string{auditData + "checks/inv1-good.yaml"}, 0, "0 errors"},
		{"findings", []string{auditData + "repo"}, 1, "INV-14  TLS secrets come from cert-manager"},
		{"notes pass by default", []string{auditData + "notes"}, 0, "not a Kubernetes object, not audited"},
		{"fail on note", []string{"--fail-on", "note", auditData + "notes"}, 1, ""},
		{"fail on warning includes errors", []string{"--fail-on", "warning", auditData + "checks/secops1-bad.yaml"}, 1, "SECOPS-1"},
		{"ingress class", []string{"--ingress-class", "nginx", auditData + "checks/inv2-good.yaml"}, 1, `not Bulwark's "nginx"`},
		{"json", []string{"--format", "json", auditData + "checks/inv3-good.yaml"}, 0, `"findings": []`},
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
