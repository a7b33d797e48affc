package config

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// RouteWAFPolicy is a route's effective WAF settings: the platform's, made
// stricter where the tenant asked.
type RouteWAFPolicy struct {
	Mode             string // "detect" or "block"
	Paranoia         int
	InboundThreshold int
	Exceptions       []Exception
}

// Exception is an approved exception, validated and normalized.
type Exception struct {
	Reason         string
	Paths          []string
	RemoveRules    []int
	RemoveTags     []string
	ExcludeTargets []ExcludeTarget
	Security       string
	Tenant         string
}

func validatePlatformWAF(src *source, w *WAF) {
	if w.Paranoia < 1 || w.Paranoia > 4 {
		src.errorf("waf.paranoia", "expected a paranoia level from 1 to 4, got %d", w.Paranoia)
	}
	if w.InboundThreshold < 1 {
		src.errorf("waf.inbound_threshold", "expected an anomaly score of at least 1, got %d", w.InboundThreshold)
	}
	if w.OutboundThreshold < 1 {
		src.errorf("waf.outbound_threshold", "expected an anomaly score of at least 1, got %d", w.OutboundThreshold)
	}
	if w.RequestBodyLimit <= 0 || w.RequestBodyLimit > 1<<30 {
		src.errorf("waf.request_body_limit", "expected between 1 byte and 1GiB, got %s", w.RequestBodyLimit)
	}
	if w.ResponseBodyLimit <= 0 || w.ResponseBodyLimit > 1<<30 {
		src.errorf("waf.response_body_limit", "expected between 1 byte and 1GiB, got %s", w.ResponseBodyLimit)
	}
	if w.RequestBodyOverLimit != "reject" && w.RequestBodyOverLimit != "partial" {
		src.errorf("waf.request_body_over_limit", "expected reject or partial, got %q", w.RequestBodyOverLimit)
	}
	checkMode(src, "waf.default_mode", w.DefaultMode)
	if w.DetectionPeriod <= 0 {
		src.errorf("waf.detection_period", "must be greater than zero: new rule sets serve in detection before they block (INV-4)")
	}
	for i, f := range w.Rules.BeforeCRS {
		checkRuleFile(src, fmt.Sprintf("waf.rules.before_crs[%d]", i), f)
	}
	for i, f := range w.Rules.AfterCRS {
		checkRuleFile(src, fmt.Sprintf("waf.rules.after_crs[%d]", i), f)
	}
	seen := map[string]bool{}
	for i, a := range w.Approvers {
		if a == "" || seen[a] {
			src.errorf(fmt.Sprintf("waf.approvers[%d]", i), "expected a distinct, non-empty approver name, got %q", a)
		}
		seen[a] = true
	}
	if c := w.Candidate; c != nil {
		if c.Paranoia < 0 || c.Paranoia > 4 {
			src.errorf("waf.candidate.paranoia", "expected 0 (the enforced level) or 1 to 4, got %d", c.Paranoia)
		}
		if c.RulesDir != "" {
			checkRuleFile(src, "waf.candidate.rules_dir", c.RulesDir)
		}
	}
}

func checkMode(src *source, field, mode string) {
	switch mode {
	case "detect", "block":
	case "off", "disabled", "none":
		src.errorf(field, "%q is not a mode: every route passes the WAF (INV-1); expected detect or block", mode)
	default:
		src.errorf(field, "expected detect or block, got %q", mode)
	}
}

// checkRuleFile requires a path inside the configuration directory:
// global rules must be version-controlled with the configuration (INV-13).
func checkRuleFile(src *source, field, name string) {
	clean := path.Clean(filepath.ToSlash(name))
	if name == "" || filepath.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") {
		src.errorf(field, "expected a path inside the configuration directory, got %q: WAF rules live in version control with the configuration (INV-13)", name)
	}
}

var (
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)
	targetRE = regexp.MustCompile(`^(ARGS|ARGS_GET|ARGS_POST|ARGS_NAMES|ARGS_GET_NAMES|ARGS_POST_NAMES|REQUEST_COOKIES|REQUEST_COOKIES_NAMES|REQUEST_HEADERS|REQUEST_HEADERS_NAMES|REQUEST_BODY|REQUEST_URI|REQUEST_FILENAME|XML|FILES|FILES_NAMES)(:[A-Za-z0-9_.-]+)?$`)
	// exceptionPathRE keeps exception paths to characters that need no
	// quoting inside a SecLang rule.
	exceptionPathRE = regexp.MustCompile(`^/[A-Za-z0-9._~!$&()*+,;=:@/-]*$`)
)

// routeWAF validates a route's WAF settings against the platform's and
// returns the effective policy.
func (c *Config) routeWAF(src *source, field string, spec *RouteSpec, r *Route) RouteWAFPolicy {
	pw, rw := c.Platform.WAF, spec.WAF
	pol := RouteWAFPolicy{Mode: pw.DefaultMode, Paranoia: pw.Paranoia, InboundThreshold: pw.InboundThreshold}
	if rw.Mode != "" {
		checkMode(src, field+".waf.mode", rw.Mode)
		pol.Mode = rw.Mode
	}
	switch {
	case rw.Paranoia == 0:
	case rw.Paranoia < pw.Paranoia || rw.Paranoia > 4:
		src.errorf(field+".waf.paranoia", "%d is below the platform's paranoia level %d or above 4: a tenant may only make its route stricter (waf.paranoia in %s)", rw.Paranoia, pw.Paranoia, PlatformFile)
	default:
		pol.Paranoia = rw.Paranoia
	}
	switch {
	case rw.InboundThreshold == 0:
	case rw.InboundThreshold > pw.InboundThreshold || rw.InboundThreshold < 1:
		src.errorf(field+".waf.inbound_threshold", "%d is above the platform's inbound threshold %d or below 1: a tenant may only make its route stricter (waf.inbound_threshold in %s)", rw.InboundThreshold, pw.InboundThreshold, PlatformFile)
	default:
		pol.InboundThreshold = rw.InboundThreshold
	}
	tenantApprovers := c.Platform.Tenants[r.Tenant].Approvers
	for i := range rw.Exceptions {
		if e, ok := c.exception(src, fmt.Sprintf("%s.waf.exceptions[%d]", field, i), &rw.Exceptions[i], r, tenantApprovers); ok {
			pol.Exceptions = append(pol.Exceptions, e)
		}
	}
	return pol
}

func (c *Config) exception(src *source, field string, x *WAFException, r *Route, tenantApprovers []string) (Exception, bool) {
	before := len(*src.errs)
	e := Exception{Reason: strings.TrimSpace(x.Reason), RemoveRules: x.RemoveRules, RemoveTags: x.RemoveTags, ExcludeTargets: x.ExcludeTargets,
		Security: x.ApprovedBy.Security, Tenant: x.ApprovedBy.Tenant}
	if e.Reason == "" {
		src.errorf(field+".reason", "missing: an exception must say why it exists")
	}
	if len(x.RemoveRules)+len(x.RemoveTags)+len(x.ExcludeTargets) == 0 {
		src.errorf(field, "an exception must remove rules (remove_rules, remove_tags) or exclude targets (exclude_targets)")
	}
	for i, id := range x.RemoveRules {
		if id <= 0 {
			src.errorf(fmt.Sprintf("%s.remove_rules[%d]", field, i), "expected a rule ID, got %d", id)
		}
	}
	for i, tag := range x.RemoveTags {
		if !tagRE.MatchString(tag) {
			src.errorf(fmt.Sprintf("%s.remove_tags[%d]", field, i), "expected a rule tag such as attack-sqli, got %q", tag)
		}
	}
	for i, t := range x.ExcludeTargets {
		tf := fmt.Sprintf("%s.exclude_targets[%d]", field, i)
		if !targetRE.MatchString(t.Target) {
			src.errorf(tf+".target", "expected a target such as ARGS:password or REQUEST_COOKIES:session, got %q", t.Target)
		}
		if len(t.Rules) == 0 {
			src.errorf(tf+".rules", "expected the IDs of the rules that skip %s", t.Target)
		}
	}
	e.Paths = exceptionPaths(src, field, x.Paths, r)
	approver(src, field+".approved_by.security", e.Security, "security", c.Platform.WAF.Approvers, "waf.approvers in "+PlatformFile)
	approver(src, field+".approved_by.tenant", e.Tenant, "tenant", tenantApprovers, fmt.Sprintf("tenants.%s.approvers in %s", r.Tenant, PlatformFile))
	return e, len(*src.errs) == before
}

// exceptionPaths checks that an exception's paths lie within the route's
// own prefixes; an exception cannot reach beyond its route.
func exceptionPaths(src *source, field string, paths []string, r *Route) []string {
	if len(paths) == 0 {
		return r.Paths
	}
	var out []string
	for i, p := range paths {
		pf := fmt.Sprintf("%s.paths[%d]", field, i)
		if !exceptionPathRE.MatchString(p) || hasDotSegment(p) || strings.Contains(p, "//") {
			src.errorf(pf, "expected a plain path prefix such as /login, got %q", p)
			continue
		}
		p = CleanPrefix(p)
		within := slices.ContainsFunc(r.Paths, func(rp string) bool {
			return rp == "/" || p == rp || strings.HasPrefix(p, rp+"/")
		})
		if !within {
			src.errorf(pf, "%s is outside the route's paths (%s)", p, strings.Join(r.Paths, ", "))
			continue
		}
		out = append(out, p)
	}
	return out
}

func approver(src *source, field, name, side string, known []string, where string) {
	switch {
	case name == "":
		src.errorf(field, "missing: an exception needs a %s approval (RFC §3.4)", side)
	case !slices.Contains(known, name):
		list := "none are listed"
		if len(known) > 0 {
			list = "known: " + strings.Join(known, ", ")
		}
		src.errorf(field, "%q is not a %s approver (%s; %s)", name, side, where, list)
	}
}

// validateEnforceNow checks that waf.enforce_now names existing routes.
func (c *Config) validateEnforceNow(src *source) {
	ids := map[string]bool{}
	for _, r := range c.Routes {
		ids[r.ID] = true
	}
	for i, id := range c.Platform.WAF.EnforceNow {
		if !ids[id] {
			src.errorf(fmt.Sprintf("waf.enforce_now[%d]", i), "no route %q (expected tenant/name of a route in tenants/)", id)
		}
	}
}
