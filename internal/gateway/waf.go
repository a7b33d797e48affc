package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/waf"
)

// wafInputs are what every route's rule set shares in one generation: the
// platform's rule files, read once, and the candidate set's source.
type wafInputs struct {
	before, after []waf.RuleFile
	candidate     *waf.RuleSet // template: paranoia and rules directory
	catalog       *waf.Catalog // rules and tags exceptions may name
}

// loadWAFInputs reads the platform's SecLang files and the candidate
// rules directory from the configuration directory.
func loadWAFInputs(cfg *config.Config) (*wafInputs, error) {
	in := &wafInputs{}
	var err error
	if in.before, in.after, err = waf.PlatformRuleFiles(cfg); err != nil {
		return nil, err
	}
	in.catalog = waf.CRSCatalog().With(append(append([]waf.RuleFile{}, in.before...), in.after...))
	if c := cfg.Platform.WAF.Candidate; c != nil {
		t := &waf.RuleSet{Paranoia: c.Paranoia}
		if c.RulesDir != "" {
			dir, err := cfg.Sub(c.RulesDir)
			if err == nil {
				t.RulesHash, err = waf.HashDir(dir)
			}
			if err != nil {
				return nil, cfg.Errorf(config.PlatformFile, "waf.candidate.rules_dir", "cannot read %s: %v", c.RulesDir, err)
			}
			t.RulesDir = dir
		}
		in.candidate = t
	}
	return in, nil
}

// buildWAF is the WAF stage of route r: its rule set, planned against the
// INV-4 ledger, compiled (or shared) and wrapped around next.
func buildWAF(g *generation, r *config.Route, next http.Handler) (http.Handler, error) {
	pw := &g.cfg.Platform.WAF
	if err := checkExceptions(g.cfg, r, g.waf.catalog); err != nil {
		return nil, err
	}
	rs := waf.ForRoute(pw, r, g.waf.before, g.waf.after)
	plan, err := waf.PlanRoute(g.gw.ledger, r.ID, rs, r.WAF.Mode, pw.DetectionPeriod.D(), slices.Contains(pw.EnforceNow, r.ID), g.loadedAt)
	if err != nil {
		return nil, g.cfg.Errorf(r.Source, r.Field+".waf.mode", "%v", err)
	}
	g.ledgerChanges = append(g.ledgerChanges, plan.Changes...)
	if plan.EnforceNow {
		g.enforceNow = append(g.enforceNow, r.ID)
	}
	o := waf.Options{RouteID: r.ID, Mode: r.WAF.Mode, PendingFrom: plan.PendingFrom,
		ResponseBodyLimit: int64(pw.ResponseBodyLimit), Recent: g.gw.recent, Metrics: g.gw.wafMetrics, Now: g.gw.now, Log: g.gw.log}
	if o.Enforced, err = g.engine(plan.Enforced); err != nil {
		return nil, err
	}
	if plan.Pending != nil {
		if o.Pending, err = g.engine(*plan.Pending); err != nil {
			return nil, err
		}
	}
	if t := g.waf.candidate; t != nil {
		cs := rs
		cs.RulesDir, cs.RulesHash = t.RulesDir, t.RulesHash
		if t.Paranoia != 0 {
			cs.Paranoia = t.Paranoia
		}
		if o.Candidate, err = g.engine(cs); err != nil {
			return nil, g.cfg.Errorf(config.PlatformFile, "waf.candidate", "%v", err)
		}
	}
	return waf.New(o).Wrap(next), nil
}

// engine acquires the compiled rule set rs for this generation; the
// generation releases it when it is replaced.
func (g *generation) engine(rs waf.RuleSet) (*waf.Engine, error) {
	e, err := waf.Shared.Acquire(rs)
	if err != nil {
		return nil, err
	}
	g.closers = append(g.closers, func() { waf.Shared.Release(e) })
	return e, nil
}

// checkExceptions refuses exceptions naming rules or tags that no loaded
// rule has: such an exception would silently do nothing.
func checkExceptions(cfg *config.Config, r *config.Route, cat *waf.Catalog) error {
	for i, e := range r.WAF.Exceptions {
		field := fmt.Sprintf("%s.waf.exceptions[%d]", r.Field, i)
		for j, id := range e.RemoveRules {
			if !cat.IDs[id] {
				return cfg.Errorf(r.Source, fmt.Sprintf("%s.remove_rules[%d]", field, j), "no rule %d in CRS %s or the platform's rules", id, waf.CRSVersion)
			}
		}
		for j, tag := range e.RemoveTags {
			if !cat.Tags[tag] {
				return cfg.Errorf(r.Source, fmt.Sprintf("%s.remove_tags[%d]", field, j), "no rule has tag %q in CRS %s or the platform's rules", tag, waf.CRSVersion)
			}
		}
		for j, t := range e.ExcludeTargets {
			for k, id := range t.Rules {
				if !cat.IDs[id] {
					return cfg.Errorf(r.Source, fmt.Sprintf("%s.exclude_targets[%d].rules[%d]", field, j, k), "no rule %d in CRS %s or the platform's rules", id, waf.CRSVersion)
				}
			}
		}
	}
	return nil
}

// checkWAF is the WAF part of Check: rule files, exception targets, and
// the ledger's verdict on every route that asks to block.
func checkWAF(cfg *config.Config, stateDir string) error {
	in, err := loadWAFInputs(cfg)
	if err != nil {
		return err
	}
	if stateDir == "" {
		stateDir = cfg.Platform.StateDir
	}
	ledger, err := waf.OpenLedger(stateDir)
	if err != nil {
		return err
	}
	pw := &cfg.Platform.WAF
	for _, r := range cfg.Routes {
		if err := checkExceptions(cfg, r, in.catalog); err != nil {
			return err
		}
		rs := waf.ForRoute(pw, r, in.before, in.after)
		if _, err := waf.PlanRoute(ledger, r.ID, rs, r.WAF.Mode, pw.DetectionPeriod.D(), slices.Contains(pw.EnforceNow, r.ID), time.Now()); err != nil {
			return cfg.Errorf(r.Source, r.Field+".waf.mode", "%v", err)
		}
	}
	return nil
}
