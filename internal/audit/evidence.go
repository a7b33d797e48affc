package audit

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// control is a compliance control and the checks whose results prove it.
type control struct {
	// Framework and ID name it: "SOC 2" "CC6.6".
	Framework, ID string
	// Title is what the control asks for, in short.
	Title string
	// Criterion is the measurement RFC-TENANT-SECURITY-0001 §2.5.3 sets.
	Criterion string
	// Rationale says why these checks, and no others, prove the control.
	Rationale string
	// Checks are the IDs of the checks it rests on.
	Checks []string
}

// controls maps the compliance criteria of RFC-TENANT-SECURITY-0001
// §2.5.3 to checks. Every control also rests on LOAD, which WriteEvidence
// adds: a file that cannot be read is not audited, so no control is
// satisfied over it.
var controls = []control{
	{
		Framework: "SOC 2", ID: "CC6.6",
		Title:     "Logical access security measures against threats from sources outside the system boundaries",
		Criterion: "WAF controls documented",
		Rationale: "CC6.6 asks for boundary protection against outside threats. " +
			"INV-1 routes all external traffic through the WAF, INV-4 enforces its rules only after detection, " +
			"INV-13 keeps its configuration under version control (the documented control), " +
			"INV-9 and INV-11 log and alert on what it blocks, and INV-2, INV-3, INV-14 and SECOPS-1 protect " +
			"traffic and credentials crossing the boundary: TLS 1.2 or later, automated certificates, no secret in Git.",
		Checks: []string{"INV-1", "INV-2", "INV-3", "INV-4", "INV-9", "INV-11", "INV-13", "INV-14", "SECOPS-1"},
	},
	{
		Framework: "PCI DSS", ID: "6.6",
		Title:     "Public-facing web applications protected by an automated technical solution that detects and prevents web-based attacks",
		Criterion: "WAF implementation evidence",
		Rationale: "PCI DSS v3.2.1 requirement 6.6 (6.4.1 and 6.4.2 in v4.0) asks for a WAF in front of public-facing " +
			"web applications that continually checks all traffic. INV-1 shows that no route bypasses it, INV-4 that " +
			"its rules detect and then block, INV-9 and INV-11 that blocked attacks are logged and alerted on, and " +
			"INV-13 that the rules in force are the ones under version control.",
		Checks: []string{"INV-1", "INV-4", "INV-9", "INV-11", "INV-13"},
	},
	{
		Framework: "ISO 27001", ID: "A.13.1",
		Title:     "Network security management: network controls, security of network services, segregation in networks",
		Criterion: "Network segmentation documentation",
		Rationale: "ISO/IEC 27001:2013 A.13.1.1 to A.13.1.3 (8.20 to 8.22 in ISO/IEC 27001:2022) ask for managed " +
			"and segregated networks. INV-5, INV-6 and INV-7 segregate tenant namespaces (default-deny ingress, " +
			"explicitly authorized cross-namespace traffic, controlled egress), INV-8 keeps platform guardrails above " +
			"tenant policies, INV-1 keeps workloads off the public network except through the gateway, INV-10 makes " +
			"flows observable, and INV-12 shows the policies in force are the ones declared in Git.",
		Checks: []string{"INV-1", "INV-5", "INV-6", "INV-7", "INV-8", "INV-10", "INV-12"},
	},
}

// Evidence report files, written by WriteEvidence.
const (
	EvidenceMarkdown = "evidence.md"
	EvidenceHTML     = "evidence.html"
)

// EvidenceOptions say what audit the evidence report is about.
type EvidenceOptions struct {
	// Path is the audited path, as given.
	Path string
	// Time is when the audit ran; printed in UTC.
	Time time.Time
	// Version is Bulwark's version; "" prints "unknown".
	Version string
	// Revision is the commit of the audited work tree; "" leaves it out.
	Revision string
}

// evidence is what both report files render.
type evidence struct {
	Path, Time, Version, Revision string
	Controls                      []controlEvidence
}

type controlEvidence struct {
	control
	Satisfied bool
	Checks    []checkEvidence
	// Findings are those of the control's checks, notes included.
	Findings []Finding
}

type checkEvidence struct {
	ID, Title, Rule string
	// Result is "passed", "passed (1 note)", "failed (2 errors)" or "not run".
	Result string
	// Files are the files the check examined.
	Files []string
}

// WriteEvidence writes the compliance evidence of res into dir, as
// EvidenceMarkdown and EvidenceHTML: for each control its status, and for
// each check it rests on the rule, the result, the findings and the files
// examined. A control is satisfied only when every one of its checks ran
// and found nothing at Warning or above. dir is created if missing and
// existing files are replaced. Findings carry no secret value, and the
// report prints nothing else of the repository's content.
func WriteEvidence(dir string, res *Result, opts EvidenceOptions) error {
	ev := buildEvidence(res, opts)
	var md, page bytes.Buffer
	if err := markdownTemplate.Execute(&md, ev); err != nil {
		return fmt.Errorf("evidence: %s: %w", EvidenceMarkdown, err)
	}
	if err := htmlTemplate.Execute(&page, ev); err != nil {
		return fmt.Errorf("evidence: %s: %w", EvidenceHTML, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{EvidenceMarkdown, md.Bytes()}, {EvidenceHTML, page.Bytes()}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("evidence: %w", err)
		}
	}
	return nil
}

func buildEvidence(res *Result, opts EvidenceOptions) evidence {
	ev := evidence{Path: opts.Path, Time: opts.Time.UTC().Format(time.RFC3339), Version: opts.Version, Revision: opts.Revision}
	if ev.Version == "" {
		ev.Version = "unknown"
	}
	ran := map[string]Check{}
	for _, c := range res.Checks {
		ran[c.ID()] = c
	}
	for _, ctl := range controls {
		ce := controlEvidence{control: ctl, Satisfied: true}
		for _, id := range append([]string{LoadID}, ctl.Checks...) {
			var fs []Finding
			for _, f := range res.Findings {
				if f.Check == id {
					fs = append(fs, f)
				}
			}
			ck := checkEvidence{ID: id, Result: "not run", Files: res.Evidence[id]}
			if c, ok := ran[id]; ok {
				ck.Title, ck.Rule, ck.Result = c.Title(), c.Rule(), checkResult(fs)
			}
			if ck.Result == "not run" || strings.HasPrefix(ck.Result, "failed") {
				ce.Satisfied = false
			}
			ce.Checks = append(ce.Checks, ck)
			ce.Findings = append(ce.Findings, fs...)
		}
		ev.Controls = append(ev.Controls, ce)
	}
	return ev
}

// checkResult is "failed" when a finding is at Warning or above, else
// "passed", with the counts.
func checkResult(fs []Finding) string {
	n := map[Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var counts []string
	for _, s := range []Severity{Error, Warning, Note} {
		if n[s] > 0 {
			counts = append(counts, count(n[s], s.String()))
		}
	}
	verdict := "passed"
	if n[Error]+n[Warning] > 0 {
		verdict = "failed"
	}
	if len(counts) == 0 {
		return verdict
	}
	return verdict + " (" + strings.Join(counts, ", ") + ")"
}

// status names a control's status in both reports.
func status(satisfied bool) string {
	if satisfied {
		return "satisfied"
	}
	return "not satisfied"
}

// cssClass is the class of a status or result: its verdict, without
// counts, in kebab case ("not-satisfied", "failed", "not-run").
func cssClass(s string) string {
	s, _, _ = strings.Cut(s, " (")
	return strings.ReplaceAll(s, " ", "-")
}

// mdText escapes s for Markdown: every character that could start markup
// or raw HTML is backslash-escaped, and line breaks become spaces.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range strings.Join(strings.Fields(s), " ") {
		if strings.ContainsRune("\\`*_[]<>|#~&!", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdCode is s as a Markdown code span, fenced with more backticks than s
// holds in a row.
func mdCode(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

var markdownTemplate = template.Must(template.New(EvidenceMarkdown).Funcs(template.FuncMap{
	"md": mdText, "code": mdCode, "status": status, "subject": subject,
}).Parse(`# Compliance evidence: Bulwark audit

- Audited path: {{code .Path}}
- Audited at: {{.Time}}
- Bulwark version: {{md .Version}}
{{- with .Revision}}
- Revision: {{code .}}
{{- end}}

Each control is mapped to the Bulwark checks that prove it (RFC-TENANT-SECURITY-0001 §2.5.3). A control is satisfied only when every one of its checks ran and found nothing at warning or above. LOAD, the check that every file of the repository could be read, counts for every control. A check's evidence is the files it examined. Secret values are never included.

| Control | Criterion | Status |
| --- | --- | --- |
{{- range .Controls}}
| {{.Framework}} {{.ID}} | {{md .Criterion}} | {{status .Satisfied}} |
{{- end}}
{{range .Controls}}
## {{.Framework}} {{.ID}}: {{md .Title}}

Status: **{{status .Satisfied}}**. Criterion: {{md .Criterion}}.

{{md .Rationale}}
{{range .Checks}}
### {{.ID}}{{with .Title}}: {{md .}}{{end}}

Result: **{{.Result}}**
{{- with .Rule}}

> {{md .}}
{{- end}}

Evidence: {{range $i, $f := .Files}}{{if $i}}, {{end}}{{code $f}}{{else}}no file examined{{end}}
{{end}}
{{- if .Findings}}
### Findings
{{range .Findings}}
- {{.Severity}} {{.Check}} {{code .Location}}{{with subject .}} {{md .}}{{end}}: {{md .Message}}{{with .Remediation}}; fix: {{md .}}{{end}}
{{- end}}
{{end}}{{end}}`))

var htmlTemplate = htmltemplate.Must(htmltemplate.New(EvidenceHTML).Funcs(htmltemplate.FuncMap{
	"status": status, "class": cssClass, "subject": subject,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Compliance evidence: Bulwark audit</title>
<style>
body { font-family: sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.4; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
.satisfied, .passed { color: #075e07; font-weight: bold; }
.not-satisfied, .failed, .not-run { color: #a00; font-weight: bold; }
blockquote { margin: 0.5rem 0; padding-left: 1rem; border-left: 3px solid #ccc; }
</style>
</head>
<body>
<h1>Compliance evidence: Bulwark audit</h1>
<dl>
<dt>Audited path</dt><dd><code>{{.Path}}</code></dd>
<dt>Audited at</dt><dd>{{.Time}}</dd>
<dt>Bulwark version</dt><dd>{{.Version}}</dd>
{{- with .Revision}}
<dt>Revision</dt><dd><code>{{.}}</code></dd>
{{- end}}
</dl>
<p>Each control is mapped to the Bulwark checks that prove it (RFC-TENANT-SECURITY-0001 §2.5.3). A control is satisfied only when every one of its checks ran and found nothing at warning or above. LOAD, the check that every file of the repository could be read, counts for every control. A check's evidence is the files it examined. Secret values are never included.</p>
<table>
<tr><th>Control</th><th>Criterion</th><th>Status</th></tr>
{{- range .Controls}}
<tr><td><a href="#{{.ID}}">{{.Framework}} {{.ID}}</a></td><td>{{.Criterion}}</td><td class="{{status .Satisfied | class}}">{{status .Satisfied}}</td></tr>
{{- end}}
</table>
{{- range .Controls}}
<section id="{{.ID}}">
<h2>{{.Framework}} {{.ID}}: {{.Title}}</h2>
<p>Status: <span class="{{status .Satisfied | class}}">{{status .Satisfied}}</span>. Criterion: {{.Criterion}}.</p>
<p>{{.Rationale}}</p>
<table>
<tr><th>Check</th><th>Rule</th><th>Result</th><th>Evidence</th></tr>
{{- range .Checks}}
<tr><td>{{.ID}}{{with .Title}}<br>{{.}}{{end}}</td><td>{{with .Rule}}<blockquote>{{.}}</blockquote>{{end}}</td><td class="{{class .Result}}">{{.Result}}</td><td>{{range $i, $f := .Files}}{{if $i}}<br>{{end}}<code>{{$f}}</code>{{else}}no file examined{{end}}</td></tr>
{{- end}}
</table>
{{- if .Findings}}
<h3>Findings</h3>
<ul>
{{- range .Findings}}
<li>{{.Severity}} {{.Check}} <code>{{.Location}}</code>{{with subject .}} {{.}}{{end}}: {{.Message}}{{with .Remediation}}; fix: {{.}}{{end}}</li>
{{- end}}
</ul>
{{- end}}
</section>
{{- end}}
</body>
</html>
`))
