package bench

import (
	"testing"

	"github.com/bulwark-sec/bulwark/internal/audit"
	"github.com/bulwark-sec/bulwark/internal/auditgen"
)

// BenchmarkAudit is `bulwark audit` over the synthetic repository of
// bench/audit/run.sh (10,000 Kubernetes objects, 200 tenants, Calico
// guardrails; see internal/auditgen), without Git: loading, then every
// check. The Git-based checks' cost is measured by run.sh on a committed
// copy.
func BenchmarkAudit(b *testing.B) {
	dir := b.TempDir()
	n, err := auditgen.Write(dir, auditgen.Options{Tenants: 200, Services: 5, Workers: 2, Objects: 10000, Flavors: []string{"calico"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n), "objects")
	b.ReportAllocs()
	for b.Loop() {
		r, err := audit.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		r.Git = nil
		res := audit.Run(r, audit.Checks(audit.Options{}))
		if res.Failed(audit.Error) {
			b.Fatalf("the generated repository is not compliant: %+v", res.Findings[0])
		}
	}
}
