package events

import (
	"net/url"
	"regexp"
	"strings"
)

// sensitiveParam matches query parameter names whose values are
// credentials. The WAF's rule data uses the same idea (internal/waf).
var sensitiveParam = regexp.MustCompile(`(?i)pass|pwd|token|secret|auth|session|api[-_]?key|credential|signature|sig$`)

// RedactURI returns a request URI for the event log with the values of
// credential-like query parameters replaced by "[redacted]": events are
// kept and shipped for incident response (INV-9), and a token in a URL
// must not travel with them. The path and other parameters are kept as
// sent.
func RedactURI(uri string) string {
	path, query, ok := strings.Cut(uri, "?")
	if !ok || query == "" {
		return uri
	}
	parts := strings.Split(query, "&")
	changed := false
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if !hasValue {
			continue
		}
		if decoded, err := url.QueryUnescape(name); err == nil {
			name = decoded
		}
		if sensitiveParam.MatchString(name) {
			parts[i] = p[:strings.IndexByte(p, '=')+1] + "[redacted]"
			changed = true
		}
	}
	if !changed {
		return uri
	}
	return path + "?" + strings.Join(parts, "&")
}
