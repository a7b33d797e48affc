package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/audit"
)

const auditHelp = `
Check a GitOps repository against the fourteen invariants of
RFC-TENANT-SECURITY-0001 and RFC-SECOPS §7: Kubernetes manifests
(multi-document YAML, rendered Helm or kustomize output), Bulwark's platform
and tenant configuration when PATH has a platform.yaml, and the Git history
and work tree when PATH is in a Git repository.

  INV-1   no way in that bypasses the gateway's WAF
  INV-2   TLS 1.2 or later wherever it can be set
  INV-3   no TLS certificate committed by hand
  INV-4   each route blocked only after its rule set served the detection
          period in detect mode (from Git history; without history, from
          the gateway's ledger given with --ledger; else unverifiable)
  INV-5   every tenant namespace denies ingress by default   (computed with
  INV-6   every allowed cross-namespace path is declared      the policy
  INV-7   internet egress only to declared destinations       simulator)
  INV-8   guardrails precede tenant policies; RBAC keeps tenants off them
  INV-9   blocked requests are logged where they are kept
  INV-10  network flows are logged (Calico, Goldmane, Hubble)
  INV-11  the gateway's metrics are scraped and its WAF alerts exist
  INV-12  committed policies are exactly the compiled declarations, in Git
  INV-13  WAF customizations only in committed configuration files
  INV-14  TLS secrets come from cert-manager or External Secrets
  SECOPS-1  no plaintext secret values

A file that cannot be read is a LOAD finding and the audit goes on. Secret
values are never printed.

--evidence DIR also writes a compliance evidence report into DIR,
evidence.md and evidence.html (self-contained): SOC 2 CC6.6, PCI DSS 6.6
and ISO 27001 A.13.1 (RFC-TENANT-SECURITY-0001 §2.5.3), each with its
status, the checks that prove it, their results and the files they
examined. It is written whatever the findings, since it is the proof
either way; DIR is created if missing and the two files are replaced.

Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage,
unreadable PATH or an evidence report that cannot be written.`

func runAudit(env Env, args []string) error {
	fs := flags(env, "audit", "bulwark audit [--format text|json|sarif] [--fail-on SEVERITY] [--evidence DIR] [--ledger DIR] [--ingress-class NAME] PATH", auditHelp)
	format := fs.String("format", "text", "report format: text, json or sarif")
	failOn := fs.String("fail-on", "error", "lowest severity that makes the audit fail: error, warning or note")
	class := fs.String("ingress-class", "bulwark", "Bulwark's ingressClassName")
	ledger := fs.String("ledger", "", "the gateway's state `DIR` (or its waf-ledger.json), read for INV-4 when PATH has no Git history")
	evidence := fs.String("evidence", "", "write a compliance evidence report (evidence.md, evidence.html) into this `DIR`")
	if done, err := parse(env, fs, args); done || err != nil {
		return err
	}
	path, err := oneArg(env, fs, "repository path")
	if err != nil {
		return err
	}
	min, err := audit.ParseSeverity(*failOn)
	if err != nil {
		return fmt.Errorf("%w: --fail-on: %v", ErrUsage, err)
	}
	if !slices.Contains(audit.Formats, *format) {
		return fmt.Errorf("%w: --format: unknown format %q (want %s)", ErrUsage, *format, strings.Join(audit.Formats, ", "))
	}
	repo, err := audit.Load(path)
	if err != nil {
		if errors.Is(err, audit.ErrUnreadable) {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		return err
	}
	res := audit.Run(repo, audit.Checks(audit.Options{IngressClass: *class, Ledger: *ledger}))
	if err := audit.WriteReport(env.Stdout, *format, res); err != nil {
		return err
	}
	if *evidence != "" {
		opts := audit.EvidenceOptions{Path: path, Time: time.Now(), Version: Version(), Revision: repo.Git.Revision()}
		if err := audit.WriteEvidence(*evidence, res, opts); err != nil {
			return fmt.Errorf("%w: --evidence: %w", ErrUsage, err)
		}
	}
	if res.Failed(min) {
		return fmt.Errorf("audit: %s: findings at or above %s", path, min)
	}
	return nil
}
