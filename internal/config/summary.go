package config

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Summary is the effective configuration of every route, as `bulwark
// config check` prints it: what each route will actually do once the
// platform's defaults are applied. Later layers (WAF, rate limits) add
// their lines here as they land.
func (c *Config) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "platform: TLS >= %s, HTTPS %s, HTTP %s, admin %s\n",
		c.Platform.TLS.MinVersion, c.Platform.Listeners.HTTPS, orOff(c.Platform.Listeners.HTTP), orOff(c.Platform.Listeners.Admin))
	fmt.Fprintf(&b, "routes: %d\n", len(c.Routes))
	for _, r := range c.Routes {
		backends := make([]string, len(r.Backends))
		for i, u := range r.Backends {
			backends[i] = u.String()
		}
		fmt.Fprintf(&b, "\nroute %s (%s:%d)\n", r.ID, r.File, r.Line)
		tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
		fmt.Fprintf(tw, "  tenant:\t%s\n", r.Tenant)
		fmt.Fprintf(tw, "  hosts:\t%s\n", strings.Join(r.Hosts, ", "))
		fmt.Fprintf(tw, "  paths:\t%s\n", strings.Join(r.Paths, ", "))
		fmt.Fprintf(tw, "  backends:\t%s\n", strings.Join(backends, ", "))
		fmt.Fprintf(tw, "  max_body_size:\t%s\n", ByteSize(r.MaxBodySize))
		fmt.Fprintf(tw, "  connect_timeout:\t%s\n", Duration(r.ConnectTimeout))
		fmt.Fprintf(tw, "  response_timeout:\t%s\n", Duration(r.ResponseTimeout))
		tw.Flush()
	}
	return b.String()
}

func orOff(addr string) string {
	if addr == "" {
		return "off"
	}
	return addr
}
