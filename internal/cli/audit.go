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
Check a GitOps repository against Bulwark's invariants: Kubernetes manifests
(multi-document YAML, rendered Helm or kustomize output) and, when PATH has a
platform.yaml, Bulwark's platform and tenant configuration. Checks: INV-1
(no bypass of the gateway), INV-2 (TLS 1.2+), INV-3 (no committed TLS
certificates), INV-14 (TLS secrets come from cert-manager or External
Secrets), SECOPS-1 (no plaintext secret values). A file that cannot be read
is a LOAD finding and the audit goes on. Secret values are never printed.

--evidence DIR also writes a compliance evidence report into DIR,
evidence.md and evidence.html (self-contained): SOC 2 CC6.6, PCI DSS 6.6
and ISO 27001 A.13.1 (RFC-TENANT-SECURITY-0001 §2.5.3), each with its
status, the checks that prove it, their results and the files they
examined. It is written whatever the findings, since it is the proof
either way; DIR is created if missing and the two files are replaced.

Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage,
unreadable PATH or an evidence report that cannot be written.`

func runAudit(env Env, args []string) error {
	fs := flags(env, "audit", "bulwark audit [--format text|json|sarif] [--fail-on SEVERITY] [--evidence DIR] [--ingress-class NAME] PATH", auditHelp)
	format := fs.String("format", "text", "report format: text, json or sarif")
	failOn := fs.String("fail-on", "error", "lowest severity that makes the audit fail: error, warning or note")
	class := fs.String("ingress-class", "bulwark", "Bulwark's ingressClassName")
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
	res := audit.Run(repo, audit.Checks(audit.Options{IngressClass: *class}))
	if err := audit.WriteReport(env.Stdout, *format, res); err != nil {
		return err
	}
	if *evidence != "" {
		opts := audit.EvidenceOptions{Path: path, Time: time.Now(), Version: Version()}
		if err := audit.WriteEvidence(*evidence, res, opts); err != nil {
			return fmt.Errorf("%w: --evidence: %w", ErrUsage, err)
		}
	}
	if res.Failed(min) {
		return fmt.Errorf("audit: %s: findings at or above %s", path, min)
	}
	return nil
}
