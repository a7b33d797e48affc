package audit

import (
	"github.com/bulwark-sec/bulwark/internal/gittest"

	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gitCase is a repository built from a fixture and the findings of one
// check on it.
type gitCase struct {
	name   string
	change change
	want   []string
}

// runGitCases builds each case from fixture and matches check's findings.
func runGitCases(t *testing.T, fixture map[string]string, check string, cases []gitCase) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.change.build(t, fixture)
			matchFindings(t, auditFindings(t, dir, Options{}, check), tt.want)
		})
	}
}

// change is a repository built from a fixture: commit overrides the
// fixture's files before the one commit ("" removes a file), dirty is
// written after it, and stage is then git-added without a commit.
type change struct {
	commit map[string]string
	dirty  map[string]string
	stage  []string
}

// build commits fixture with c's overrides in a new repository and
// applies c's uncommitted changes; it returns the repository's directory.
func (c change) build(t *testing.T, fixture map[string]string) string {
	t.Helper()
	g := gittest.New(t)
	files := map[string]string{}
	for name, content := range fixture {
		files[name] = content
	}
	for name, content := range c.commit {
		if content == "" {
			delete(files, name)
		} else {
			files[name] = content
		}
	}
	g.Commit(day0, files)
	g.Write(c.dirty)
	if len(c.stage) > 0 {
		g.Git(day0, append([]string{"add"}, c.stage...)...)
	}
	return g.Dir
}

// withoutDocument is a manifest file's content without the document
// holding marker.
func withoutDocument(content, marker string) string {
	docs := strings.Split(content, "\n---\n")
	var keep []string
	for _, d := range docs {
		if !strings.Contains(d, marker) {
			keep = append(keep, d)
		}
	}
	return strings.Join(keep, "\n---\n")
}

// The example repository, committed as it is, passes every Git check.
func TestExampleRepositoryIsClean(t *testing.T) {
	dir := change{}.build(t, gittest.ReadDir(t, filepath.Join("..", "..", "examples", "gitops")))
	for _, check := range []string{"INV-4", "INV-12", "INV-13"} {
		t.Run(check, func(t *testing.T) {
			matchFindings(t, auditFindings(t, dir, Options{}, check), nil)
		})
	}
}

func TestPolicyInGit(t *testing.T) {
	example := gittest.ReadDir(t, filepath.Join("..", "..", "examples", "gitops"))
	const shop = "policies/kubernetes/shop.yaml"
	const handMade = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-all
  namespace: shop
spec:
  podSelector: {}
  ingress: [{}]
`
	edited := strings.Replace(example[shop], "port: 8080", "port: 8081", 1)
	runGitCases(t, example, "INV-12", []gitCase{
		{"a hand-made policy", change{commit: map[string]string{"policies/kubernetes/extra.yaml": handMade}}, []string{
			"error policies/kubernetes/extra.yaml:1 NetworkPolicy shop/allow-all: hand-made policy: no declaration compiles to it, in any flavor",
		}},
		{"a hand-edited policy", change{commit: map[string]string{shop: edited}}, []string{
			"error policies/kubernetes/shop.yaml:104 NetworkPolicy shop/bulwark-gateway-web: hand-edited: differs from the compiled declarations at spec.ingress[0].ports[0].port",
		}},
		{"a compiled policy missing", change{commit: map[string]string{shop: withoutDocument(example[shop], "name: bulwark-default-deny")}}, []string{
			"error policies/kubernetes/shop.yaml NetworkPolicy shop/bulwark-default-deny: not in Git: the declarations compile to this policy (kubernetes, file kubernetes/shop.yaml), but the repository does not have it",
		}},
		{"a guardrail flavor not used", change{commit: map[string]string{"policies/calico/platform.yaml": ""}}, nil},
		{"a guardrail policy missing", change{commit: map[string]string{
			"policies/calico/platform.yaml": withoutDocument(example["policies/calico/platform.yaml"], "name: platform.bulwark-isolate-shop"),
		}}, []string{
			"error policies/calico/platform.yaml GlobalNetworkPolicy platform.bulwark-isolate-shop: not in Git: the declarations compile to this policy (calico, file calico/platform.yaml)",
		}},
		{"an untracked policy file", change{dirty: map[string]string{"policies/kubernetes/extra.yaml": handMade}}, []string{
			"error policies/kubernetes/extra.yaml: untracked: this file is not in Git; the network policies in it are not the ones in Git",
			"error policies/kubernetes/extra.yaml:1 NetworkPolicy shop/allow-all: hand-made policy",
		}},
		{"a modified policy file", change{dirty: map[string]string{shop: edited}}, []string{
			"error policies/kubernetes/shop.yaml: modified in the work tree: Git does not hold this version; the network policies in it are not the ones in Git",
			"error policies/kubernetes/shop.yaml:104 NetworkPolicy shop/bulwark-gateway-web: hand-edited",
		}},
		{"a staged policy file", change{dirty: map[string]string{shop: edited}, stage: []string{shop}}, []string{
			"error policies/kubernetes/shop.yaml: staged but not committed: Git does not hold this version",
			"error policies/kubernetes/shop.yaml:104 NetworkPolicy shop/bulwark-gateway-web: hand-edited",
		}},
	})
}

func TestPolicyInGitWithoutGitOrConfig(t *testing.T) {
	gittest.Isolate(t)
	plain := t.TempDir()
	gittest.WriteFiles(t, plain, gittest.ReadDir(t, filepath.Join("..", "..", "examples", "gitops")))
	matchFindings(t, auditFindings(t, plain, Options{}, "INV-12"), []string{
		"warning .: not in a Git work tree: cannot show the policies are in Git",
	})

	g := gittest.New(t)
	g.Commit(day0, map[string]string{"np.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: shop}\nspec: {podSelector: {}}\n"})
	matchFindings(t, auditFindings(t, g.Dir, Options{}, "INV-12"), []string{
		"note np.yaml: no Bulwark configuration (platform.yaml) to compile: the network policies in 1 file(s) cannot be compared with declarations",
	})
}

func TestWAFInGit(t *testing.T) {
	fixture := gittest.ReadDir(t, filepath.Join("testdata", "gitops", "waf"))
	adhoc, err := os.ReadFile(filepath.Join("testdata", "gitops", "adhoc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	platform := func(rules string) string {
		return strings.Replace(fixture["platform.yaml"], "before_crs: [rules/custom.conf]", rules, 1)
	}
	runGitCases(t, fixture, "INV-13", []gitCase{
		{"committed", change{}, nil},
		{"an untracked rule file", change{commit: map[string]string{"rules/custom.conf": ""}, dirty: map[string]string{"rules/custom.conf": fixture["rules/custom.conf"]}}, []string{
			"error rules/custom.conf: untracked: this file is not in Git; the WAF customizations in it are not version controlled",
		}},
		{"an ignored rule file", change{commit: map[string]string{".gitignore": "*.conf\n"}}, []string{
			"error rules/custom.conf: ignored by .gitignore: this file is not in Git",
		}},
		{"a modified exception", change{dirty: map[string]string{"tenants/shop.yaml": strings.Replace(fixture["tenants/shop.yaml"], "942100", "942200", 1)}}, []string{
			"error tenants/shop.yaml: modified in the work tree: Git does not hold this version; the WAF customizations in it are not version controlled",
		}},
		{"a staged platform file", change{dirty: map[string]string{"platform.yaml": fixture["platform.yaml"] + "# changed\n"}, stage: []string{"platform.yaml"}}, []string{
			"error platform.yaml: staged but not committed",
		}},
		{"an absolute rule path", change{commit: map[string]string{"platform.yaml": platform("after_crs: [rules/custom.conf, /etc/bulwark/extra.conf]")}}, []string{
			"error platform.yaml:5: waf.rules.after_crs[1] names /etc/bulwark/extra.conf, outside the repository: it is not version controlled with the configuration",
		}},
		// The ConfigMap copying rules/custom.conf is ad hoc once the
		// configuration no longer names that file.
		{"a rule path above the repository", change{commit: map[string]string{"platform.yaml": platform("before_crs: [../shared/extra.conf]")}}, []string{
			"error cluster/ingress.yaml:22 ConfigMap ingress-system/bulwark-rules: ConfigMap key custom.conf carries WAF rules (ModSecurity) outside Bulwark's configuration",
			"error platform.yaml:5: waf.rules.before_crs[0] names ../shared/extra.conf, outside the repository",
		}},
		{"a missing rule file", change{commit: map[string]string{"rules/custom.conf": ""}}, []string{
			"error cluster/ingress.yaml:22 ConfigMap ingress-system/bulwark-rules: ConfigMap key custom.conf carries WAF rules",
			"error platform.yaml:5: waf.rules.before_crs[0] names rules/custom.conf, which is not in the repository",
		}},
		{"ad-hoc rules in annotations and a ConfigMap", change{commit: map[string]string{"cluster/adhoc.yaml": string(adhoc)}}, []string{
			"error cluster/adhoc.yaml:8 Ingress shop/legacy: annotation nginx.ingress.kubernetes.io/enable-modsecurity configures ModSecurity in ingress-nginx outside Bulwark's configuration: it bypasses the reviewed, approved exception flow",
			"error cluster/adhoc.yaml:9 Ingress shop/legacy: annotation nginx.ingress.kubernetes.io/modsecurity-snippet configures ModSecurity in ingress-nginx",
			"error cluster/adhoc.yaml:11 Ingress shop/legacy: annotation bunkerweb.io/shop.example.com_USE_MODSECURITY configures BunkerWeb's ModSecurity",
			"error cluster/adhoc.yaml:22 ConfigMap shop/waf-extra: ConfigMap key extra.conf carries WAF rules (ModSecurity) outside Bulwark's configuration",
		}},
	})
}

// A candidate rules directory is version controlled file by file: an
// untracked CRS file in it is as ad hoc as any other rule.
func TestWAFInGitCandidateDirectory(t *testing.T) {
	fixture := gittest.ReadDir(t, filepath.Join("testdata", "gitops", "waf"))
	fixture["platform.yaml"] = strings.Replace(fixture["platform.yaml"], "  rules:\n", "  candidate:\n    rules_dir: crs\n  rules:\n", 1)
	fixture["crs/REQUEST-901-INITIALIZATION.conf"] = "# v4.26\n"
	dir := change{dirty: map[string]string{"crs/REQUEST-942-APPLICATION-ATTACK-SQLI.conf": "# v4.26\n"}}.build(t, fixture)
	matchFindings(t, auditFindings(t, dir, Options{}, "INV-13"), []string{
		"error crs/REQUEST-942-APPLICATION-ATTACK-SQLI.conf: untracked: this file is not in Git",
	})
}

func TestWAFInGitOutsideWorkTree(t *testing.T) {
	gittest.Isolate(t)
	dir := t.TempDir()
	gittest.WriteFiles(t, dir, gittest.ReadDir(t, filepath.Join("testdata", "gitops", "waf")))
	matchFindings(t, auditFindings(t, dir, Options{}, "INV-13"), []string{
		"warning .: not in a Git work tree: cannot show the WAF customizations are version controlled",
	})
}

func TestFirstDiff(t *testing.T) {
	obj := func(ports ...any) map[string]any {
		return map[string]any{"metadata": map[string]any{"labels": map[string]any{"app.kubernetes.io/managed-by": "bulwark"}},
			"spec": map[string]any{"ports": ports}}
	}
	tests := []struct {
		name      string
		want, got any
		at        string
	}{
		{"equal", obj(1.0, 2.0), obj(1.0, 2.0), ""},
		{"a value", obj(1.0, 2.0), obj(1.0, 3.0), "spec.ports[1]"},
		{"an extra element", obj(1.0), obj(1.0, 2.0), "spec.ports[1]"},
		{"a missing key", obj(1.0), map[string]any{"spec": map[string]any{"ports": []any{1.0}}}, "metadata"},
		{"an extra key", obj(1.0), map[string]any{"metadata": obj(1.0)["metadata"], "spec": map[string]any{"ports": []any{1.0}, "egress": []any{}}}, "spec.egress"},
		{"a dotted key", obj(1.0), map[string]any{"metadata": map[string]any{"labels": map[string]any{"app.kubernetes.io/managed-by": "me"}}, "spec": obj(1.0)["spec"]}, "metadata.labels[app.kubernetes.io/managed-by]"},
		{"a changed type", obj(1.0), map[string]any{"metadata": obj(1.0)["metadata"], "spec": "x"}, "spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, differs := firstDiff("", tt.want, tt.got)
			if differs != (tt.at != "") || at != tt.at {
				t.Errorf("firstDiff = %q, %v; want %q", at, differs, tt.at)
			}
		})
	}
}
