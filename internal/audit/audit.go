// Package audit checks a GitOps repository against Bulwark's invariants
// (RFC-TENANT-SECURITY-0001 §2.3–2.5) and RFC-SECOPS §7: it loads the
// repository once — Kubernetes manifests and, when present, Bulwark's
// platform and tenant configuration — runs each check over it, and reports
// findings located by file and line. A file that cannot be read is a
// finding too, and the audit goes on with the rest: the question asked is
// about the whole repository, not about its first broken file.
package audit

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Severity ranks findings; --fail-on compares against it.
type Severity int

// Severities, from least to most severe.
const (
	Note Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "note"
	}
}

// MarshalText writes the severity's name, as JSON and SARIF expect.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads "error", "warning" or "note".
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "error":
		return Error, nil
	case "warning":
		return Warning, nil
	case "note":
		return Note, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or note)", s)
}

// Finding is one problem, with where it is and how to fix it.
type Finding struct {
	Check    string   `json:"check"` // INV-2, SECOPS-1, LOAD
	Severity Severity `json:"severity"`
	// File is relative to the audited path, with forward slashes; Line is
	// 1-based, 0 when unknown.
	File string `json:"file"`
	Line int    `json:"line"`
	// Object names the Kubernetes object: kind namespace/name.
	Object string `json:"object,omitempty"`
	// Field is the object's field the finding is about, such as
	// spec.tls[0].secretName or metadata.annotations[example.com/key];
	// Line then points at it rather than at the object's first line.
	Field       string `json:"field,omitempty"`
	Message     string `json:"message"`
	Remediation string `json:"remediation,omitempty"`
}

// at points f at field of its object.
func (f Finding) at(field string) Finding {
	f.Field = field
	return f
}

// Location is file:line, or the file alone when the line is unknown.
func (f Finding) Location() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

// Check is one invariant enforced over a repository.
type Check interface {
	// ID is stable across releases: INV-1 … INV-14, SECOPS-*.
	ID() string
	// Title is a one-line summary.
	Title() string
	// Rule is the RFC text the check enforces, quoted in reports.
	Rule() string
	Run(r *Repo) Outcome
}

// Outcome is what one check found, and what it read to find it.
type Outcome struct {
	Findings []Finding
	// Evidence are the files the check examined (relative to the audited
	// path, forward slashes, sorted, no repeats): what a compliance report
	// cites as the proof of a passing check.
	Evidence []string
}

// Options tune the checks.
type Options struct {
	// IngressClass is Bulwark's ingressClassName. Default: "bulwark".
	IngressClass string
	// Ledger is the gateway's state directory, or the waf-ledger.json in
	// it: INV-4's evidence when the audited path has no Git history.
	// Default: none (blocking routes are then unverifiable).
	Ledger string
	// Now is when the ledger is judged, and the work tree's uncommitted
	// configuration with it. Default: the time of the check.
	Now time.Time
}

// Checks returns every check, in report order.
func Checks(opts Options) []Check {
	if opts.IngressClass == "" {
		opts.IngressClass = "bulwark"
	}
	return []Check{
		bypassCheck{class: opts.IngressClass},
		tlsVersionCheck{},
		committedCertCheck{},
		detectionCheck{ledger: opts.Ledger, now: opts.Now},
		defaultDenyCheck{},
		crossNamespaceCheck{},
		egressCheck{},
		guardrailCheck{},
		eventLogCheck{},
		flowLogCheck{},
		monitoringCheck{},
		policyInGitCheck{},
		wafInGitCheck{},
		certSourceCheck{},
		plaintextSecretCheck{},
	}
}

// loadCheck describes the findings of loading, so reports can list it as
// a rule like the others.
type loadCheck struct{}

func (loadCheck) ID() string    { return LoadID }
func (loadCheck) Title() string { return "every file of the repository can be read" }
func (loadCheck) Rule() string {
	return "An audit is only as good as what it read: a file that cannot be parsed is not audited."
}
func (loadCheck) Run(r *Repo) Outcome { return Outcome{Findings: r.LoadFindings} }

// LoadID is the check of findings from reading the repository.
const LoadID = "LOAD"

// Result is one audit: the checks that ran and what they found.
type Result struct {
	Checks   []Check
	Findings []Finding
	// Evidence maps a check's ID to the files it examined.
	Evidence map[string][]string
}

// Run runs checks over r. The repository's load findings come first, under
// the LOAD check; findings are sorted by check order, then file and line.
func Run(r *Repo, checks []Check) *Result {
	all := append([]Check{loadCheck{}}, checks...)
	res := &Result{Checks: all, Evidence: map[string][]string{}}
	order := map[string]int{}
	for i, c := range all {
		order[c.ID()] = i
		o := c.Run(r)
		r.locate(o.Findings)
		res.Findings = append(res.Findings, o.Findings...)
		res.Evidence[c.ID()] = sortedUnique(o.Evidence)
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.Check != b.Check {
			return order[a.Check] < order[b.Check]
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return res
}

// Failed reports whether any finding is at or above min.
func (res *Result) Failed(min Severity) bool {
	for _, f := range res.Findings {
		if f.Severity >= min {
			return true
		}
	}
	return false
}

// Count returns how many findings have each severity.
func (res *Result) Count() map[Severity]int {
	n := map[Severity]int{}
	for _, f := range res.Findings {
		n[f.Severity]++
	}
	return n
}

// objectName is kind namespace/name, as findings name objects.
func objectName(kind, ns, name string) string {
	id := name
	if ns != "" {
		id = ns + "/" + name
	}
	return strings.TrimSpace(kind + " " + id)
}

// sortedUnique sorts files and drops repeats and empty names.
func sortedUnique(files []string) []string {
	out := slices.Clone(files)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	return out
}
