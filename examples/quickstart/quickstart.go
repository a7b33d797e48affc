// Package quickstart embeds the quickstart configuration so that
// `bulwark demo` runs from any directory.
package quickstart

import "embed"

// FS holds platform.yaml and tenants/*.yaml.
//
//go:embed platform.yaml tenants/*.yaml
var FS embed.FS
