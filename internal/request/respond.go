package request

import (
	"encoding/json"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Deny records v on the request and writes the one error response every
// stage uses: the status, a short message, and the request ID, as JSON when
// the client prefers it and as a small HTML page otherwise. Nothing from
// v.Cause or v.Rules is written to the client.
func Deny(w http.ResponseWriter, r *http.Request, v Verdict) {
	s := From(r.Context())
	s.Add(v)
	msg := v.Message
	if msg == "" {
		msg = publicText(v.Status)
	}
	h := w.Header()
	for k, vs := range v.Header {
		h[k] = vs
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if s.ID != "" {
		h.Set("X-Request-ID", s.ID)
	}
	body := errorBody{Status: v.Status, Error: msg, RequestID: s.ID}
	if WantsJSON(r) {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(v.Status)
		if r.Method != http.MethodHead {
			_ = json.NewEncoder(w).Encode(body)
		}
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(v.Status)
	if r.Method != http.MethodHead {
		_ = errorPage.Execute(w, body)
	}
}

type errorBody struct {
	Status    int    `json:"status"`
	Error     string `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// publicText is the client-facing text for a status: the standard reason
// phrase, with a few sharpened so a user knows what to do.
func publicText(status int) string {
	switch status {
	case http.StatusForbidden:
		return "This request was blocked by the security policy."
	case http.StatusTooManyRequests:
		return "Too many requests. Please retry later."
	case http.StatusBadGateway:
		return "The service behind this site is unavailable."
	case http.StatusGatewayTimeout:
		return "The service behind this site did not answer in time."
	case http.StatusRequestEntityTooLarge:
		return "The request body is too large."
	case http.StatusNotFound:
		return "No site or page is configured here."
	}
	if t := http.StatusText(status); t != "" {
		return t + "."
	}
	return "Error " + strconv.Itoa(status) + "."
}

// WantsJSON reports whether the client prefers JSON to HTML: an Accept
// header whose best-ranked type is a JSON type, or a JSON request body with
// no Accept preference for HTML.
func WantsJSON(r *http.Request) bool {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		typ, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(qs, 64); err == nil {
				q = f
			}
		}
		if q > bestQ {
			best, bestQ = typ, q
		}
	}
	if best == "" {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return IsJSON(ct)
	}
	return IsJSON(best)
}

// IsJSON reports whether a media type is JSON (application/json or a
// +json suffix type).
func IsJSON(typ string) bool {
	return typ == "application/json" || strings.HasSuffix(typ, "+json")
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Status}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}
code{background:#f3f3f3;padding:.1em .3em}</style></head>
<body><h1>{{.Status}}</h1><p>{{.Error}}</p>
{{if .RequestID}}<p>Request ID: <code>{{.RequestID}}</code></p>{{end}}</body></html>
`))
