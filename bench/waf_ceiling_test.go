//go:build wafceiling

package bench

import (
	"os"
	"regexp"
	"strings"

	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// Built with -tags wafceiling, the operators named in
// BULWARK_FREE_OPERATORS (comma-separated, e.g. "rx" or "rx,pm,pmFromFile")
// are replaced by ones that never match and cost nothing, so BenchmarkWAF
// measures what Coraza's rule loop costs around them: the lower bound of
// any optimization confined to operators. Detection is of course gone; the
// attack workload's check is skipped. Never in a product build.
func init() {
	for _, name := range strings.Split(os.Getenv("BULWARK_FREE_OPERATORS"), ",") {
		if name == "" {
			continue
		}
		plugins.RegisterOperator(name, func(o plugintypes.OperatorOptions) (plugintypes.Operator, error) {
			// The rules choosing the body processor keep their expression, so
			// the body is parsed as it would be.
			if name == "rx" && strings.Contains(strings.ToLower(o.Arguments), "json") {
				return regexpOp{regexp.MustCompile("(?sm)" + o.Arguments)}, nil
			}
			return never{}, nil
		})
		ceiling = true
	}
}

type never struct{}

type regexpOp struct{ *regexp.Regexp }

func (never) Evaluate(plugintypes.TransactionState, string) bool { return false }

func (r regexpOp) Evaluate(_ plugintypes.TransactionState, v string) bool { return r.MatchString(v) }
