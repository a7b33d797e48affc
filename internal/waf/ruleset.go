// Package waf is the gateway's web application firewall stage: Coraza
// running the OWASP CRS v4 embedded in the binary. A route's rule set —
// CRS version, platform rules, paranoia, thresholds, body handling and the
// route's approved exceptions — compiles to one Coraza WAF, identified by a
// fingerprint and shared by every route with the same one. The mode
// (detect or block) is not part of the fingerprint: INV-4 is about a rule
// set serving in detection before the same rule set blocks.
package waf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// CRSVersion is the version of the CRS embedded through
// github.com/corazawaf/coraza-coreruleset/v4 (see go.mod).
const CRSVersion = "4.25.0"

// RuleSet is everything that decides what a route's WAF detects.
type RuleSet struct {
	CRSVersion        string
	Paranoia          int
	InboundThreshold  int
	OutboundThreshold int
	BodyLimit         int64
	BodyPartial       bool
	ResponseBody      bool
	ResponseBodyLimit int64
	// BeforeCRS and AfterCRS are the platform's SecLang, file contents
	// inline, so the fingerprint changes when a file does.
	BeforeCRS, AfterCRS []RuleFile
	Exceptions          []config.Exception
	// RulesDir is a CRS rules directory replacing the embedded CRS rules
	// (candidate sets); RulesHash fingerprints its content.
	RulesDir  fs.FS
	RulesHash string
	// Raw, when set, is the whole directive text: a rule set read back
	// from the ledger rather than built from configuration.
	Raw string
}

// RuleFile is a platform SecLang file.
type RuleFile struct {
	Name    string
	Content string
}

// ForRoute returns route r's enforced rule set under platform p, with the
// platform rule files already read (files).
func ForRoute(p *config.WAF, r *config.Route, before, after []RuleFile) RuleSet {
	return RuleSet{
		CRSVersion: CRSVersion, Paranoia: r.WAF.Paranoia,
		InboundThreshold: r.WAF.InboundThreshold, OutboundThreshold: p.OutboundThreshold,
		BodyLimit: int64(p.RequestBodyLimit), BodyPartial: p.RequestBodyOverLimit == "partial",
		ResponseBody: p.ResponseBody, ResponseBodyLimit: int64(p.ResponseBodyLimit),
		BeforeCRS: before, AfterCRS: after, Exceptions: r.WAF.Exceptions,
	}
}

// Directives renders the rule set as SecLang, in the order Coraza loads it.
func (rs RuleSet) Directives() string {
	if rs.Raw != "" {
		return rs.Raw
	}
	var b strings.Builder
	b.WriteString("Include @coraza.conf-recommended\n")
	b.WriteString("SecRuleEngine On\n")
	// Coraza acts when its buffer reaches the limit, so a body of exactly
	// request_body_limit bytes would count as over it: the limit given to
	// Coraza is one byte more.
	fmt.Fprintf(&b, "SecRequestBodyLimit %d\n", rs.BodyLimit+1)
	fmt.Fprintf(&b, "SecRequestBodyInMemoryLimit %d\n", rs.BodyLimit+1)
	if rs.BodyPartial {
		b.WriteString("SecRequestBodyLimitAction ProcessPartial\n")
		// A truncated JSON or XML body cannot parse; with partial
		// inspection that is expected, not an attack: the body parse
		// error rule (200002) applies only to bodies read whole.
		b.WriteString("SecRuleRemoveById 200002\n")
		b.WriteString(`SecRule REQBODY_ERROR "!@eq 0" "id:9990003,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body',logdata:'%{reqbody_error_msg}',severity:2,chain"` + "\n")
		b.WriteString(`    SecRule INBOUND_DATA_ERROR "@eq 0" "t:none"` + "\n")
	} else {
		b.WriteString("SecRequestBodyLimitAction Reject\n")
	}
	if rs.ResponseBody {
		b.WriteString("SecResponseBodyAccess On\n")
		fmt.Fprintf(&b, "SecResponseBodyLimit %d\n", rs.ResponseBodyLimit)
	} else {
		b.WriteString("SecResponseBodyAccess Off\n")
	}
	// Audit logging is Bulwark's own events; Coraza's audit log stays off.
	b.WriteString("SecAuditEngine Off\n")
	b.WriteString("Include @crs-setup.conf.example\n")
	// The CRS setup gives phases 1 and 2 a logging default action; rules
	// of the response and logging phases need one too, or their matches
	// (data leakage, outbound blocking, correlation) never reach an event.
	for _, phase := range []int{3, 4, 5} {
		fmt.Fprintf(&b, "SecDefaultAction \"phase:%d,log,auditlog,pass\"\n", phase)
	}
	fmt.Fprintf(&b, "SecAction \"id:9990001,phase:1,pass,nolog,t:none,setvar:tx.blocking_paranoia_level=%d,setvar:tx.detection_paranoia_level=%d\"\n", rs.Paranoia, rs.Paranoia)
	fmt.Fprintf(&b, "SecAction \"id:9990002,phase:1,pass,nolog,t:none,setvar:tx.inbound_anomaly_score_threshold=%d,setvar:tx.outbound_anomaly_score_threshold=%d\"\n", rs.InboundThreshold, rs.OutboundThreshold)
	for i, e := range rs.Exceptions {
		writeException(&b, 9991000+i*10, e)
	}
	for _, f := range rs.BeforeCRS {
		fmt.Fprintf(&b, "# %s\n%s\n", f.Name, f.Content)
	}
	b.WriteString("Include @owasp_crs/*.conf\n")
	for _, f := range rs.AfterCRS {
		fmt.Fprintf(&b, "# %s\n%s\n", f.Name, f.Content)
	}
	return b.String()
}

// writeException renders an exception as phase-1 rules that switch rules
// off for requests whose normalized path lies under one of its prefixes.
// REQUEST_FILENAME is the path decoded once, as the gateway routes it and
// as the backend receives it; it is normalized, not decoded again, so
// "/login/../admin" is not under "/login" and "/x/..%252flogin" is not
// either: an exception must never reach a path the backend resolves
// elsewhere. Every value written here was validated by config
// (IDs, tags, targets and paths from restricted alphabets).
func writeException(b *strings.Builder, id int, e config.Exception) {
	var ctl []string
	for _, r := range e.RemoveRules {
		ctl = append(ctl, fmt.Sprintf("ctl:ruleRemoveById=%d", r))
	}
	for _, t := range e.RemoveTags {
		ctl = append(ctl, "ctl:ruleRemoveByTag="+t)
	}
	for _, t := range e.ExcludeTargets {
		for _, r := range t.Rules {
			ctl = append(ctl, fmt.Sprintf("ctl:ruleRemoveTargetById=%d;%s", r, t.Target))
		}
	}
	prefixes := make([]string, len(e.Paths))
	for i, p := range e.Paths {
		prefixes[i] = regexp.QuoteMeta(p)
	}
	re := "^(?:" + strings.Join(prefixes, "|") + ")(?:/|$)"
	if len(e.Paths) == 1 && e.Paths[0] == "/" {
		re = "^/"
	}
	fmt.Fprintf(b, "SecRule REQUEST_FILENAME \"@rx %s\" \"id:%d,phase:1,pass,nolog,t:none,t:normalisePath,%s\"\n", re, id, strings.Join(ctl, ","))
}

// Fingerprint identifies the rule set: equal fingerprints detect the same
// things. It is what the INV-4 ledger tracks.
func (rs RuleSet) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "crs %s\nrules %s\n", rs.CRSVersion, rs.RulesHash)
	h.Write([]byte(rs.Directives()))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// HashDir fingerprints the content of a rules directory.
func HashDir(fsys fs.FS) (string, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", n, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// PlatformRuleFiles reads the platform's SecLang files (waf.rules) from
// the configuration directory, for the gateway and for the auditor, which
// must fingerprint rule sets exactly as the gateway does. A file that
// cannot be read is a configuration error at its field.
func PlatformRuleFiles(cfg *config.Config) (before, after []RuleFile, err error) {
	read := func(field string, names []string) ([]RuleFile, error) {
		var out []RuleFile
		for i, n := range names {
			data, err := cfg.ReadFile(n)
			if err != nil {
				return nil, cfg.Errorf(config.PlatformFile, fmt.Sprintf("%s[%d]", field, i), "cannot read %s: %v", n, err)
			}
			out = append(out, RuleFile{Name: n, Content: string(data)})
		}
		return out, nil
	}
	if before, err = read("waf.rules.before_crs", cfg.Platform.WAF.Rules.BeforeCRS); err != nil {
		return nil, nil, err
	}
	if after, err = read("waf.rules.after_crs", cfg.Platform.WAF.Rules.AfterCRS); err != nil {
		return nil, nil, err
	}
	return before, after, nil
}
