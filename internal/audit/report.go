package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats are the report formats WriteReport knows.
var Formats = []string{"text", "json", "sarif"}

// WriteReport writes res in format: text, json or sarif.
func WriteReport(w io.Writer, format string, res *Result) error {
	switch format {
	case "text":
		return writeText(w, res)
	case "json":
		return writeJSON(w, res)
	case "sarif":
		return writeSARIF(w, res)
	}
	return fmt.Errorf("audit: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// writeText groups findings by check, for a terminal.
func writeText(w io.Writer, res *Result) error {
	var b strings.Builder
	for _, c := range res.Checks {
		var fs []Finding
		for _, f := range res.Findings {
			if f.Check == c.ID() {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s  %s\n", c.ID(), c.Title())
		for _, f := range fs {
			fmt.Fprintf(&b, "  %-7s %s", f.Severity, f.Location())
			if what := subject(f); what != "" {
				fmt.Fprintf(&b, "  %s", what)
			}
			fmt.Fprintf(&b, "\n          %s\n", f.Message)
			if f.Remediation != "" {
				fmt.Fprintf(&b, "          fix: %s\n", f.Remediation)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(summaryLine(res) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// subject is what a finding is about: its object and field, as far as
// known.
func subject(f Finding) string {
	return strings.TrimSpace(f.Object + " " + f.Field)
}

func summaryLine(res *Result) string {
	n := res.Count()
	return fmt.Sprintf("%d checks: %s, %s, %s", len(res.Checks), count(n[Error], "error"), count(n[Warning], "warning"), count(n[Note], "note"))
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// jsonReport is the JSON form: every finding and a summary per check.
type jsonReport struct {
	Findings []Finding   `json:"findings"`
	Summary  jsonSummary `json:"summary"`
	Checks   []jsonCheck `json:"checks"`
}

type jsonSummary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Notes    int `json:"notes"`
}

type jsonCheck struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Rule     string `json:"rule"`
	Findings int    `json:"findings"`
}

func writeJSON(w io.Writer, res *Result) error {
	n := res.Count()
	rep := jsonReport{Findings: res.Findings, Summary: jsonSummary{Errors: n[Error], Warnings: n[Warning], Notes: n[Note]}}
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	for _, c := range res.Checks {
		jc := jsonCheck{ID: c.ID(), Title: c.Title(), Rule: c.Rule()}
		for _, f := range res.Findings {
			if f.Check == c.ID() {
				jc.Findings++
			}
		}
		rep.Checks = append(rep.Checks, jc)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
