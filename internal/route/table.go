// Package route matches a request's host and path to a route.
//
// A host matches exactly first, then by a one-label wildcard ("*.example.com"
// matches "a.example.com" but neither "example.com" nor "a.b.example.com"),
// the rules TLS certificates and Kubernetes Ingress use; once a host is
// chosen only its own paths are considered. Within a host the
// longest path prefix wins, where a prefix matches whole path segments:
// "/api" matches "/api" and "/api/v1" but not "/apix". Paths are cleaned
// (dot segments and repeated slashes removed) before matching, so that
// "/public/../admin" is routed as the "/admin" a backend will resolve it to.
package route

import (
	"path"
	"sort"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// Table maps host and path to a value of type T (the gateway stores the
// route's handler). It is immutable once built and safe for concurrent use.
type Table[T any] struct {
	exact    map[string][]entry[T]
	wildcard map[string][]entry[T] // keyed by the domain after "*."
}

type entry[T any] struct {
	prefix string
	value  T
}

// New returns an empty table.
func New[T any]() *Table[T] {
	return &Table[T]{exact: map[string][]entry[T]{}, wildcard: map[string][]entry[T]{}}
}

// Add routes every host × prefix pair to v. Hosts and prefixes are in the
// normalized form config.Load produces. Add must not be called after the
// table is in use.
func (t *Table[T]) Add(hosts, prefixes []string, v T) {
	for _, h := range hosts {
		m, key := t.exact, h
		if config.IsWildcard(h) {
			m, key = t.wildcard, h[2:]
		}
		for _, p := range prefixes {
			m[key] = append(m[key], entry[T]{prefix: p, value: v})
		}
		es := m[key]
		sort.SliceStable(es, func(i, j int) bool { return len(es[i].prefix) > len(es[j].prefix) })
	}
}

// Match returns the value for host and the request path. host may carry a
// port and any case; urlPath is the request's decoded URL path.
func (t *Table[T]) Match(host, urlPath string) (T, bool) {
	host = config.NormalizeHost(host)
	p := CleanPath(urlPath)
	if es, ok := t.exact[host]; ok {
		return longest(es, p) // an exact host owns all its paths
	}
	if _, domain, ok := strings.Cut(host, "."); ok {
		if es, ok := t.wildcard[domain]; ok {
			return longest(es, p)
		}
	}
	var zero T
	return zero, false
}

// HasHost reports whether any route serves host, exactly or by wildcard.
func (t *Table[T]) HasHost(host string) bool {
	host = config.NormalizeHost(host)
	if _, ok := t.exact[host]; ok {
		return true
	}
	_, domain, ok := strings.Cut(host, ".")
	_, wild := t.wildcard[domain]
	return ok && wild
}

func longest[T any](es []entry[T], p string) (T, bool) {
	for _, e := range es {
		if e.prefix == "/" || p == e.prefix || strings.HasPrefix(p, e.prefix+"/") {
			return e.value, true
		}
	}
	var zero T
	return zero, false
}

// CleanPath is the form a request path is matched in: rooted, without dot
// segments or repeated slashes. A trailing slash is kept.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
