package config

import (
	"strings"
)

// Host names are matched the way TLS certificates and Kubernetes Ingress
// match them: case-insensitively, with a wildcard "*.example.com" standing
// for exactly one leftmost label.

// NormalizeHost lowercases h and drops a trailing dot and any port, giving
// the form host names are compared in.
func NormalizeHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// IsWildcard reports whether pattern is a "*.domain" wildcard.
func IsWildcard(pattern string) bool { return strings.HasPrefix(pattern, "*.") }

// HostCovers reports whether pattern (an exact name or a wildcard) covers
// host, which may itself be a wildcard: "*.example.com" covers
// "a.example.com" and "*.example.com" but not "example.com" or
// "a.b.example.com".
func HostCovers(pattern, host string) bool {
	if pattern == host {
		return true
	}
	if !IsWildcard(pattern) || IsWildcard(host) {
		return false
	}
	label, rest, ok := strings.Cut(host, ".")
	return ok && label != "" && rest == pattern[2:]
}

// checkHost returns what is wrong with a host name as written in a
// configuration file, or "" if it is valid.
func checkHost(h string) string {
	if h == "" {
		return "empty host name"
	}
	if strings.Contains(h, "://") || strings.ContainsAny(h, "/:") {
		return "a host name only: no scheme, port or path"
	}
	if h != strings.ToLower(h) {
		return "host names are written in lower case"
	}
	name := strings.TrimPrefix(h, "*.")
	if strings.Contains(name, "*") {
		return "a wildcard is allowed only as the whole leftmost label, as in *.example.com"
	}
	if len(name) > 253 {
		return "longer than 253 characters"
	}
	for _, label := range strings.Split(name, ".") {
		if !validLabel(label) {
			return "not a valid DNS name (labels of letters, digits and inner hyphens)"
		}
	}
	return ""
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
