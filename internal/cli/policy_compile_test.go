package cli

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyCompileFlavors: each flavor writes its directory, the guardrail
// flavors add rbac/, and the kubernetes flavor writes only kubernetes/.
func TestPolicyCompileFlavors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		dirs string
	}{
		{[]string{"--flavor", "kubernetes"}, "kubernetes"},
		{[]string{"--flavor", "calico"}, "calico kubernetes rbac"},
		{[]string{"--flavor", "adminnetworkpolicy"}, "adminnetworkpolicy kubernetes rbac"},
		{[]string{"--flavor", "adminnetworkpolicy", "--cnp-v1alpha2"}, "clusternetworkpolicy kubernetes rbac"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"policy", "compile"}, tc.args...), "--out", out, "../policy/compile/testdata/repo")
			if err := Run(Env{Stdout: &stdout, Stderr: &stderr}, args); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			seen := map[string]bool{}
			var dirs []string
			for _, path := range strings.Fields(stdout.String()) {
				rel, err := filepath.Rel(out, path)
				if err != nil {
					t.Fatal(err)
				}
				if d := strings.Split(filepath.ToSlash(rel), "/")[0]; !seen[d] {
					seen[d] = true
					dirs = append(dirs, d)
				}
			}
			if got := strings.Join(dirs, " "); got != tc.dirs {
				t.Errorf("wrote under %q, want %q", got, tc.dirs)
			}
		})
	}
	for _, args := range [][]string{
		{"--flavor", "cilium"},
		{"--flavor", "calico", "--cnp-v1alpha2"},
		{"--flavor", "kubernetes", "--cnp-v1alpha2"},
	} {
		var stdout, stderr bytes.Buffer
		full := append(append([]string{"policy", "compile"}, args...), "--out", t.TempDir(), "../policy/compile/testdata/repo")
		if err := Run(Env{Stdout: &stdout, Stderr: &stderr}, full); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
