package events

import (
	"net/url"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/request"
)

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
		if request.CredentialName(name) {
			parts[i] = p[:strings.IndexByte(p, '=')+1] + "[redacted]"
			changed = true
		}
	}
	if !changed {
		return uri
	}
	return path + "?" + strings.Join(parts, "&")
}
