//go:build benchstages

package gateway

import (
	"os"
	"slices"
	"strings"
)

// Built with -tags benchstages (the scripts in bench/ only), the gateway
// drops the stages named in BULWARK_BENCH_DROP_STAGES (comma-separated,
// e.g. "waf" or "reputation,ratelimit,challenge"), so a benchmark can tell
// a stage's cost from the rest of the request path. The product has no
// such mode: this file is in no build without the tag.
func init() {
	drop := strings.Split(os.Getenv("BULWARK_BENCH_DROP_STAGES"), ",")
	routeStages = slices.DeleteFunc(routeStages, func(s stage) bool { return slices.Contains(drop, s.name) })
}
