package audit

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/compile"
)

// policyInGitCheck is INV-12, offline: the network policies committed are
// exactly what the declarations compile to. A policy no declaration
// compiles to was made by hand; one that differs was edited by hand; a
// compiled one that is missing is not in Git. Any of them means the
// cluster's policies are not what review approved. And the files must be
// committed as they are, or Git does not hold them at all.
type policyInGitCheck struct{}

func (policyInGitCheck) ID() string { return "INV-12" }
func (policyInGitCheck) Title() string {
	return "network policies in Git are exactly the compiled declarations"
}
func (policyInGitCheck) Rule() string {
	return "INV-12: Network policies MUST be in Git (RFC-TENANT-SECURITY-0001 §2.4)."
}

// networkPolicyKinds are the kinds that decide traffic: every object of
// them must come from the declarations. Calico's staged kinds are
// included, since staging a policy by hand is making one by hand.
var networkPolicyKinds = []string{
	"NetworkPolicy", "GlobalNetworkPolicy", "Tier",
	"StagedNetworkPolicy", "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy",
	"AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy",
	"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy",
}

// policyFlavor is one output of bulwark policy compile. The kubernetes
// flavor is always expected; the guardrail flavors only when the
// repository uses them, which it shows by holding some of their objects.
type policyFlavor struct {
	name    string // as findings name it
	command string // the compile arguments that write it
	compile func(*config.Config) (map[string][]byte, error)
	kinds   []string // its own kinds
}

var policyFlavors = []policyFlavor{
	{"kubernetes", "--flavor kubernetes", compile.Kubernetes, []string{"NetworkPolicy"}},
	{"calico", "--flavor calico", compile.Calico, []string{"Tier", "GlobalNetworkPolicy"}},
	{"adminnetworkpolicy", "--flavor adminnetworkpolicy", compile.AdminNetworkPolicy, []string{"AdminNetworkPolicy", "BaselineAdminNetworkPolicy"}},
	{"clusternetworkpolicy", "--flavor adminnetworkpolicy --cnp-v1alpha2", compile.ClusterNetworkPolicy, []string{"ClusterNetworkPolicy"}},
	{"rbac", "--flavor calico (or adminnetworkpolicy)", compile.RBAC, []string{"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}},
}

// compiledObject is one object the declarations compile to.
type compiledObject struct {
	flavor *policyFlavor // the first flavor writing it
	file   string        // relative to the compiler's --out
	obj    manifest.Object
	fields any
}

func (policyInGitCheck) Run(r *Repo) Outcome {
	policies := r.files(networkPolicyKinds...)
	ev := append(slices.Clone(policies), r.ConfigFiles()...)
	out := workTreeFindings(r, "INV-12", policies, "the network policies in it are not the ones in Git",
		"not in a Git work tree: cannot show the policies are in Git")
	if r.Config == nil {
		if len(policies) > 0 {
			out = append(out, Finding{Check: "INV-12", Severity: Note, File: policies[0],
				Message: fmt.Sprintf("no Bulwark configuration (platform.yaml) to compile: the network policies in %d file(s) cannot be compared with declarations", len(sortedUnique(policies)))})
		}
		return Outcome{Findings: out, Evidence: ev}
	}
	compiled, failed := compileDeclarations(r)
	out = append(out, failed...)
	out = append(out, compareCompiled(r, compiled)...)
	return Outcome{Findings: out, Evidence: ev}
}

// compileDeclarations compiles the configuration in every flavor, in
// flavor then file order. A flavor that does not compile is reported
// only if the repository holds objects of its kinds: a configuration too
// large for ClusterNetworkPolicy matters only to those who use it.
func compileDeclarations(r *Repo) ([]*compiledObject, []Finding) {
	var out []*compiledObject
	var failed []Finding
	seen := map[string]bool{}
	for i := range policyFlavors {
		fl := &policyFlavors[i]
		files, err := fl.compile(r.Config)
		if err != nil {
			if len(r.files(fl.kinds...)) > 0 || fl.name == "kubernetes" {
				failed = append(failed, Finding{Check: "INV-12", Severity: Error, File: config.PlatformFile,
					Message:     fmt.Sprintf("the declarations do not compile with %s, so those policies cannot be compared: %v", fl.command, err),
					Remediation: "fix the network declarations until bulwark policy compile succeeds"})
			}
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(files)) {
			objs, _ := manifest.Parse(name, files[name])
			for _, o := range objs {
				key := objectKey(o)
				if seen[key] {
					continue // kubernetes/ and rbac/ are written by several flavors alike
				}
				seen[key] = true
				var v any
				if err := json.Unmarshal(o.JSON, &v); err == nil {
					out = append(out, &compiledObject{flavor: fl, file: name, obj: o, fields: v})
				}
			}
		}
	}
	return out, failed
}

// compareCompiled matches the repository's objects with the compiled
// ones by API group, kind, namespace and name, and compares the matches
// as decoded data: formatting and key order are not drift.
func compareCompiled(r *Repo, compiled []*compiledObject) []Finding {
	byKey := map[string]*compiledObject{}
	for _, c := range compiled {
		byKey[objectKey(c.obj)] = c
	}
	var out []Finding
	found := map[*compiledObject]bool{}
	used := map[*policyFlavor]bool{}
	placed := map[string]string{} // compiled file → a repository file holding its objects
	for _, o := range r.Objects {
		c, ok := byKey[objectKey(o.Object)]
		switch {
		case ok:
			found[c], used[c.flavor], placed[c.file] = true, true, o.File
			if at, differs := firstDiff("", c.fields, map[string]any(o.Fields)); differs {
				out = append(out, o.finding("INV-12", Error, "hand-edited: differs from the compiled declarations at "+at,
					fmt.Sprintf("change the declarations (the network sections of platform.yaml and tenants/) and regenerate with bulwark policy compile %s; compiled policies are not edited by hand", c.flavor.command)).at(at))
			}
		case slices.Contains(networkPolicyKinds, o.Kind):
			msg := "hand-made policy: no declaration compiles to it, in any flavor"
			if str(o.Fields, "metadata", "labels", "app.kubernetes.io/managed-by") == "bulwark" {
				msg += " (it is labelled as compiled: a leftover of a removed declaration?)"
			}
			out = append(out, o.finding("INV-12", Error, msg,
				"declare the traffic in the network section of the tenant's file or of platform.yaml, regenerate the policies with bulwark policy compile, and delete this one"))
		}
	}
	for _, c := range compiled {
		if found[c] || (c.flavor.name != "kubernetes" && !used[c.flavor]) {
			continue
		}
		file := placed[c.file]
		if file == "" {
			file = config.PlatformFile
		}
		out = append(out, Finding{Check: "INV-12", Severity: Error, File: file,
			Object:      objectName(c.obj.Kind, c.obj.Namespace, c.obj.Name),
			Message:     fmt.Sprintf("not in Git: the declarations compile to this policy (%s, file %s), but the repository does not have it", c.flavor.name, c.file),
			Remediation: fmt.Sprintf("run bulwark policy compile %s --out <policies directory> and commit the output", c.flavor.command)})
	}
	return out
}

// objectKey identifies an object as the API server does: API group (not
// version), kind, namespace and name.
func objectKey(o manifest.Object) string {
	group, _, ok := strings.Cut(o.APIVersion, "/")
	if !ok {
		group = "" // the core group: "v1"
	}
	return strings.Join([]string{group, o.Kind, o.Namespace, o.Name}, "\x00")
}

// firstDiff finds the first path, in key order, where want and got differ:
// "spec.ingress[0].from", with keys holding dots in brackets
// (metadata.labels[app.kubernetes.io/name]), as Finding.Field reads them.
func firstDiff(at string, want, got any) (string, bool) {
	if reflect.DeepEqual(want, got) {
		return "", false
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return at, true
		}
		keys := slices.Collect(maps.Keys(w))
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, differs := firstDiff(fieldJoin(at, k), w[k], g[k]); differs {
				return p, true
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return at, true
		}
		for i := range min(len(w), len(g)) {
			if p, differs := firstDiff(fmt.Sprintf("%s[%d]", at, i), w[i], g[i]); differs {
				return p, true
			}
		}
		return fmt.Sprintf("%s[%d]", at, min(len(w), len(g))), true
	}
	return at, true
}

func fieldJoin(at, key string) string {
	switch {
	case strings.ContainsAny(key, ".[]"):
		return at + "[" + key + "]"
	case at == "":
		return key
	}
	return at + "." + key
}

// workTreeFindings reports each of files the work tree does not hold as
// committed; consequence says what that means for the check. Outside a
// work tree nothing can be shown, which is one warning, given only when
// there is something to show.
func workTreeFindings(r *Repo, check string, files []string, consequence, outside string) []Finding {
	files = sortedUnique(files)
	if r.Git == nil {
		if len(files) == 0 && r.Config == nil {
			return nil
		}
		return []Finding{{Check: check, Severity: Warning, File: ".", Message: outside,
			Remediation: "audit a Git clone of the repository"}}
	}
	var out []Finding
	for _, f := range files {
		if s := r.Git.State(f); s != Committed {
			out = append(out, Finding{Check: check, Severity: Error, File: f,
				Message: s.describe() + "; " + consequence, Remediation: s.advice()})
		}
	}
	return out
}
