package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMultiDocAndLists(t *testing.T) {
	data := `# rendered chart
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: shop}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: deny, namespace: shop}
---
just a string
---
apiVersion: v1
metadata: {name: no-kind}
`
	objs, errs := Parse("m.yaml", []byte(data))
	var got []string
	for _, o := range objs {
		got = append(got, o.String())
	}
	want := []string{"Namespace shop (m.yaml:3)", "Pod shop/web (m.yaml:9)", "NetworkPolicy shop/deny (m.yaml:9)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("objects\n got %q\nwant %q", got, want)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	wantErrs := []string{
		"m.yaml:19: expected a Kubernetes object (a mapping with apiVersion and kind)",
		"m.yaml:21: missing apiVersion or kind",
	}
	if strings.Join(msgs, "|") != strings.Join(wantErrs, "|") {
		t.Errorf("errors\n got %q\nwant %q", msgs, wantErrs)
	}
}

func TestParseSyntaxErrorKeepsEarlierObjects(t *testing.T) {
	objs, errs := Parse("b.yaml", []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: [unclosed\n"))
	if len(objs) != 1 || len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "b.yaml:") || !strings.Contains(errs[0].Error(), "invalid YAML") {
		t.Fatalf("objs %v errs %v", objs, errs)
	}
}

func TestLoadDirectoryContinuesPastBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
	write("b/bad.yml", "kind: [\n")
	write("c/pod.json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"}}`)
	write("c/notes.txt", "not a manifest")
	write(".git/config.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: hidden}\n")
	objs, errs := Load(dir, filepath.Join(dir, "missing"))
	if len(objs) != 2 || objs[0].Kind != "Namespace" || objs[1].Kind != "Pod" {
		t.Fatalf("objects %v", objs)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "bad.yml") || !strings.Contains(errs[1].Error(), "no such file") {
		t.Fatalf("errors %v", errs)
	}
}

func TestDecodeRefusesUnknownFields(t *testing.T) {
	objs, _ := Parse("p.yaml", []byte("apiVersion: v1\nkind: Thing\nmetadata: {name: x}\nspec: {podSelectr: {}}\n"))
	var v struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       struct {
			PodSelector map[string]any `json:"podSelector"`
		} `json:"spec"`
	}
	err := objs[0].Decode(&v)
	if err == nil || !strings.HasPrefix(err.Error(), "p.yaml:1: Thing x:") || !strings.Contains(err.Error(), "podSelectr") {
		t.Fatalf("error %v", err)
	}
}

func TestFieldLine(t *testing.T) {
	data := []byte(`apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  type: ClusterIP
---
# second
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: b
  annotations:
    nginx.ingress.kubernetes.io/ssl-protocols: TLSv1
spec:
  tls:
    - hosts: [x]
    - hosts: [y]
      secretName: y-tls
`)
	tests := []struct {
		doc  int
		path []string
		want int
	}{
		{1, []string{"spec", "type"}, 5},
		{1, []string{"spec", "missing"}, 4},
		{8, []string{"metadata", "annotations", "nginx.ingress.kubernetes.io/ssl-protocols"}, 13},
		{8, []string{"spec", "tls", "1", "secretName"}, 18},
		{8, []string{"spec", "tls", "1"}, 17},
		{8, []string{"spec", "tls", "5", "secretName"}, 15},
		{8, nil, 8},
		{3, []string{"spec"}, 3}, // no document starts there
	}
	for _, tt := range tests {
		if got := FieldLine(data, tt.doc, tt.path); got != tt.want {
			t.Errorf("FieldLine(%d, %v) = %d, want %d", tt.doc, tt.path, got, tt.want)
		}
	}
}
