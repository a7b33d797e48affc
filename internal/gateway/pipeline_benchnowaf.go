//go:build benchnowaf

package gateway

import "slices"

// Built with -tags benchnowaf (bench/waf/run.sh only), the gateway runs
// without its WAF stage, so the benchmark can tell the WAF's cost from the
// rest of the request path. The product has no such mode: this file is not
// in any build without the tag.
func init() {
	routeStages = slices.DeleteFunc(routeStages, func(s stage) bool { return s.name == "waf" })
}
