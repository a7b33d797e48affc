package challenge

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/bulwark-sec/bulwark/internal/request"
)

const nonceLen = 16

// target is what a challenge is for: the route and tenant that asked for
// it and the local path to return to once it is solved.
type target struct {
	route, tenant, ret string
}

// challenge answers a client that must prove it runs a browser, with
// verdict v recorded exactly once: a JSON client gets v through
// request.Deny; any other client gets the challenge page, 403, with a new
// nonce. When the used-nonce set is full, 503 with Retry-After instead: a
// solution could not be accepted now anyway.
func (c *Challenger) challenge(w http.ResponseWriter, r *http.Request, t target, v request.Verdict) {
	if request.WantsJSON(r) {
		request.Deny(w, r, v)
		return
	}
	now := c.now()
	if full, retry := c.used.full(now); full {
		c.refuseFull(w, r, t.route, v, retry)
		return
	}
	p := c.policy()
	pz := puzzle{Nonce: make([]byte, nonceLen), Difficulty: p.Difficulty, Expires: now.Add(p.ChallengeTTL.D()).Unix(),
		Tenant: t.tenant, Route: t.route, Return: t.ret}
	rand.Read(pz.Nonce)
	tok, err := c.seal(purposeChallenge, pz)
	if err != nil {
		request.Deny(w, r, request.Verdict{Layer: request.LayerBot, Action: request.ActionError,
			Status: http.StatusInternalServerError, Cause: "challenge: " + err.Error()})
		return
	}
	c.metrics.issued.WithLabelValues(t.route).Inc()
	s := request.From(r.Context())
	s.Add(v)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", pageCSP)
	if s.ID != "" {
		h.Set("X-Request-ID", s.ID)
	}
	w.WriteHeader(v.Status)
	if r.Method != http.MethodHead {
		_ = page.Execute(w, pageData{Token: tok, Difficulty: pz.Difficulty, Action: SolutionPath, RequestID: s.ID,
			Style: template.CSS(pageStyle), Script: template.JS(pageScript)})
	}
}

// refuseFull answers 503 with Retry-After through the one renderer.
func (c *Challenger) refuseFull(w http.ResponseWriter, r *http.Request, route string, v request.Verdict, retry time.Duration) {
	c.metrics.failed.WithLabelValues(route, reasonFull).Inc()
	v.Status = http.StatusServiceUnavailable
	v.Message = "Too many visitors are being checked right now. Please retry shortly."
	v.Cause += "; used-nonce set full"
	v.Header = http.Header{"Retry-After": {strconv.Itoa(max(1, int(retry.Round(time.Second)/time.Second)))}}
	request.Deny(w, r, v)
}

type pageData struct {
	Token      string
	Difficulty int
	Action     string
	RequestID  string
	Style      template.CSS
	Script     template.JS
}

// The page is self-contained: inline style and script, allowed by their
// hashes in the CSP and nothing else; the form may post only to the same
// origin. The script reads the token and difficulty from the form, finds
// the counter with crypto.subtle (a secure context, which HTTPS is) in
// batches, and submits.
const pageStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}code{background:#f3f3f3;padding:.1em .3em}`

const pageScript = `(function () {
  "use strict";
  var form = document.getElementById("bw-form");
  var status = document.getElementById("bw-status");
  if (!window.crypto || !crypto.subtle || !window.TextEncoder) {
    status.textContent = "This browser cannot run the check: it needs a current browser and a secure connection.";
    return;
  }
  var token = form.elements.token.value;
  var bits = parseInt(form.getAttribute("data-difficulty"), 10);
  var enc = new TextEncoder();
  function enough(h) {
    var b = bits, i = 0;
    for (; b >= 8; b -= 8, i++) { if (h[i] !== 0) { return false; } }
    return b === 0 || (h[i] >> (8 - b)) === 0;
  }
  var batch = 256;
  function round(start) {
    var work = [];
    for (var k = 0; k < batch; k++) {
      work.push(crypto.subtle.digest("SHA-256", enc.encode(token + String(start + k))));
    }
    return Promise.all(work).then(function (hashes) {
      for (var k = 0; k < hashes.length; k++) {
        if (enough(new Uint8Array(hashes[k]))) {
          form.elements.counter.value = String(start + k);
          status.textContent = "Done, loading the page.";
          form.submit();
          return;
        }
      }
      return round(start + batch);
    });
  }
  round(0).catch(function () { status.textContent = "The check failed. Please reload the page."; });
})();`

var pageCSP = "default-src 'none'; script-src " + cspHash(pageScript) + "; style-src " + cspHash(pageStyle) +
	"; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var page = template.Must(template.New("challenge").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Checking your browser</title>
<style>{{.Style}}</style></head>
<body><h1>Checking your browser</h1>
<p id="bw-status">This site asks browsers to solve a small puzzle before the first visit. It takes a moment.</p>
<noscript><p>Please enable JavaScript and reload the page.</p></noscript>
<form id="bw-form" method="post" action="{{.Action}}" data-difficulty="{{.Difficulty}}">
<input type="hidden" name="token" value="{{.Token}}"><input type="hidden" name="counter" value="">
</form>
{{if .RequestID}}<p>Request ID: <code>{{.RequestID}}</code></p>{{end}}
<script>{{.Script}}</script></body></html>
`))
