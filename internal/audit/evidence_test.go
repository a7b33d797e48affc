package audit

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// fakeCheck is a check with fixed text, so report tests do not change as
// the real checks do.
type fakeCheck struct{ id, title, rule string }

var _ Check = fakeCheck{}

func (c fakeCheck) ID() string        { return c.id }
func (c fakeCheck) Title() string     { return c.title }
func (c fakeCheck) Rule() string      { return c.rule }
func (c fakeCheck) Run(*Repo) Outcome { return Outcome{} }

// fakeChecks are LOAD, INV-1…INV-14 and SECOPS-1, less those in skip.
func fakeChecks(skip ...string) []Check {
	ids := []string{LoadID, "INV-1", "INV-2", "INV-3", "INV-4", "INV-5", "INV-6", "INV-7", "INV-8", "INV-9", "INV-10", "INV-11", "INV-12", "INV-13", "INV-14", "SECOPS-1"}
	var out []Check
	for _, id := range ids {
		if !strings.Contains(" "+strings.Join(skip, " ")+" ", " "+id+" ") {
			out = append(out, fakeCheck{id: id, title: "title of " + id, rule: id + ": the rule text of " + id + "."})
		}
	}
	return out
}

// evidenceFixture has a control of each status: CC6.6 fails on a
// warning (whose message tries to inject a script), PCI DSS 6.6 passes
// with a note, and ISO 27001 A.13.1 lacks a check that did not run.
func evidenceFixture() *Result {
	return &Result{
		Checks: fakeChecks("INV-7"),
		Findings: []Finding{
			{Check: "INV-2", Severity: Warning, File: "cluster/ingress.yaml", Line: 4, Object: "Ingress shop/web", Field: "metadata.annotations[nginx.ingress.kubernetes.io/ssl-protocols]",
				Message: `annotation allows TLS 1.0 <script>alert("x")</script>`, Remediation: "remove the ssl-protocols annotation"},
			{Check: "INV-2", Severity: Error, File: "platform.yaml", Message: "tls.min_version is 1.1 | not *1.2*"},
			{Check: "INV-9", Severity: Note, File: "platform.yaml", Line: 12, Message: "blocked requests are logged to stdout only"},
		},
		Evidence: map[string][]string{
			"INV-1":  {"cluster/apps.yaml", "cluster/ingress.yaml"},
			"INV-2":  {"cluster/ingress.yaml", "platform.yaml"},
			"INV-5":  {"cluster/netpol.yaml", "tenants/shop.yaml"},
			"INV-9":  {"platform.yaml"},
			"INV-11": {"monitoring/rules `odd` name.yaml"},
		},
	}
}

var evidenceTime = time.Date(2026, 5, 4, 3, 2, 1, 0, time.FixedZone("CEST", 2*3600))

// TestEvidenceGolden keeps both evidence files of fixed results equal to
// testdata/evidence/NAME.{md,html}.golden; run with -update after an
// intended change.
func TestEvidenceGolden(t *testing.T) {
	tests := []struct {
		name string
		res  *Result
		opts EvidenceOptions
	}{
		{"findings", evidenceFixture(), EvidenceOptions{Path: "deploy/prod", Time: evidenceTime, Version: "v1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567"}},
		{"clean", &Result{Checks: fakeChecks()}, EvidenceOptions{Path: ".", Time: evidenceTime}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteEvidence(dir, tt.res, tt.opts); err != nil {
				t.Fatal(err)
			}
			for _, file := range []string{EvidenceMarkdown, EvidenceHTML} {
				got, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "evidence", tt.name+filepath.Ext(file)+".golden")
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s:\n%s", file, golden, got)
				}
			}
		})
	}
}

func TestEvidenceStatus(t *testing.T) {
	ev := buildEvidence(evidenceFixture(), EvidenceOptions{})
	want := map[string]bool{"CC6.6": false, "6.6": true, "A.13.1": false}
	for _, c := range ev.Controls {
		if c.Satisfied != want[c.ID] {
			t.Errorf("%s %s: satisfied = %v, want %v", c.Framework, c.ID, c.Satisfied, want[c.ID])
		}
	}
	// Unreadable files fail every control: what was not read was not audited.
	res := &Result{Checks: fakeChecks(), Findings: []Finding{{Check: LoadID, Severity: Error, File: "x.yaml", Message: "cannot read"}}}
	for _, c := range buildEvidence(res, EvidenceOptions{}).Controls {
		if c.Satisfied {
			t.Errorf("%s %s satisfied over an unreadable file", c.Framework, c.ID)
		}
	}
}

func TestCheckResult(t *testing.T) {
	tests := []struct {
		name string
		fs   []Finding
		want string
	}{
		{"none", nil, "passed"},
		{"notes", []Finding{{Severity: Note}, {Severity: Note}}, "passed (2 notes)"},
		{"warning", []Finding{{Severity: Warning}, {Severity: Note}}, "failed (1 warning, 1 note)"},
		{"errors", []Finding{{Severity: Error}, {Severity: Error}, {Severity: Warning}}, "failed (2 errors, 1 warning)"},
	}
	for _, tt := range tests {
		if got := checkResult(tt.fs); got != tt.want {
			t.Errorf("%s: checkResult = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestEvidenceHTML parses the HTML report: well-formed, self-contained,
// and a finding's <script> is text, not an element.
func TestEvidenceHTML(t *testing.T) {
	dir := t.TempDir()
	if err := WriteEvidence(dir, evidenceFixture(), EvidenceOptions{Path: "<b>repo</b>", Time: evidenceTime}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, EvidenceHTML))
	if err != nil {
		t.Fatal(err)
	}
	checkBalanced(t, page)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for n := range doc.Descendants() {
		switch n.Type {
		case html.TextNode:
			text.WriteString(n.Data)
		case html.ElementNode:
			switch n.Data {
			case "script", "link", "img", "iframe", "object", "b":
				t.Errorf("<%s> element in the report", n.Data)
			}
			for _, a := range n.Attr {
				if a.Key == "src" || (a.Key == "href" && !strings.HasPrefix(a.Val, "#")) {
					t.Errorf("<%s %s=%q>: an external asset", n.Data, a.Key, a.Val)
				}
			}
		}
	}
	for _, s := range []string{`annotation allows TLS 1.0 <script>alert("x")</script>`, "<b>repo</b>", "SOC 2 CC6.6", "PCI DSS 6.6", "ISO 27001 A.13.1"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("report text lacks %q", s)
		}
	}
}

// voidElements have no end tag.
var voidElements = map[string]bool{"br": true, "meta": true, "link": true, "img": true, "hr": true, "input": true}

// checkBalanced fails unless every start tag of page has its end tag, in
// order: html.Parse repairs whatever it is given, so it alone proves
// nothing about well-formedness.
func checkBalanced(t *testing.T, page []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	var open []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				t.Fatal(z.Err())
			}
			if len(open) > 0 {
				t.Errorf("unclosed elements %v", open)
			}
			return
		case html.StartTagToken:
			if name, _ := z.TagName(); !voidElements[string(name)] {
				open = append(open, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(open) == 0 || open[len(open)-1] != string(name) {
				t.Fatalf("</%s> closes %v", name, open)
			}
			open = open[:len(open)-1]
		}
	}
}

// TestEvidenceMarkdownEscapes: finding text cannot become Markdown markup
// or raw HTML.
func TestEvidenceMarkdownEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<script>alert("x")</script>`, `\<script\>alert("x")\</script\>`},
		{"a | b *c* _d_ [e](f) # g", `a \| b \*c\* \_d\_ \[e\](f) \# g`},
		{"two\nlines", "two lines"},
	}
	for _, tt := range tests {
		if got := mdText(tt.in); got != tt.want {
			t.Errorf("mdText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for in, want := range map[string]string{"a.yaml": "`a.yaml`", "a`b.yaml": "``a`b.yaml``", "`x`": "`` `x` ``"} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteEvidenceFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "evidence")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, EvidenceMarkdown), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteEvidence(dir, &Result{Checks: fakeChecks()}, EvidenceOptions{Time: evidenceTime}); err != nil {
		t.Fatal(err)
	}
	if md, _ := os.ReadFile(filepath.Join(dir, EvidenceMarkdown)); !bytes.HasPrefix(md, []byte("# Compliance evidence")) {
		t.Errorf("existing %s not replaced: %q", EvidenceMarkdown, md)
	}

	// A directory that cannot be made is an error naming it.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteEvidence(filepath.Join(file, "evidence"), &Result{}, EvidenceOptions{})
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("WriteEvidence under a file: %v, want an error naming %s", err, file)
	}
}
