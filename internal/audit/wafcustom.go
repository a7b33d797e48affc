package audit

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/config"
	"go.yaml.in/yaml/v3"
)

// wafInGitCheck is INV-13: WAF customizations — the platform's rule
// files and the routes' WAF settings and exceptions — exist only in
// committed files of Bulwark's configuration, where review and the
// two-approval exception flow see them. Rules added any other way (an
// ingress controller's ModSecurity annotations, SecLang in a ConfigMap)
// are changes nobody approved.
type wafInGitCheck struct{}

func (wafInGitCheck) ID() string    { return "INV-13" }
func (wafInGitCheck) Title() string { return "WAF customizations are version controlled" }
func (wafInGitCheck) Rule() string {
	return "INV-13: WAF customizations MUST be version controlled (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (wafInGitCheck) Run(r *Repo) Outcome {
	files, out := wafConfigFiles(r)
	out = append(out, workTreeFindings(r, "INV-13", files, "the WAF customizations in it are not version controlled",
		"not in a Git work tree: cannot show the WAF customizations are version controlled")...)
	copies := ruleCopies(r, files)
	ev := append(files, r.files("Ingress", "ConfigMap")...)
	for _, o := range r.Objects {
		for _, f := range adHocRules(o, copies) {
			out = append(out, f)
			ev = append(ev, o.File)
		}
	}
	return Outcome{Findings: out, Evidence: ev}
}

// ruleRef is a rule file or directory named in platform.yaml.
type ruleRef struct {
	field, name string
	line        int
	dir         bool
}

// wafConfigFiles lists the files holding WAF customizations: platform.yaml,
// the tenant files declaring routes[].waf, and the rule files and
// candidate rule directory platform.yaml names. It reads platform.yaml
// itself rather than the loaded configuration, so that a rule file outside
// the repository is reported here even though it keeps the configuration
// from loading. Rule files outside the repository or missing are findings.
func wafConfigFiles(r *Repo) ([]string, []Finding) {
	data, err := os.ReadFile(filepath.Join(r.Root, config.PlatformFile))
	if err != nil {
		return nil, nil
	}
	files := append([]string{config.PlatformFile}, tenantWAFFiles(r.Root)...)
	var out []Finding
	for _, ref := range ruleRefs(data) {
		clean := path.Clean(filepath.ToSlash(ref.name))
		if filepath.IsAbs(ref.name) || clean == ".." || strings.HasPrefix(clean, "../") {
			out = append(out, Finding{Check: "INV-13", Severity: Error, File: config.PlatformFile, Line: ref.line,
				Message:     fmt.Sprintf("%s names %s, outside the repository: it is not version controlled with the configuration", ref.field, ref.name),
				Remediation: "move the rules into the repository, next to platform.yaml, and name them by a relative path"})
			continue
		}
		found := ruleFiles(r.Root, clean, ref.dir)
		if len(found) == 0 {
			out = append(out, Finding{Check: "INV-13", Severity: Error, File: config.PlatformFile, Line: ref.line,
				Message:     fmt.Sprintf("%s names %s, which is not in the repository", ref.field, ref.name),
				Remediation: "commit the rules at that path, or fix the name"})
		}
		files = append(files, found...)
	}
	return files, out
}

// ruleFiles lists the file rel, or with dir every file under the
// directory rel; none when there is nothing there.
func ruleFiles(root, rel string, dir bool) []string {
	p := filepath.Join(root, filepath.FromSlash(rel))
	if !dir {
		if fileExists(p) {
			return []string{rel}
		}
		return nil
	}
	var out []string
	// What cannot be read is not listed: an empty list is a finding.
	_ = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, relSlash(root, f))
		}
		return nil
	})
	return out
}

// ruleRefs reads the rule files and rules directory platform.yaml names,
// with their lines; a file that does not parse names none (LOAD says why).
func ruleRefs(data []byte) []ruleRef {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	w := yamlKey(doc.Content[0], "waf")
	var refs []ruleRef
	for _, key := range []string{"before_crs", "after_crs"} {
		if seq := yamlKey(yamlKey(w, "rules"), key); seq != nil && seq.Kind == yaml.SequenceNode {
			for i, n := range seq.Content {
				refs = append(refs, ruleRef{field: fmt.Sprintf("waf.rules.%s[%d]", key, i), name: n.Value, line: n.Line})
			}
		}
	}
	if n := yamlKey(yamlKey(w, "candidate"), "rules_dir"); n != nil && n.Value != "" {
		refs = append(refs, ruleRef{field: "waf.candidate.rules_dir", name: n.Value, line: n.Line, dir: true})
	}
	return refs
}

func yamlKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// tenantWAFFiles lists the tenant files where a route sets waf (a mode,
// stricter settings, exceptions).
func tenantWAFFiles(root string) []string {
	entries, _ := os.ReadDir(filepath.Join(root, config.TenantDir))
	var out []string
	for _, e := range entries {
		name := path.Join(config.TenantDir, e.Name())
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		var tf tenantWAF
		if err == nil && yaml.Unmarshal(data, &tf) == nil && tf.declares() {
			out = append(out, name)
		}
	}
	return out
}

// tenantWAF is what INV-13 reads of a tenant file.
type tenantWAF struct {
	Routes []struct {
		WAF map[string]any `yaml:"waf"`
	} `yaml:"routes"`
}

func (t tenantWAF) declares() bool {
	for _, rt := range t.Routes {
		if len(rt.WAF) > 0 {
			return true
		}
	}
	return false
}

// ruleCopies are the trimmed contents of the configuration's WAF files: a
// ConfigMap carrying one of them is how the gateway receives its committed
// rules, not an ad-hoc rule.
func ruleCopies(r *Repo, files []string) map[string]bool {
	copies := map[string]bool{}
	for _, f := range files {
		if data, err := os.ReadFile(filepath.Join(r.Root, filepath.FromSlash(f))); err == nil {
			copies[strings.TrimSpace(string(data))] = true
		}
	}
	return copies
}

// nginxModSecurity are ingress-nginx's ModSecurity settings, annotations
// (after nginx.ingress.kubernetes.io/) and controller ConfigMap keys alike.
var nginxModSecurity = []string{"modsecurity-snippet", "enable-modsecurity", "enable-owasp-core-rules", "enable-owasp-modsecurity-crs", "modsecurity-transaction-id"}

// secLang finds WAF rules in text: a SecLang directive at the start of a
// line, or nginx's modsecurity_rules directives, which embed them.
var secLang = regexp.MustCompile(`(?m)^[ \t]*(SecRule\w*|SecAction|SecDefaultAction|SecMarker)\b|\bmodsecurity_rules(_file|_remote)?\b`)

const adHocFix = "remove it: platform-wide rules go in waf.rules (platform.yaml), a route's exception under routes[].waf.exceptions with its two approvals (tenants/<tenant>.yaml)"

// adHocRules reports the WAF rules o adds outside Bulwark's configuration:
// through annotations, and in a ConfigMap's data.
func adHocRules(o Object, copies map[string]bool) []Finding {
	var out []Finding
	annotations := mapping(o.Fields, "metadata", "annotations")
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		v, _ := annotations[k].(string)
		if why := adHocAnnotation(k, v); why != "" {
			msg := fmt.Sprintf("annotation %s %s outside Bulwark's configuration: it bypasses the reviewed, approved exception flow", k, why)
			out = append(out, o.finding("INV-13", Error, msg, adHocFix).at("metadata.annotations["+k+"]"))
		}
	}
	if o.Kind != "ConfigMap" {
		return out
	}
	data := mapping(o.Fields, "data")
	for _, k := range slices.Sorted(maps.Keys(data)) {
		v, _ := data[k].(string)
		if (slices.Contains(nginxModSecurity, k) && !switchedOff(v)) || (secLang.MatchString(v) && !copies[strings.TrimSpace(v)]) {
			msg := fmt.Sprintf("ConfigMap key %s carries WAF rules (ModSecurity) outside Bulwark's configuration: they bypass the reviewed, approved exception flow", k)
			out = append(out, o.finding("INV-13", Error, msg, adHocFix).at("data["+k+"]"))
		}
	}
	return out
}

// adHocAnnotation says how annotation key (with value) adds WAF rules, or
// "" when it does not.
func adHocAnnotation(key, value string) string {
	name, nginx := strings.CutPrefix(key, "nginx.ingress.kubernetes.io/")
	bunker := strings.ToUpper(strings.TrimPrefix(key, "bunkerweb.io/"))
	switch {
	case nginx && slices.Contains(nginxModSecurity, name) && !switchedOff(value):
		return "configures ModSecurity in ingress-nginx"
	case strings.HasPrefix(key, "bunkerweb.io/") && (strings.Contains(bunker, "MODSECURITY") || strings.Contains(bunker, "CUSTOM_CONF")) && !switchedOff(value):
		return "configures BunkerWeb's ModSecurity or custom configuration"
	case secLang.MatchString(value):
		return "holds ModSecurity rules"
	}
	return ""
}

// switchedOff is a setting that turns its feature off rather than adding
// rules.
func switchedOff(v string) bool { return v == "false" || v == "no" || v == "off" }
