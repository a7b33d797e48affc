package audit

import (
	"github.com/bulwark-sec/bulwark/internal/gittest"

	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/waf"
)

const day = 24 * time.Hour

// inv4Platform is a platform.yaml with a 7-day detection period; extra
// goes under waf.
func inv4Platform(extra string) string {
	return `waf:
  detection_period: 7d
  approvers: [sec]
` + extra + `tenants:
  shop:
    hosts: ["shop.example.com"]
    namespaces: [shop]
    approvers: [owner]
`
}

// inv4Tenant is tenants/shop.yaml with route web in mode (on line 7),
// with or without an exception (a different rule set).
func inv4Tenant(mode string, exception bool) string {
	s := `tenant: shop
routes:
  - name: web
    hosts: ["shop.example.com"]
    backends: [{url: "http://web.shop.svc:8080"}]
    waf:
      mode: ` + mode + "\n"
	if exception {
		s += `      exceptions:
        - reason: false positive on search (TICKET-1)
          remove_rules: [942100]
          approved_by: {security: sec, tenant: owner}
`
	}
	return s
}

// config is the two files of a configuration, under gitops/.
func inv4Config(platform, tenant string) map[string]string {
	return map[string]string{"gitops/platform.yaml": platform, "gitops/tenants/shop.yaml": tenant}
}

// step is a commit, at day0 plus at.
type step struct {
	at    time.Duration
	files map[string]string
}

func TestDetectionHistory(t *testing.T) {
	plain := inv4Platform("")
	withRules := inv4Platform("  rules:\n    before_crs: [rules/custom.conf]\n")
	tests := []struct {
		name  string
		steps []step
		// dirty is written after the commits and left uncommitted.
		dirty map[string]string
		// want are the findings; {N} is the short hash of step N, and
		// "…" stands for any text.
		want []string
	}{
		{"detect for 8 days then block", []step{
			{0, inv4Config(plain, inv4Tenant("detect", false))},
			{8 * day, inv4Config(plain, inv4Tenant("block", false))},
		}, nil, nil},
		{"detect for 2 days then block", []step{
			{0, inv4Config(plain, inv4Tenant("detect", false))},
			{2 * day, inv4Config(plain, inv4Tenant("block", false))},
		}, nil, []string{
			"error tenants/shop.yaml:7: route shop/web blocked at commit {1} (2025-01-03 00:00 UTC) with rule set …, which had served in detection for only 2d, since commit {0} (2025-01-01 00:00 UTC); the detection period is 7d",
		}},
		{"block from the first commit, reported once", []step{
			{0, inv4Config(plain, inv4Tenant("block", false))},
			{10 * day, map[string]string{"gitops/tenants/shop.yaml": "# reviewed\n" + inv4Tenant("block", false)}},
		}, nil, []string{
			"error tenants/shop.yaml:8: route shop/web blocked at commit {0} (2025-01-01 00:00 UTC) with rule set …, which never served in detection; the detection period is 7d",
		}},
		{"a changed exception blocks the same day", []step{
			{0, inv4Config(plain, inv4Tenant("detect", false))},
			{8 * day, inv4Config(plain, inv4Tenant("detect", true))},
			{8*day + 2*time.Hour, inv4Config(plain, inv4Tenant("block", true))},
		}, nil, []string{
			"error tenants/shop.yaml:7: route shop/web blocked at commit {2} (2025-01-09 02:00 UTC) with rule set …, which had served in detection for only 2h, since commit {1} (2025-01-09 00:00 UTC)",
		}},
		{"a changed exception serves beside the enforced rule set", []step{
			{0, inv4Config(plain, inv4Tenant("detect", false))},
			{8 * day, inv4Config(plain, inv4Tenant("block", false))},
			{9 * day, inv4Config(plain, inv4Tenant("block", true))},
			{17 * day, map[string]string{"gitops/tenants/shop.yaml": "# reviewed\n" + inv4Tenant("block", true)}},
		}, nil, nil},
		{"a changed rule file restarts the clock", []step{
			{0, map[string]string{"gitops/platform.yaml": withRules, "gitops/tenants/shop.yaml": inv4Tenant("detect", false), "gitops/rules/custom.conf": "# v1\n"}},
			{7 * day, map[string]string{"gitops/rules/custom.conf": "# v2\n"}},
			{8 * day, map[string]string{"gitops/tenants/shop.yaml": inv4Tenant("block", false)}},
		}, nil, []string{
			"error tenants/shop.yaml:7: route shop/web blocked at commit {2} (2025-01-09 00:00 UTC) with rule set …, which had served in detection for only 1d, since commit {1} (2025-01-08 00:00 UTC)",
		}},
		{"enforce_now is a visible override", []step{
			{0, inv4Config(inv4Platform("  enforce_now: [shop/web]\n"), inv4Tenant("block", false))},
		}, nil, []string{
			"warning tenants/shop.yaml:7: route shop/web blocked at commit {0} (2025-01-01 00:00 UTC) with rule set … before its detection period ended, under waf.enforce_now (a security override)",
		}},
		{"a configuration that does not load is skipped", []step{
			{0, inv4Config(plain, inv4Tenant("detect", false))},
			{3 * day, inv4Config(plain, inv4Tenant("off", false))},
			{8 * day, inv4Config(plain, inv4Tenant("block", false))},
		}, nil, []string{
			`note tenants/shop.yaml: commit {1} (2025-01-04 00:00 UTC) is skipped: its configuration does not load: tenants/shop.yaml:7:13: routes[0].waf.mode: "off" is not a mode`,
		}},
		{"a removed route is located at its tenant file", []step{
			{0, inv4Config(plain, inv4Tenant("block", false))},
			{1 * day, map[string]string{"gitops/tenants/shop.yaml": "tenant: shop\nroutes: []\n"}},
		}, nil, []string{
			"error tenants/shop.yaml: route shop/web blocked at commit {0} (2025-01-01 00:00 UTC) with rule set …, which never served in detection",
		}},
		{"an uncommitted block is judged as of now", []step{
			{0, inv4Config(plain, inv4Tenant("detect", false))},
		}, map[string]string{"gitops/tenants/shop.yaml": inv4Tenant("block", false)}, []string{
			"error tenants/shop.yaml:7: route shop/web blocks in the uncommitted work tree (2025-01-04 00:00 UTC) with rule set …, which had served in detection for only 3d, since commit {0} (2025-01-01 00:00 UTC)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := gittest.New(t)
			g.Commit(day0.Add(-day), map[string]string{"README.md": "the audited directory is gitops/\n"})
			var hashes []string
			for _, s := range tt.steps {
				hashes = append(hashes, g.Commit(day0.Add(s.at), s.files))
			}
			g.Write(tt.dirty)
			got := auditFindings(t, filepath.Join(g.Dir, "gitops"), Options{Now: day0.Add(3 * day)}, "INV-4")
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				for n, h := range hashes {
					w = strings.ReplaceAll(w, fmt.Sprintf("{%d}", n), h)
				}
				want[i] = w
			}
			matchFindings(t, got, want)
		})
	}
}

func TestDetectionWithoutHistory(t *testing.T) {
	now := day0.Add(10 * day)
	tests := []struct {
		name string
		mode string
		// ledger is what the gateway's ledger records for the route's
		// current rule set: "" for no ledger, "missing" for a state
		// directory without one, "detect" (since ago days), "enforced",
		// or "other" (another rule set only).
		ledger string
		ago    int
		// file passes the ledger file rather than its directory.
		file bool
		want []string
	}{
		{"detect passes", "detect", "", 0, false, nil},
		{"block without ledger is unverifiable", "block", "", 0, false, []string{
			"warning tenants/shop.yaml:7: route shop/web blocks; whether its rule set served in detection first is unverifiable: no Git history and no --ledger",
		}},
		{"ledger qualifies", "block", "detect", 8, false, nil},
		{"ledger file qualifies", "block", "detect", 8, true, nil},
		{"ledger enforces it", "block", "enforced", 0, false, nil},
		{"ledger does not qualify", "block", "detect", 2, false, []string{
			"error tenants/shop.yaml:7: route shop/web blocks as of 2025-01-11 00:00 UTC by the gateway's ledger with rule set …, which had served in detection for only 2d, since 2025-01-09 00:00 UTC; the detection period is 7d",
		}},
		{"ledger never saw it", "block", "other", 0, false, []string{
			"error tenants/shop.yaml:7: route shop/web blocks as of 2025-01-11 00:00 UTC by the gateway's ledger with rule set …, which never served in detection",
		}},
		{"ledger missing", "block", "missing", 0, false, []string{
			"error platform.yaml: cannot read the WAF ledger: …: no waf-ledger.json",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gittest.Isolate(t)
			dir := t.TempDir()
			gittest.WriteFiles(t, dir, map[string]string{"platform.yaml": inv4Platform(""), "tenants/shop.yaml": inv4Tenant(tt.mode, false)})
			opts := Options{Now: now}
			if tt.ledger != "" {
				opts.Ledger = writeLedger(t, dir, tt.ledger, now.Add(-time.Duration(tt.ago)*day))
				if tt.file {
					opts.Ledger = filepath.Join(opts.Ledger, waf.LedgerFile)
				}
			}
			matchFindings(t, auditFindings(t, dir, opts, "INV-4"), tt.want)
		})
	}
}

// A directory inside a work tree whose configuration was never committed
// has no history: the ledger decides, or the route is unverifiable.
func TestDetectionHistorylessSubdirectory(t *testing.T) {
	g := gittest.New(t)
	g.Commit(day0, map[string]string{"README.md": "x"})
	g.Write(inv4Config(inv4Platform(""), inv4Tenant("block", false)))
	root := filepath.Join(g.Dir, "gitops")
	matchFindings(t, auditFindings(t, root, Options{Now: day0}, "INV-4"), []string{
		"warning tenants/shop.yaml:7: route shop/web blocks; whether its rule set served in detection first is unverifiable",
	})
	now := day0.Add(10 * day)
	matchFindings(t, auditFindings(t, root, Options{Now: now, Ledger: writeLedger(t, root, "detect", now.Add(-8*day))}, "INV-4"), nil)
}

// A shallow clone cuts the history: what looks like a block without
// detection may have had it before the cut, so it is a warning that says so.
func TestDetectionShallowClone(t *testing.T) {
	g := gittest.New(t)
	g.Commit(day0, inv4Config(inv4Platform(""), inv4Tenant("detect", false)))
	last := g.Commit(day0.Add(8*day), inv4Config(inv4Platform(""), inv4Tenant("block", false)))
	clone := filepath.Join(t.TempDir(), "clone")
	g.Git(day0, "clone", "-q", "--depth", "1", "file://"+g.Dir, clone)
	matchFindings(t, auditFindings(t, filepath.Join(clone, "gitops"), Options{}, "INV-4"), []string{
		"warning tenants/shop.yaml:7: route shop/web blocked at commit " + last + " (2025-01-09 00:00 UTC) with rule set …, which never served in detection; the detection period is 7d; the history is cut (shallow clone)…git fetch --unshallow",
	})
}

// writeLedger writes the gateway's ledger for route shop/web of the
// configuration in dir, as described by TestDetectionWithoutHistory's
// ledger field, with detection starting at since, and returns its state
// directory.
func writeLedger(t *testing.T, dir, state string, since time.Time) string {
	t.Helper()
	stateDir := t.TempDir()
	if state == "missing" {
		return stateDir
	}
	r, err := Load(dir)
	if err != nil || r.Config == nil {
		t.Fatalf("load %s: %v %v", dir, err, r.LoadFindings)
	}
	before, after, err := waf.PlatformRuleFiles(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	rs := waf.ForRoute(&r.Config.Platform.WAF, r.Config.Routes[0], before, after)
	change := waf.LedgerChange{Route: "shop/web", DetectionStart: rs.Fingerprint(), At: since}
	switch state {
	case "detect":
	case "enforced":
		change.DetectionStart = ""
		change.Enforce = &waf.EnforcedSet{Fingerprint: rs.Fingerprint(), CRSVersion: rs.CRSVersion, Directives: rs.Directives()}
	case "other":
		change.DetectionStart = "0123456789abcdef"
	default:
		t.Fatalf("unknown ledger state %q", state)
	}
	l, err := waf.OpenLedger(stateDir)
	if err == nil {
		err = l.Commit([]waf.LedgerChange{change})
	}
	if err != nil {
		t.Fatal(err)
	}
	return stateDir
}

// auditFindings audits root and renders check's findings as
// "severity location[ object]: message".
func auditFindings(t *testing.T, root string, opts Options, check string) []string {
	t.Helper()
	r, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range Run(r, Checks(opts)).Findings {
		if f.Check != check {
			continue
		}
		s := fmt.Sprintf("%s %s", f.Severity, f.Location())
		if f.Object != "" {
			s += " " + f.Object
		}
		out = append(out, s+": "+f.Message)
	}
	return out
}

// matchFindings wants one finding per entry of want, in order, each
// holding the entry's parts (split at "…") in order, the first as prefix.
func matchFindings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		rest := got[i]
		for j, part := range strings.Split(w, "…") {
			k := strings.Index(rest, part)
			if k < 0 || (j == 0 && k != 0) {
				t.Errorf("finding %d:\n got %s\nwant %s", i, got[i], w)
				break
			}
			rest = rest[k+len(part):]
		}
	}
}

// A branch's commits reach the deployed branch at its merge: a block
// committed on a branch two days after detection began, merged after the
// detection period, never served early.
func TestDetectionFirstParentHistory(t *testing.T) {
	g := gittest.New(t)
	g.Commit(day0, inv4Config(inv4Platform(""), inv4Tenant("detect", false)))
	g.Git(day0, "checkout", "-q", "-b", "feature")
	g.Commit(day0.Add(2*day), inv4Config(inv4Platform(""), inv4Tenant("block", false)))
	g.Git(day0, "checkout", "-q", "main")
	g.Commit(day0.Add(3*day), map[string]string{"README.md": "unrelated\n"})
	g.Git(day0.Add(9*day), "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	matchFindings(t, auditFindings(t, filepath.Join(g.Dir, "gitops"), Options{}, "INV-4"), nil)

	// A rule set detected only on a branch never served in detection:
	// the merge is what blocks with it.
	g = gittest.New(t)
	g.Commit(day0, inv4Config(inv4Platform(""), inv4Tenant("detect", false)))
	g.Git(day0, "checkout", "-q", "-b", "feature")
	g.Commit(day0.Add(time.Hour), inv4Config(inv4Platform(""), inv4Tenant("detect", true)))
	g.Commit(day0.Add(8*day), inv4Config(inv4Platform(""), inv4Tenant("block", true)))
	g.Git(day0, "checkout", "-q", "main")
	g.Git(day0.Add(9*day), "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	merge := g.Git(day0, "rev-parse", "--short=7", "HEAD")
	matchFindings(t, auditFindings(t, filepath.Join(g.Dir, "gitops"), Options{}, "INV-4"), []string{
		"error tenants/shop.yaml:7: route shop/web blocked at commit " + merge + " (2025-01-10 00:00 UTC) with rule set …, which never served in detection",
	})
}
