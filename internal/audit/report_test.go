package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestTextGolden keeps the terminal report of testdata/repo equal to
// testdata/repo.golden; run with -update after an intended change.
func TestTextGolden(t *testing.T) {
	res := audit(t, filepath.Join("testdata", "repo"))
	var b bytes.Buffer
	if err := WriteReport(&b, "text", res); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "repo.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("text report differs from %s:\n%s", golden, b.String())
	}
}

func TestJSONShape(t *testing.T) {
	res := audit(t, filepath.Join("testdata", "repo"))
	var b bytes.Buffer
	if err := WriteReport(&b, "json", res); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Findings []map[string]any `json:"findings"`
		Summary  map[string]int   `json:"summary"`
		Checks   []struct {
			ID       string `json:"id"`
			Findings int    `json:"findings"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Summary["errors"] != 4 || got.Summary["notes"] != 1 || got.Summary["warnings"] != 0 {
		t.Errorf("summary = %v, want 4 errors, 0 warnings, 1 note", got.Summary)
	}
	if len(got.Findings) != 5 {
		t.Fatalf("%d findings, want 5", len(got.Findings))
	}
	f := got.Findings[0]
	for k, want := range map[string]any{"check": "INV-1", "severity": "error", "file": "cluster/apps.yaml", "line": 9.0, "object": "Service shop/debug"} {
		if f[k] != want {
			t.Errorf("findings[0].%s = %v, want %v", k, f[k], want)
		}
	}
	if f["message"] == "" || f["remediation"] == "" {
		t.Errorf("findings[0] lacks message or remediation: %v", f)
	}
	ids := map[string]int{}
	for _, c := range got.Checks {
		ids[c.ID] = c.Findings
	}
	if len(got.Checks) != 16 || ids["INV-14"] != 1 || ids["LOAD"] != 0 {
		t.Errorf("checks = %+v", got.Checks)
	}

	// A clean audit has an empty list, not null.
	b.Reset()
	if err := WriteReport(&b, "json", &Result{Checks: Checks(Options{})}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), []byte(`"findings": []`)) {
		t.Errorf("clean JSON report:\n%s", b.String())
	}
}

func TestSARIFStructure(t *testing.T) {
	res := audit(t, filepath.Join("testdata", "repo"))
	var b bytes.Buffer
	if err := WriteReport(&b, "sarif", res); err != nil {
		t.Fatal(err)
	}
	var log struct {
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
			Results []struct {
				RuleID    string            `json:"ruleId"`
				RuleIndex int               `json:"ruleIndex"`
				Level     string            `json:"level"`
				Message   map[string]string `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region *struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || log.Schema != "https://json.schemastore.org/sarif-2.1.0.json" || len(log.Runs) != 1 {
		t.Fatalf("header: version %q schema %q runs %d", log.Version, log.Schema, len(log.Runs))
	}
	d := log.Runs[0].Tool.Driver
	if d.Name != "bulwark" || d.InformationURI == "" {
		t.Errorf("driver = %q %q", d.Name, d.InformationURI)
	}
	var ruleIDs []string
	for _, r := range d.Rules {
		ruleIDs = append(ruleIDs, r.ID)
		if r.ShortDescription["text"] == "" || r.Help["text"] == "" {
			t.Errorf("rule %s lacks shortDescription or help", r.ID)
		}
	}
	wantRules := []string{"LOAD", "INV-1", "INV-2", "INV-3", "INV-4", "INV-5", "INV-6", "INV-7", "INV-8", "INV-9", "INV-10", "INV-11", "INV-12", "INV-13", "INV-14", "SECOPS-1"}
	if len(ruleIDs) != len(wantRules) {
		t.Fatalf("rules = %v, want %v", ruleIDs, wantRules)
	}
	for i := range wantRules {
		if ruleIDs[i] != wantRules[i] {
			t.Errorf("rules = %v, want %v", ruleIDs, wantRules)
		}
	}
	type loc struct {
		rule, level, uri string
		line             int
	}
	var got []loc
	for _, r := range log.Runs[0].Results {
		if ruleIDs[r.RuleIndex] != r.RuleID || r.Message["text"] == "" || len(r.Locations) != 1 {
			t.Errorf("result %+v", r)
			continue
		}
		pl := r.Locations[0].PhysicalLocation
		l := loc{r.RuleID, r.Level, pl.ArtifactLocation.URI, 0}
		if pl.Region != nil {
			l.line = pl.Region.StartLine
		}
		got = append(got, l)
	}
	want := []loc{
		{"INV-1", "error", "cluster/apps.yaml", 9},
		{"INV-2", "note", "platform.yaml", 2},
		{"INV-3", "error", "cluster/apps.yaml", 27},
		{"INV-14", "error", "cluster/apps.yaml", 17},
		{"SECOPS-1", "error", "cluster/apps.yaml", 27},
	}
	if len(got) != len(want) {
		t.Fatalf("results = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("results[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
