package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

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
Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or
unreadable PATH.`

func runAudit(env Env, args []string) error {
	fs := flags(env, "audit", "bulwark audit [--format text|json|sarif] [--fail-on SEVERITY] [--ingress-class NAME] PATH", auditHelp)
	format := fs.String("format", "text", "report format: text, json or sarif")
	failOn := fs.String("fail-on", "error", "lowest severity that makes the audit fail: error, warning or note")
	class := fs.String("ingress-class", "bulwark", "Bulwark's ingressClassName")
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
	if res.Failed(min) {
		return fmt.Errorf("audit: %s: findings at or above %s", path, min)
	}
	return nil
}
