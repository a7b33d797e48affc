package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	// The module that ships the OASIS SARIF 2.1.0 schema. Imported so
	// that go.mod pins it and the go command fetches it through the
	// module proxy with its checksum verified; the test reads the schema
	// from the module's source (see loadSARIFSchema), no copy is kept here.
	_ "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const (
	schemaModule = "github.com/owenrumney/go-sarif/v3"
	// schemaSource holds the schema as the Go constant schemaConst.
	schemaSource = "pkg/report/v210/sarif/schema.go"
	schemaConst  = "schema"
	// schemaSHA256 is the digest of the document served at sarifSchema
	// (OASIS SARIF 2.1.0 errata 01, a draft-04 schema): a module update
	// that changed the text fails here instead of being trusted.
	schemaSHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
)

// sarifValidator compiles the official schema once per test binary.
var sarifValidator = sync.OnceValues(loadSARIFSchema)

// loadSARIFSchema finds schemaModule's source with the go command, takes
// the schema text out of schemaSource, checks it is the OASIS document
// and compiles it with format assertions on (uri, uri-reference,
// date-time are checked, not just typed).
func loadSARIFSchema() (*jsonschema.Schema, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", schemaModule).Output()
	if err != nil {
		return nil, fmt.Errorf("locate %s: %w", schemaModule, err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(schemaSource))
	text, err := goStringConst(src, schemaConst)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256([]byte(text)); hex.EncodeToString(sum[:]) != schemaSHA256 {
		return nil, fmt.Errorf("%s: schema digest %x, want %s (not the OASIS document)", src, sum, schemaSHA256)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(sarifSchema, doc); err != nil {
		return nil, err
	}
	return c.Compile(sarifSchema)
}

// goStringConst returns the value of the string constant name in the Go
// file src.
func goStringConst(src, name string) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && id.Name == name && lit.Kind == token.STRING {
					return strconv.Unquote(lit.Value)
				}
			}
		}
	}
	return "", fmt.Errorf("%s: no string constant %s", src, name)
}

// validateSARIF reports why doc is not valid SARIF 2.1.0, or nil.
func validateSARIF(t *testing.T, doc []byte) error {
	t.Helper()
	sch, err := sarifValidator()
	if err != nil {
		t.Fatalf("official SARIF schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("SARIF output is not JSON: %v", err)
	}
	return sch.Validate(inst)
}

func sarifOf(t *testing.T, res *Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteReport(&b, "sarif", res); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// awkwardResult has the findings a SARIF writer gets wrong: no line, no
// file, the repository as a whole, names that need escaping in a URI, and
// two findings that differ only by line.
func awkwardResult() *Result {
	checks := []Check{
		fakeCheck{id: "INV-1", title: "no bypass", rule: "INV-1: all external traffic MUST pass through the WAF."},
		fakeCheck{id: "INV-5", title: "default deny", rule: "INV-5: tenant namespaces MUST have default-deny ingress."},
	}
	return &Result{Checks: checks, Findings: []Finding{
		{Check: "INV-1", Severity: Error, File: "apps/my app#1.yaml", Line: 3, Object: "Service a/b", Message: `<script>alert("x")</script> & more`},
		{Check: "INV-1", Severity: Warning, File: "apps/x.yaml", Message: "no line known"},
		{Check: "INV-1", Severity: Warning, File: "apps/x.yaml", Line: 9, Message: "twice"},
		{Check: "INV-1", Severity: Warning, File: "apps/x.yaml", Line: 12, Message: "twice"},
		{Check: "INV-5", Severity: Note, File: ".", Message: "the repository as a whole"},
		{Check: "INV-5", Severity: Note, Message: "no file at all"},
		{Check: "INV-5", Severity: Error, File: "/etc/outside.yaml", Message: "outside the audited path"},
	}}
}

// TestSARIFValidatesAgainstOASISSchema validates real output against the
// official SARIF 2.1.0 schema: an audit with findings, clean audits and
// awkward findings.
func TestSARIFValidatesAgainstOASISSchema(t *testing.T) {
	tests := []struct {
		name string
		res  func(t *testing.T) *Result
	}{
		{"findings", func(t *testing.T) *Result { return audit(t, filepath.Join("testdata", "repo")) }},
		{"clean audit", func(t *testing.T) *Result { return audit(t, filepath.Join("testdata", "checks", "inv1-good.yaml")) }},
		{"no findings", func(*testing.T) *Result { return &Result{Checks: Checks(Options{})} }},
		{"no checks", func(*testing.T) *Result { return &Result{} }},
		{"awkward findings", func(*testing.T) *Result { return awkwardResult() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := sarifOf(t, tt.res(t))
			if err := validateSARIF(t, doc); err != nil {
				t.Errorf("not valid SARIF 2.1.0: %v\n%s", err, doc)
			}
		})
	}
}

// TestSARIFSchemaRejects is the negative control: a validator that
// accepted anything would make the test above meaningless.
func TestSARIFSchemaRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(run map[string]any)
	}{
		{"start line 0", func(run map[string]any) {
			loc := run["results"].([]any)[0].(map[string]any)["locations"].([]any)[0].(map[string]any)
			loc["physicalLocation"].(map[string]any)["region"] = map[string]any{"startLine": 0}
		}},
		{"unknown level", func(run map[string]any) { run["results"].([]any)[0].(map[string]any)["level"] = "fatal" }},
		{"no tool", func(run map[string]any) { delete(run, "tool") }},
		{"uri not a URI reference", func(run map[string]any) {
			loc := run["results"].([]any)[0].(map[string]any)["locations"].([]any)[0].(map[string]any)
			loc["physicalLocation"].(map[string]any)["artifactLocation"] = map[string]any{"uri": "bad%zz.yaml"}
		}},
	}
	doc := sarifOf(t, audit(t, filepath.Join("testdata", "repo")))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log map[string]any
			if err := json.Unmarshal(doc, &log); err != nil {
				t.Fatal(err)
			}
			tt.mutate(log["runs"].([]any)[0].(map[string]any))
			bad, err := json.Marshal(log)
			if err != nil {
				t.Fatal(err)
			}
			if validateSARIF(t, bad) == nil {
				t.Errorf("schema accepted an invalid log:\n%s", bad)
			}
		})
	}
}

// sarifDoc is the part of a SARIF log the tests read.
type sarifDoc struct {
	Version string `json:"version"`
	Schema  string `json:"$schema"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name           string `json:"name"`
				InformationURI string `json:"informationUri"`
				Rules          []struct {
					ID               string            `json:"id"`
					ShortDescription map[string]string `json:"shortDescription"`
					Help             map[string]string `json:"help"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []sarifDocResult `json:"results"`
	} `json:"runs"`
}

type sarifDocResult struct {
	RuleID    string            `json:"ruleId"`
	RuleIndex *int              `json:"ruleIndex"`
	Level     string            `json:"level"`
	Message   map[string]string `json:"message"`
	Locations []struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI       string `json:"uri"`
				URIBaseID string `json:"uriBaseId"`
			} `json:"artifactLocation"`
			Region map[string]int `json:"region"`
		} `json:"physicalLocation"`
	} `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

func decodeSARIF(t *testing.T, doc []byte) sarifDoc {
	t.Helper()
	var log sarifDoc
	if err := json.Unmarshal(doc, &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(log.Runs))
	}
	return log
}

// TestSARIFCodeScanning checks what GitHub's code scanning expects beyond
// the schema: every result names its rule by id and index, has a level, a
// message and one location relative to %SRCROOT% (absolute only for a file
// outside the audited path), a start line only when known, and a
// fingerprint unique within the run.
func TestSARIFCodeScanning(t *testing.T) {
	for name, res := range map[string]*Result{
		"findings": audit(t, filepath.Join("testdata", "repo")),
		"awkward":  awkwardResult(),
	} {
		t.Run(name, func(t *testing.T) {
			log := decodeSARIF(t, sarifOf(t, res))
			rules := log.Runs[0].Tool.Driver.Rules
			prints := map[string]bool{}
			for i, r := range log.Runs[0].Results {
				if r.RuleIndex == nil || *r.RuleIndex >= len(rules) || rules[*r.RuleIndex].ID != r.RuleID || r.RuleID == "" {
					t.Errorf("results[%d]: ruleId %q does not match ruleIndex", i, r.RuleID)
				}
				if r.Level != "error" && r.Level != "warning" && r.Level != "note" {
					t.Errorf("results[%d]: level %q", i, r.Level)
				}
				if r.Message["text"] == "" {
					t.Errorf("results[%d]: no message text", i)
				}
				if len(r.Locations) != 1 {
					t.Errorf("results[%d]: %d locations, want 1", i, len(r.Locations))
					continue
				}
				pl := r.Locations[0].PhysicalLocation
				u, err := url.Parse(pl.ArtifactLocation.URI)
				switch {
				case err != nil:
					t.Errorf("results[%d]: uri %q: %v", i, pl.ArtifactLocation.URI, err)
				case u.Scheme == "file":
					if pl.ArtifactLocation.URIBaseID != "" {
						t.Errorf("results[%d]: absolute uri %q with a uriBaseId", i, u)
					}
				case u.IsAbs() || strings.HasPrefix(u.Path, "/") || pl.ArtifactLocation.URIBaseID != "%SRCROOT%":
					t.Errorf("results[%d]: uri %q base %q, want relative to %%SRCROOT%%", i, u, pl.ArtifactLocation.URIBaseID)
				}
				if line, ok := pl.Region["startLine"]; pl.Region != nil && (!ok || line < 1) {
					t.Errorf("results[%d]: region %v, want startLine ≥ 1 or no region", i, pl.Region)
				}
				fp := r.PartialFingerprints[sarifFingerprint]
				if fp == "" || prints[fp] {
					t.Errorf("results[%d]: fingerprint %q empty or repeated", i, fp)
				}
				prints[fp] = true
			}
		})
	}
}

// TestSARIFFingerprintStable: the same finding moved down a file keeps its
// fingerprint, so code scanning keeps one alert; another finding does not
// share it.
func TestSARIFFingerprintStable(t *testing.T) {
	before := awkwardResult()
	after := awkwardResult()
	for i := range after.Findings {
		if after.Findings[i].Line > 0 {
			after.Findings[i].Line += 7
		}
	}
	a := decodeSARIF(t, sarifOf(t, before)).Runs[0].Results
	b := decodeSARIF(t, sarifOf(t, after)).Runs[0].Results
	for i := range a {
		if a[i].PartialFingerprints[sarifFingerprint] != b[i].PartialFingerprints[sarifFingerprint] {
			t.Errorf("results[%d]: fingerprint changed when the line moved", i)
		}
	}
	// The two "twice" findings differ only by line: both kept, told apart.
	if a[2].PartialFingerprints[sarifFingerprint] == a[3].PartialFingerprints[sarifFingerprint] {
		t.Error("findings differing only by line share a fingerprint")
	}
}

// TestSARIFLocations pins how files become locations.
func TestSARIFLocations(t *testing.T) {
	tests := []struct {
		file, uri, base string
	}{
		{"cluster/apps.yaml", "cluster/apps.yaml", "%SRCROOT%"},
		{"apps/my app#1.yaml", "apps/my%20app%231.yaml", "%SRCROOT%"},
		{"a:b.yaml", "./a:b.yaml", "%SRCROOT%"},
		{".", ".", "%SRCROOT%"},
		{"", ".", "%SRCROOT%"},
		{"/etc/outside.yaml", "file:///etc/outside.yaml", ""},
	}
	for _, tt := range tests {
		got := sarifArtifactFor(tt.file)
		if got.URI != tt.uri || got.URIBaseID != tt.base {
			t.Errorf("sarifArtifactFor(%q) = %q %q, want %q %q", tt.file, got.URI, got.URIBaseID, tt.uri, tt.base)
		}
	}
}

// TestSARIFStructure pins how a fixed result becomes SARIF, and that the
// real rule ids stay what they are: code scanning matches alerts by them.
func TestSARIFStructure(t *testing.T) {
	doc := sarifOf(t, evidenceFixture())
	log := decodeSARIF(t, doc)
	if log.Version != "2.1.0" || log.Schema != sarifSchema {
		t.Fatalf("header: version %q schema %q", log.Version, log.Schema)
	}
	if bytes.Contains(doc, []byte(`"startLine": 0`)) {
		t.Error("a startLine of 0: omit the region when the line is unknown")
	}
	d := log.Runs[0].Tool.Driver
	if d.Name != "bulwark" || d.InformationURI == "" {
		t.Errorf("driver = %q %q", d.Name, d.InformationURI)
	}
	for _, r := range d.Rules {
		if r.ShortDescription["text"] == "" || r.Help["text"] == "" {
			t.Errorf("rule %s lacks shortDescription or help", r.ID)
		}
	}
	type result struct {
		rule      string
		index     int
		level     string
		uri, text string
		line      int
	}
	var got []result
	for _, r := range log.Runs[0].Results {
		pl := r.Locations[0].PhysicalLocation
		got = append(got, result{r.RuleID, *r.RuleIndex, r.Level, pl.ArtifactLocation.URI, r.Message["text"], pl.Region["startLine"]})
	}
	want := []result{
		{"INV-2", 2, "warning", "cluster/ingress.yaml", `Ingress shop/web metadata.annotations[nginx.ingress.kubernetes.io/ssl-protocols]: annotation allows TLS 1.0 <script>alert("x")</script>. Fix: remove the ssl-protocols annotation`, 4},
		{"INV-2", 2, "error", "platform.yaml", "tls.min_version is 1.1 | not *1.2*", 0},
		{"INV-9", 8, "note", "platform.yaml", "blocked requests are logged to stdout only", 12},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("results = %+v\nwant %+v", got, want)
	}

	var ruleIDs []string
	for _, r := range decodeSARIF(t, sarifOf(t, audit(t, filepath.Join("testdata", "repo")))).Runs[0].Tool.Driver.Rules {
		ruleIDs = append(ruleIDs, r.ID)
	}
	wantRules := []string{"LOAD", "INV-1", "INV-2", "INV-3", "INV-4", "INV-5", "INV-6", "INV-7", "INV-8", "INV-9", "INV-10", "INV-11", "INV-12", "INV-13", "INV-14", "SECOPS-1"}
	if strings.Join(ruleIDs, " ") != strings.Join(wantRules, " ") {
		t.Errorf("rules = %v, want %v", ruleIDs, wantRules)
	}
}
