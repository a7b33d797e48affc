package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/waf"
)

// detectionCheck is INV-4: a route blocks with a rule set only after that
// rule set served in detect mode for the platform's detection period. The
// gateway enforces it when it loads a configuration, with its ledger and
// waf.PlanRoute; the audit asks the same planner about the repository's
// past, replaying the configuration commit by commit with the committer
// date as the clock, so that the two cannot disagree on what a rule set
// is or when it qualifies. Without history it reads the gateway's ledger
// when given one, and otherwise says that it cannot tell.
type detectionCheck struct {
	// ledger is the gateway's state directory or its waf-ledger.json.
	ledger string
	// now is the time the ledger is judged at; zero means time.Now.
	now time.Time
}

func (detectionCheck) ID() string    { return "INV-4" }
func (detectionCheck) Title() string { return "WAF rule sets served in detection before blocking" }
func (detectionCheck) Rule() string {
	return "INV-4: WAF rules MUST operate in detection before enforcement (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (c detectionCheck) Run(r *Repo) Outcome {
	if !fileExists(filepath.Join(r.Root, config.PlatformFile)) {
		return Outcome{}
	}
	ev := append([]string{config.PlatformFile}, r.ConfigFiles()...)
	if r.Config != nil {
		ev = append(ev, ruleNames(r.Config)...)
	}
	now := c.now
	if now.IsZero() {
		now = time.Now()
	}
	if r.Git != nil {
		out, replayed, err := replayHistory(r, now)
		if err != nil {
			return Outcome{Evidence: ev, Findings: []Finding{{Check: "INV-4", Severity: Error, File: config.PlatformFile,
				Message: "cannot replay the configuration's Git history: " + err.Error()}}}
		}
		if replayed {
			return Outcome{Findings: out, Evidence: ev}
		}
	}
	if r.Config == nil {
		return Outcome{Evidence: ev} // LOAD reports why
	}
	if c.ledger != "" {
		return Outcome{Findings: fromLedger(r, c.ledger, now), Evidence: ev}
	}
	return Outcome{Findings: unverifiable(r), Evidence: ev}
}

// replay is the configuration's history run through the gateway's
// planner, with a ledger of its own in a scratch directory.
type replay struct {
	r       *Repo
	scratch string
	ledger  *waf.Ledger
	// started maps route and fingerprint to the commit where the rule set
	// began serving in detection, for messages.
	started map[string]string
	// rules are the rule files of the last configuration that loaded: a
	// commit changing one changes fingerprints.
	rules    map[string]bool
	replayed bool
	out      []Finding
}

// moment is when a configuration served: a commit, or the uncommitted
// work tree.
type moment struct {
	at     time.Time
	commit string // short hash; "" for the work tree
}

// label names the moment: "commit 1a2b3c4 (2025-01-02 10:00 UTC)".
func (m moment) label() string {
	if m.commit == "" {
		return fmt.Sprintf("the uncommitted work tree (%s)", date(m.at))
	}
	return fmt.Sprintf("commit %s (%s)", m.commit, date(m.at))
}

// when says what the route did at the moment, for messages.
func (m moment) when() string {
	if m.commit == "" {
		return "blocks in " + m.label()
	}
	return "blocked at " + m.label()
}

func date(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// replayHistory replays every commit of the audited directory that changed
// the configuration, then the work tree if it changes the configuration
// again. replayed is false when no commit had a configuration that loads:
// there is no history to judge by.
func replayHistory(r *Repo, now time.Time) (out []Finding, replayed bool, err error) {
	commits, err := r.Git.Log()
	if err != nil || len(commits) == 0 {
		return nil, false, err
	}
	scratch, err := os.MkdirTemp("", "bulwark-audit-")
	if err != nil {
		return nil, false, fmt.Errorf("replay: %w", err)
	}
	defer os.RemoveAll(scratch)
	p := &replay{r: r, scratch: scratch, started: map[string]string{}, rules: map[string]bool{}}
	if p.ledger, err = waf.OpenLedger(filepath.Join(scratch, "ledger")); err != nil {
		return nil, false, err
	}
	for _, c := range commits {
		if err := p.commit(c); err != nil {
			return nil, false, err
		}
	}
	if p.replayed && r.Config != nil && p.workTreeChanged() {
		if err := p.workTree(now); err != nil {
			return nil, false, err
		}
	}
	return p.out, p.replayed, nil
}

// commit replays c if it changed the configuration. A configuration that
// does not load is skipped with a note: the gateway would have refused it
// and kept serving the one before.
func (p *replay) commit(c Commit) error {
	if !slices.ContainsFunc(c.Files, p.configFile) {
		return nil
	}
	cfg, before, after, err := p.configAt(c)
	if err != nil {
		file := config.PlatformFile
		if ce := (*config.Error)(nil); errors.As(err, &ce) {
			file = ce.File
		}
		p.out = append(p.out, Finding{Check: "INV-4", Severity: Note, File: file,
			Message: fmt.Sprintf("commit %s (%s) is skipped: its configuration does not load: %v", c.Short(), date(c.Time), err)})
		return nil
	}
	if cfg == nil {
		return nil // no platform.yaml at that commit
	}
	p.replayed = true
	return p.plan(cfg, before, after, moment{at: c.Time, commit: c.Short()})
}

func (p *replay) configFile(name string) bool {
	return name == config.PlatformFile || strings.HasPrefix(name, config.TenantDir+"/") || p.rules[name]
}

// configAt loads the configuration as of commit c from a scratch copy of
// its files, and reads its rule files as of c. cfg is nil when c has no
// platform.yaml.
func (p *replay) configAt(c Commit) (cfg *config.Config, before, after []waf.RuleFile, err error) {
	files, err := p.r.Git.ReadFiles(c.Hash, config.PlatformFile, config.TenantDir)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, ok := files[config.PlatformFile]; !ok {
		return nil, nil, nil, nil
	}
	dir := filepath.Join(p.scratch, c.Hash)
	if err := writeFiles(dir, files); err != nil {
		return nil, nil, nil, err
	}
	if cfg, err = config.Load(os.DirFS(dir), ""); err != nil {
		return nil, nil, nil, firstError(err)
	}
	names := ruleNames(cfg)
	p.rules = map[string]bool{}
	for _, n := range names {
		p.rules[filepath.ToSlash(filepath.Clean(n))] = true
	}
	if len(names) > 0 {
		if files, err = p.r.Git.ReadFiles(c.Hash, names...); err == nil {
			err = writeFiles(dir, files)
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
	before, after, err = waf.PlatformRuleFiles(cfg)
	return cfg, before, after, err
}

// plan runs every route of cfg through the planner at m, records what the
// gateway would record, and reports each route that blocks too early. A
// rule set reported once is then taken as enforced, as the gateway would
// have had it if forced, so that it is not reported at every later commit.
func (p *replay) plan(cfg *config.Config, before, after []waf.RuleFile, m moment) error {
	var changes []waf.LedgerChange
	for _, rt := range cfg.Routes {
		rs, plan, err := planRoute(p.ledger, cfg, rt, before, after, m.at)
		var refused *waf.RefusedError
		switch {
		case errors.As(err, &refused):
			f := tooEarly(p.r, rt, refused, m.when(), m.at, p.started[rt.ID+" "+refused.Fingerprint])
			if p.r.Git.Shallow() {
				f.Severity = Warning
				f.Message += "; the history is cut (shallow clone), so an earlier detection period would not show: fetch the full history (git fetch --unshallow) to verify"
			}
			p.out = append(p.out, f)
			plan.Changes = []waf.LedgerChange{{Route: rt.ID, At: m.at,
				Enforce: &waf.EnforcedSet{Fingerprint: refused.Fingerprint, CRSVersion: rs.CRSVersion, Directives: rs.Directives()}}}
		case err != nil:
			return err
		case plan.EnforceNow:
			p.out = append(p.out, overridden(p.r, rt, rs.Fingerprint(), m.when()))
		}
		for _, ch := range plan.Changes {
			if key := ch.Route + " " + ch.DetectionStart; ch.DetectionStart != "" && p.started[key] == "" {
				p.started[key] = m.label()
			}
		}
		changes = append(changes, plan.Changes...)
	}
	return p.ledger.Commit(changes)
}

// planRoute is the gateway's decision for route rt of cfg at time at:
// its rule set, built as the gateway builds it, planned against l.
func planRoute(l *waf.Ledger, cfg *config.Config, rt *config.Route, before, after []waf.RuleFile, at time.Time) (waf.RuleSet, waf.Plan, error) {
	pw := &cfg.Platform.WAF
	rs := waf.ForRoute(pw, rt, before, after)
	plan, err := waf.PlanRoute(l, rt.ID, rs, rt.WAF.Mode, pw.DetectionPeriod.D(), slices.Contains(pw.EnforceNow, rt.ID), at)
	return rs, plan, err
}

// workTree judges the uncommitted configuration as of now; rule files it
// cannot read skip it with a note, as a commit's would.
func (p *replay) workTree(now time.Time) error {
	before, after, err := waf.PlatformRuleFiles(p.r.Config)
	if err != nil {
		p.out = append(p.out, Finding{Check: "INV-4", Severity: Note, File: config.PlatformFile,
			Message: "the uncommitted work tree is skipped: " + err.Error()})
		return nil
	}
	return p.plan(p.r.Config, before, after, moment{at: now})
}

// workTreeChanged reports whether the configuration in the work tree is
// not the committed one: then it is what would serve next, and is judged
// as of now.
func (p *replay) workTreeChanged() bool {
	files := append(p.r.ConfigFiles(), ruleNames(p.r.Config)...)
	return slices.ContainsFunc(files, func(f string) bool { return p.r.Git.State(f) != Committed })
}

// fromLedger judges each blocking route of the current configuration by
// the gateway's ledger as of now, read only.
func fromLedger(r *Repo, ledger string, now time.Time) []Finding {
	l, err := openLedger(ledger)
	if err != nil {
		return []Finding{{Check: "INV-4", Severity: Error, File: config.PlatformFile, Message: "cannot read the WAF ledger: " + err.Error(),
			Remediation: "pass --ledger the gateway's state directory (state_dir) or its " + waf.LedgerFile}}
	}
	before, after, err := waf.PlatformRuleFiles(r.Config)
	if err != nil {
		return []Finding{{Check: "INV-4", Severity: Error, File: config.PlatformFile, Message: "cannot read the WAF rule files: " + err.Error()}}
	}
	when := fmt.Sprintf("blocks as of %s by the gateway's ledger", date(now))
	var out []Finding
	for _, rt := range r.Config.Routes {
		if rt.WAF.Mode != "block" {
			continue
		}
		rs, plan, err := planRoute(l, r.Config, rt, before, after, now)
		var refused *waf.RefusedError
		switch {
		case errors.As(err, &refused):
			out = append(out, tooEarly(r, rt, refused, when, now, ""))
		case plan.EnforceNow:
			out = append(out, overridden(r, rt, rs.Fingerprint(), when))
		case plan.Pending != nil:
			file, line := routeLocation(r, rt)
			out = append(out, Finding{Check: "INV-4", Severity: Note, File: file, Line: line,
				Message: fmt.Sprintf("route %s keeps blocking with its enforced rule set while rule set %s serves its detection period beside it, until %s", rt.ID, rs.Fingerprint(), date(plan.PendingFrom))})
		}
	}
	return out
}

// openLedger opens the ledger named by --ledger: the state directory or
// the ledger file in it. A missing ledger is an error rather than an empty
// one, which would fail every blocking route for the wrong reason.
func openLedger(name string) (*waf.Ledger, error) {
	dir := name
	if info, err := os.Stat(name); err == nil && !info.IsDir() {
		if filepath.Base(name) != waf.LedgerFile {
			return nil, fmt.Errorf("%s: expected a state directory or a file named %s", name, waf.LedgerFile)
		}
		dir = filepath.Dir(name)
	}
	if _, err := os.Stat(filepath.Join(dir, waf.LedgerFile)); err != nil {
		return nil, fmt.Errorf("%s: no %s: %w", name, waf.LedgerFile, errors.Unwrap(err))
	}
	return waf.OpenLedger(dir)
}

// unverifiable reports every blocking route when nothing tells how long
// its rule set served in detection.
func unverifiable(r *Repo) []Finding {
	var out []Finding
	for _, rt := range r.Config.Routes {
		if rt.WAF.Mode == "block" {
			file, line := routeLocation(r, rt)
			out = append(out, Finding{Check: "INV-4", Severity: Warning, File: file, Line: line,
				Message:     fmt.Sprintf("route %s blocks; whether its rule set served in detection first is unverifiable: no Git history and no --ledger", rt.ID),
				Remediation: "audit a clone with the configuration's Git history, or pass --ledger the gateway's state directory"})
		}
	}
	return out
}

// tooEarly reports a route that blocks (when, at) with a rule set the
// planner refused; startedAt names where its detection began, if known.
func tooEarly(r *Repo, rt *config.Route, e *waf.RefusedError, when string, at time.Time, startedAt string) Finding {
	served := "which never served in detection"
	if !e.Since.IsZero() {
		if startedAt == "" {
			startedAt = date(e.Since)
		}
		served = fmt.Sprintf("which had served in detection for only %s, since %s", config.Duration(at.Sub(e.Since).Round(time.Minute)), startedAt)
	}
	file, line := routeLocation(r, rt)
	return Finding{Check: "INV-4", Severity: Error, File: file, Line: line,
		Message:     fmt.Sprintf("route %s %s with rule set %s, %s; the detection period is %s", rt.ID, when, e.Fingerprint, served, config.Duration(e.Period)),
		Remediation: fmt.Sprintf("serve a new or changed rule set in waf.mode: detect for waf.detection_period (%s) before the route blocks with it; a block that cannot wait needs the security team's waf.enforce_now", config.Duration(e.Period))}
}

// overridden reports a block the security team allowed early with
// waf.enforce_now: legitimate, and to be seen.
func overridden(r *Repo, rt *config.Route, fp, when string) Finding {
	file, line := routeLocation(r, rt)
	return Finding{Check: "INV-4", Severity: Warning, File: file, Line: line,
		Message:     fmt.Sprintf("route %s %s with rule set %s before its detection period ended, under waf.enforce_now (a security override)", rt.ID, when, fp),
		Remediation: "keep waf.enforce_now for emergencies, and remove the route from it once its rule set has served its detection period"}
}

// routeLocation is where a finding about route rt points: its mode in the
// current configuration if the route still exists, else its tenant file.
func routeLocation(r *Repo, rt *config.Route) (string, int) {
	if r.Config != nil {
		for _, cur := range r.Config.Routes {
			if cur.ID == rt.ID {
				return cur.Source, r.Config.Line(cur.Source, cur.Field+".waf.mode")
			}
		}
	}
	return rt.Source, 0
}

// ruleNames are the platform's rule files, as platform.yaml names them.
func ruleNames(cfg *config.Config) []string {
	return append(slices.Clone(cfg.Platform.WAF.Rules.BeforeCRS), cfg.Platform.WAF.Rules.AfterCRS...)
}

// writeFiles writes files (slash paths relative to dir) under dir.
func writeFiles(dir string, files map[string][]byte) error {
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	return nil
}

// firstError shortens a configuration's load errors to the first, for a
// one-line note.
func firstError(err error) error {
	var errs config.Errors
	switch {
	case !errors.As(err, &errs) || len(errs) == 0:
		return err
	case len(errs) == 1:
		return errs[0]
	}
	return fmt.Errorf("%w (and %d more)", errs[0], len(errs)-1)
}
