package waf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/config"
)

func ruleSet(paranoia int) RuleSet {
	return RuleSet{CRSVersion: CRSVersion, Paranoia: paranoia, InboundThreshold: 5, OutboundThreshold: 4, BodyLimit: 1 << 20, ResponseBodyLimit: 1 << 19}
}

func TestFingerprint(t *testing.T) {
	a, b := ruleSet(1), ruleSet(1)
	if a.Fingerprint() != b.Fingerprint() {
		t.Fatal("equal rule sets have different fingerprints")
	}
	for name, change := range map[string]func(*RuleSet){
		"paranoia":  func(r *RuleSet) { r.Paranoia = 2 },
		"threshold": func(r *RuleSet) { r.InboundThreshold = 3 },
		"crs":       func(r *RuleSet) { r.CRSVersion = "4.99.0" },
		"rules":     func(r *RuleSet) { r.BeforeCRS = []RuleFile{{Name: "x.conf", Content: "# x"}} },
		"exception": func(r *RuleSet) {
			r.Exceptions = []config.Exception{{Paths: []string{"/a"}, RemoveRules: []int{942100}}}
		},
		"body limit": func(r *RuleSet) { r.BodyLimit = 10 },
		"rules dir":  func(r *RuleSet) { r.RulesHash = "abc" },
	} {
		c := ruleSet(1)
		change(&c)
		if c.Fingerprint() == a.Fingerprint() {
			t.Errorf("changing %s keeps the fingerprint", name)
		}
	}
	raw := RuleSet{CRSVersion: CRSVersion, Raw: a.Directives()}
	if raw.Fingerprint() != a.Fingerprint() {
		t.Error("a rule set read back from its directives has another fingerprint")
	}
}

func TestExceptionDirective(t *testing.T) {
	rs := ruleSet(1)
	rs.Exceptions = []config.Exception{{Paths: []string{"/login", "/a.b"}, RemoveRules: []int{942100}, RemoveTags: []string{"attack-xss"},
		ExcludeTargets: []config.ExcludeTarget{{Target: "ARGS:password", Rules: []int{942200, 942300}}}}}
	d := rs.Directives()
	want := `SecRule REQUEST_FILENAME "@rx ^(?:/login|/a\.b)(?:/|$)" "id:9991000,phase:1,pass,nolog,t:none,t:normalisePath,` +
		`ctl:ruleRemoveById=942100,ctl:ruleRemoveByTag=attack-xss,ctl:ruleRemoveTargetById=942200;ARGS:password,ctl:ruleRemoveTargetById=942300;ARGS:password"`
	if !strings.Contains(d, want) {
		t.Errorf("directives lack\n%s\ngot:\n%s", want, d)
	}
	if strings.Index(d, "9991000") > strings.Index(d, "Include @owasp_crs") {
		t.Error("exceptions must come before the CRS rules")
	}
}

func TestPlanRoute(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	period := 7 * 24 * time.Hour
	rs1, rs2 := ruleSet(1), ruleSet(2)
	commit := func(p Plan) {
		t.Helper()
		if err := l.Commit(p.Changes); err != nil {
			t.Fatal(err)
		}
	}

	// Straight to block: refused, with the earliest time a week out.
	_, err = PlanRoute(l, "shop/web", rs1, "block", period, false, t0)
	var refused *RefusedError
	if !errors.As(err, &refused) || !refused.Earliest.Equal(t0.Add(period)) || !strings.Contains(err.Error(), "2026-11-08T12:00:00Z") {
		t.Fatalf("block on a new rule set: %v", err)
	}
	// Detect starts the clock.
	p, err := PlanRoute(l, "shop/web", rs1, "detect", period, false, t0)
	if err != nil {
		t.Fatal(err)
	}
	commit(p)
	// A day short: still refused, earliest counted from the detection start.
	_, err = PlanRoute(l, "shop/web", rs1, "block", period, false, t0.Add(6*24*time.Hour))
	if !errors.As(err, &refused) || !refused.Since.Equal(t0) || !refused.Earliest.Equal(t0.Add(period)) {
		t.Fatalf("block a day early: %v", err)
	}
	// enforce_now overrides.
	if p, err = PlanRoute(l, "shop/web", rs1, "block", period, true, t0.Add(time.Hour)); err != nil || !p.EnforceNow {
		t.Fatalf("enforce_now: %+v %v", p, err)
	}
	// After the period: accepted, and recorded as enforced.
	p, err = PlanRoute(l, "shop/web", rs1, "block", period, false, t0.Add(period))
	if err != nil || p.EnforceNow || p.Pending != nil {
		t.Fatalf("block after the period: %+v %v", p, err)
	}
	commit(p)

	// The ledger survives a restart.
	l, err = OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A new rule set while blocking: the old one keeps enforcing, the new
	// one detects until it qualifies.
	t1 := t0.Add(10 * 24 * time.Hour)
	p, err = PlanRoute(l, "shop/web", rs2, "block", period, false, t1)
	if err != nil || p.Pending == nil || p.Enforced.Fingerprint() != rs1.Fingerprint() || !p.PendingFrom.Equal(t1.Add(period)) {
		t.Fatalf("new rule set while blocking: %+v %v", p, err)
	}
	commit(p)
	p, err = PlanRoute(l, "shop/web", rs2, "block", period, false, t1.Add(period))
	if err != nil || p.Pending != nil || p.Enforced.Fingerprint() != rs2.Fingerprint() {
		t.Fatalf("new rule set after its period: %+v %v", p, err)
	}
	// Other routes have clocks of their own.
	if _, err = PlanRoute(l, "blog/web", rs1, "block", period, false, t1.Add(period)); !errors.As(err, &refused) {
		t.Fatalf("another route inherited shop/web's clock: %v", err)
	}
}

func TestLedgerCorrupt(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"garbage": "{not json", "wrong version": `{"version": 9, "routes": {}}`, "no routes": `{"version": 1}`} {
		if err := os.WriteFile(filepath.Join(dir, LedgerFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := OpenLedger(dir)
		if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), filepath.Join(dir, LedgerFile)) {
			t.Errorf("%s: error %v", name, err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, LedgerFile))
		if string(data) != content {
			t.Errorf("%s: the corrupt ledger was rewritten", name)
		}
	}
}
