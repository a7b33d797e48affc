// Package demo is the quickstart's backend: a small web application that
// shows what reached it through the gateway, so a user can see the
// forwarding headers, the request ID and the client address the gateway
// determined.
package demo

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"sort"
	"strings"
)

// Backend returns the demo application's handler.
func Backend() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"body_bytes": len(body), "headers": forwarded(r),
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, map[string]any{"Method": r.Method, "URI": r.RequestURI, "Host": r.Host, "Headers": forwarded(r)})
	})
	return mux
}

type header struct{ Name, Value string }

func forwarded(r *http.Request) []header {
	var hs []header
	for name, vs := range r.Header {
		if strings.HasPrefix(name, "X-") || name == "User-Agent" {
			hs = append(hs, header{name, strings.Join(vs, ", ")})
		}
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
	return hs
}

var page = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bulwark demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48em;margin:3em auto;padding:0 1em}
td{padding:.2em .8em .2em 0;vertical-align:top}code{background:#f3f3f3;padding:.1em .3em}</style></head>
<body><h1>Protected by Bulwark</h1>
<p>This page is served by the demo backend, behind the Bulwark gateway.
<code>{{.Method}} {{.URI}}</code> for host <code>{{.Host}}</code> reached it with:</p>
<table>{{range .Headers}}<tr><td><code>{{.Name}}</code></td><td>{{.Value}}</td></tr>{{end}}</table>
</body></html>
`))
