package compile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// compileFlavor loads testdata/repo and compiles it with c, twice,
// failing if the two compilations differ by a byte.
func compileFlavor(t *testing.T, c func(*config.Config) (map[string][]byte, error)) map[string][]byte {
	t.Helper()
	var runs [2]map[string][]byte
	for i := range runs {
		cfg, err := config.LoadDir("testdata/repo")
		if err != nil {
			t.Fatal(err)
		}
		if runs[i], err = c(cfg); err != nil {
			t.Fatal(err)
		}
	}
	if len(runs[0]) != len(runs[1]) {
		t.Fatalf("two compilations wrote %d and %d files", len(runs[0]), len(runs[1]))
	}
	for name, data := range runs[0] {
		if string(data) != string(runs[1][name]) {
			t.Errorf("%s differs between two compilations", name)
		}
	}
	return runs[0]
}

// checkGolden compares the files under dir/ with testdata/golden (-update
// rewrites them), after checking they are exactly want.
func checkGolden(t *testing.T, files map[string][]byte, dir string, want ...string) {
	t.Helper()
	var names []string
	for name := range files {
		if strings.HasPrefix(name, dir+"/") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files under %s/: %v, want %v", dir, names, want)
	}
	for _, name := range names {
		golden := filepath.Join("testdata/golden", name)
		if *update {
			_ = os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, files[name], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(files[name]) {
			t.Errorf("%s differs from %s; go test -update rewrites it\n got:\n%s", name, golden, files[name])
		}
	}
}

// checkKubernetesIncluded: a guardrail flavor carries the kubernetes
// flavor's files byte for byte.
func checkKubernetesIncluded(t *testing.T, files map[string][]byte) {
	t.Helper()
	k8s := compileFlavor(t, Kubernetes)
	for name, data := range k8s {
		if string(files[name]) != string(data) {
			t.Errorf("%s differs from the kubernetes flavor's", name)
		}
	}
}

// docs decodes a multi-document file into raw objects.
func docs(t *testing.T, data []byte) []struct {
	Kind     string
	Metadata objectMeta
	Spec     json.RawMessage
} {
	t.Helper()
	var out []struct {
		Kind     string
		Metadata objectMeta
		Spec     json.RawMessage
	}
	for _, doc := range strings.Split(string(data), "\n---\n")[1:] {
		var o struct {
			Kind     string
			Metadata objectMeta
			Spec     json.RawMessage
		}
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func TestCalicoGolden(t *testing.T) {
	files := compileFlavor(t, Calico)
	checkGolden(t, files, "calico", "calico/platform.yaml")
	checkKubernetesIncluded(t, files)
}

// TestCalicoStructure checks the properties the guardrails exist for,
// on the compiled manifests rather than on the golden text.
func TestCalicoStructure(t *testing.T) {
	files := compileFlavor(t, Calico)
	cfg, _ := config.LoadDir("testdata/repo")
	objs := docs(t, files["calico/platform.yaml"])
	if objs[0].Kind != "Tier" {
		t.Fatalf("first object is a %s, want the Tier", objs[0].Kind)
	}
	var tier calicoTierSpec
	_ = json.Unmarshal(objs[0].Spec, &tier)
	if tier.Order >= DefaultTierOrder {
		t.Errorf("tier order %d is not before the default tier's %d", tier.Order, DefaultTierOrder)
	}
	forbidden, isolated := map[string]bool{}, map[string]int{}
	for _, o := range objs[1:] {
		var spec calicoPolicySpec
		if err := json.Unmarshal(o.Spec, &spec); err != nil {
			t.Fatal(err)
		}
		if spec.Tier != o.Metadata.Name[:strings.Index(o.Metadata.Name, ".")] {
			t.Errorf("%s: tier %q is not its name's prefix", o.Metadata.Name, spec.Tier)
		}
		for _, rules := range [][]calicoRule{spec.Ingress, spec.Egress} {
			if len(rules) > 0 && (rules[len(rules)-1].Action != "Pass" || rules[len(rules)-1].Source != nil || rules[len(rules)-1].Destination != nil) {
				t.Errorf("%s: the last rule does not pass the rest: the tier would drop it", o.Metadata.Name)
			}
		}
		covered := selectorNamespaces(t, spec.NamespaceSelector)
		for _, r := range spec.Egress {
			if r.Action == "Deny" && r.Destination != nil {
				for _, n := range r.Destination.Nets {
					forbidden[n] = true
				}
				for _, ns := range covered {
					isolated["egress/"+ns]++
				}
			}
		}
		for _, r := range spec.Ingress {
			if r.Action == "Deny" && r.Source != nil && r.Source.NamespaceSelector == "all()" {
				for _, ns := range covered {
					isolated["ingress/"+ns]++
				}
			}
		}
	}
	for _, c := range cfg.Platform.Network.Forbidden {
		if !forbidden[c] {
			t.Errorf("forbidden %s is in no Deny rule", c)
		}
	}
	for _, tn := range cfg.Platform.Tenants {
		for _, ns := range tn.Namespaces {
			for _, dir := range []string{"egress/", "ingress/"} {
				if isolated[dir+ns] != 1 {
					t.Errorf("namespace %s: %d %sdeny guardrails, want 1", ns, isolated[dir+ns], dir)
				}
			}
		}
	}
}

// selectorNamespaces reads the names out of a namespaceIn selector.
func selectorNamespaces(t *testing.T, sel string) []string {
	t.Helper()
	prefix := nameLabel + " in {"
	if !strings.HasPrefix(sel, prefix) || !strings.HasSuffix(sel, "}") {
		t.Fatalf("selector %q does not select namespaces by name", sel)
	}
	var out []string
	for _, q := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(sel, prefix), "}"), ", ") {
		out = append(out, strings.Trim(q, "'"))
	}
	return out
}

// TestCalicoFamilies: IPv4 and IPv6 forbidden CIDRs go in separate rules,
// as Calico requires, and a bare address is a host prefix.
func TestCalicoFamilies(t *testing.T) {
	cfg := &config.Config{Platform: config.Platform{
		Tenants: map[string]*config.Tenant{"a": {Namespaces: []string{"a"}}},
		Network: config.Network{Forbidden: []string{"fd00:ec2::254", "169.254.169.254/32", "100.100.100.200"}},
	}}
	files, err := Calico(cfg)
	if err != nil {
		t.Fatal(err)
	}
	objs := docs(t, files["calico/platform.yaml"])
	var spec calicoPolicySpec
	_ = json.Unmarshal(objs[1].Spec, &spec)
	var got []string
	for _, r := range spec.Egress {
		if r.Destination != nil {
			got = append(got, r.Action+" "+strings.Join(r.Destination.Nets, ","))
		}
	}
	want := []string{"Deny 100.100.100.200/32,169.254.169.254/32", "Deny fd00:ec2::254/128"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("egress rules %q, want %q", got, want)
	}
}
