package config

import (
	"fmt"
	"slices"
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
	pw := c.Platform.WAF
	fmt.Fprintf(&b, "waf: OWASP CRS, paranoia %d, inbound threshold %d, outbound threshold %d, default mode %s, detection period %s\n",
		pw.Paranoia, pw.InboundThreshold, pw.OutboundThreshold, pw.DefaultMode, pw.DetectionPeriod)
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
		w := r.WAF
		mode := w.Mode
		if slices.Contains(c.Platform.WAF.EnforceNow, r.ID) {
			mode += " (waf.enforce_now)"
		}
		fmt.Fprintf(tw, "  ratelimit:\t%s, burst %d, concurrent %s\n", r.RateLimit.Rate, r.RateLimit.Burst, concurrency(r.RateLimit.Concurrent))
		fmt.Fprintf(tw, "  challenge:\t%s\n", r.Challenge)
		fmt.Fprintf(tw, "  waf:\t%s, paranoia %d, inbound threshold %d, %d exception(s)\n", mode, w.Paranoia, w.InboundThreshold, len(w.Exceptions))
		tw.Flush()
		for _, e := range w.Exceptions {
			fmt.Fprintf(&b, "    exception on %s: %s\n", strings.Join(e.Paths, ", "), e.effect())
			fmt.Fprintf(&b, "      reason: %s; approved by %s (security), %s (tenant)\n", e.Reason, e.Security, e.Tenant)
		}
	}
	return b.String()
}

func orOff(addr string) string {
	if addr == "" {
		return "off"
	}
	return addr
}

// effect describes what an exception turns off, for people.
func (e Exception) effect() string {
	var parts []string
	if len(e.RemoveRules) > 0 {
		ids := make([]string, len(e.RemoveRules))
		for i, id := range e.RemoveRules {
			ids[i] = fmt.Sprint(id)
		}
		parts = append(parts, "remove rules "+strings.Join(ids, ", "))
	}
	if len(e.RemoveTags) > 0 {
		parts = append(parts, "remove tags "+strings.Join(e.RemoveTags, ", "))
	}
	for _, t := range e.ExcludeTargets {
		parts = append(parts, fmt.Sprintf("exclude %s from rules %v", t.Target, t.Rules))
	}
	return strings.Join(parts, "; ")
}

func concurrency(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}
