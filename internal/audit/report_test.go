package audit

import (
	"github.com/bulwark-sec/bulwark/internal/golden"

	"bytes"
	"encoding/json"
	"flag"
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
	golden.Check(t, filepath.Join("testdata", "repo.golden"), b.Bytes(), *update)
}

// TestJSONShape checks the JSON form of a fixed result, so it does not
// change as the checks do.
func TestJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := WriteReport(&b, "json", evidenceFixture()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Findings []map[string]any `json:"findings"`
		Summary  map[string]int   `json:"summary"`
		Checks   []struct {
			ID       string `json:"id"`
			Title    string `json:"title"`
			Rule     string `json:"rule"`
			Findings int    `json:"findings"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Summary["errors"] != 1 || got.Summary["warnings"] != 1 || got.Summary["notes"] != 1 {
		t.Errorf("summary = %v, want 1 error, 1 warning, 1 note", got.Summary)
	}
	if len(got.Findings) != 3 {
		t.Fatalf("%d findings, want 3", len(got.Findings))
	}
	f := got.Findings[0]
	for k, want := range map[string]any{"check": "INV-2", "severity": "warning", "file": "cluster/ingress.yaml", "line": 4.0,
		"object": "Ingress shop/web", "field": "metadata.annotations[nginx.ingress.kubernetes.io/ssl-protocols]",
		"remediation": "remove the ssl-protocols annotation"} {
		if f[k] != want {
			t.Errorf("findings[0].%s = %v, want %v", k, f[k], want)
		}
	}
	if _, ok := got.Findings[1]["object"]; ok {
		t.Errorf("findings[1] has an empty object: %v", got.Findings[1])
	}
	ids := map[string]int{}
	for _, c := range got.Checks {
		ids[c.ID] = c.Findings
		if c.Title == "" || c.Rule == "" {
			t.Errorf("check %s lacks title or rule", c.ID)
		}
	}
	if len(got.Checks) != 15 || ids["INV-2"] != 2 || ids["INV-9"] != 1 || ids[LoadID] != 0 {
		t.Errorf("checks = %+v", got.Checks)
	}

	// A clean audit has an empty list, not null.
	b.Reset()
	if err := WriteReport(&b, "json", &Result{Checks: fakeChecks()}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), []byte(`"findings": []`)) {
		t.Errorf("clean JSON report:\n%s", b.String())
	}
}

// TestReportsAgree: whatever the checks find in testdata/repo, the JSON
// summary counts the findings it lists, and every check has an entry.
func TestReportsAgree(t *testing.T) {
	res := audit(t, filepath.Join("testdata", "repo"))
	var b bytes.Buffer
	if err := WriteReport(&b, "json", res); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Findings []map[string]any `json:"findings"`
		Summary  map[string]int   `json:"summary"`
		Checks   []struct {
			Findings int `json:"findings"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, c := range got.Checks {
		listed += c.Findings
	}
	sum := got.Summary["errors"] + got.Summary["warnings"] + got.Summary["notes"]
	if len(got.Findings) == 0 || sum != len(got.Findings) || listed != sum || len(got.Checks) != len(res.Checks) {
		t.Errorf("%d findings, summary %v, %d by check, %d checks of %d", len(got.Findings), got.Summary, listed, len(got.Checks), len(res.Checks))
	}
}
