package challenge

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/bits"
	"mime"
	"net/http"
	"time"

	"github.com/bulwark-sec/bulwark/internal/request"
)

const maxSolutionBody = 8 << 10

// ServeHTTP serves SolutionPath. The gateway mounts it for every host it
// serves, before route matching, so a route with path prefixes (where the
// reserved path would match another route, or none) still receives its
// solutions; a Stage also answers the path itself if a request for it
// reaches one. The tenant and route come from the sealed token.
func (c *Challenger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := "none"
	if s := request.From(r.Context()); s.Route != nil {
		route = s.Route.ID
	}
	c.solve(w, r, route)
}

// solve checks a posted solution: seal, expiry, work, then single use of
// the nonce. Success sets the pass cookie and answers 303 to the path the
// challenge was for. Failure is counted by reason; a browser whose
// challenge was genuine but expired, replayed or wrong gets a fresh
// challenge for the same path, anyone else the 403 of the one renderer.
func (c *Challenger) solve(w http.ResponseWriter, r *http.Request, route string) {
	if r.Method != http.MethodPost {
		request.Deny(w, r, request.Verdict{Layer: request.LayerBot, Action: request.ActionReject, Status: http.StatusMethodNotAllowed,
			Header: http.Header{"Allow": {http.MethodPost}}, Cause: "challenge solution sent with " + r.Method})
		return
	}
	token, counter := readSolution(w, r)
	var pz puzzle
	if err := c.open(purposeChallenge, token, &pz); err != nil {
		c.refuse(w, r, route, reasonMAC, nil, err)
		return
	}
	route = pz.Route
	now := c.now()
	until := time.Unix(pz.Expires, 0)
	switch {
	case !now.Before(until):
		c.refuse(w, r, route, reasonExpired, &pz, errExpired)
		return
	case len(pz.Nonce) != nonceLen:
		c.refuse(w, r, route, reasonMAC, nil, errSeal)
		return
	case !worked(token, counter, pz.Difficulty):
		c.refuse(w, r, route, reasonWork, &pz, errors.New("not enough leading zero bits"))
		return
	}
	if err := c.used.use(string(pz.Nonce), until, now); err != nil {
		reason := reasonReplay
		if errors.Is(err, errFull) {
			reason = reasonFull
		}
		c.refuse(w, r, route, reason, &pz, err)
		return
	}
	if err := c.issuePass(w, pz.Tenant, request.From(r.Context()).ClientIP); err != nil {
		request.Deny(w, r, request.Verdict{Layer: request.LayerBot, Action: request.ActionError,
			Status: http.StatusInternalServerError, Cause: "challenge: pass not issued: " + err.Error()})
		return
	}
	c.metrics.solved.WithLabelValues(route).Inc()
	w.Header().Set("Location", safeReturn(pz.Return))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}

// refuse answers a solution that failed for reason. pz is the verified
// challenge, nil if its seal did not verify.
func (c *Challenger) refuse(w http.ResponseWriter, r *http.Request, route, reason string, pz *puzzle, err error) {
	v := request.Verdict{Layer: request.LayerBot, Action: request.ActionChallenge, Status: http.StatusForbidden,
		Cause: "challenge solution refused (" + reason + "): " + err.Error()}
	if jsonBody(r) {
		r = preferJSON(r)
	}
	if reason == reasonFull {
		full, retry := c.used.full(c.now())
		if !full {
			retry = time.Second
		}
		c.refuseFull(w, r, route, v, retry)
		return
	}
	c.metrics.failed.WithLabelValues(route, reason).Inc()
	if pz == nil || request.WantsJSON(r) {
		request.Deny(w, r, v)
		return
	}
	c.challenge(w, r, target{route: pz.Route, tenant: pz.Tenant, ret: safeReturn(pz.Return)}, v)
}

// readSolution reads the token and counter from a form or a JSON body.
func readSolution(w http.ResponseWriter, r *http.Request) (token, counter string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSolutionBody)
	if jsonBody(r) {
		var b struct {
			Token   string      `json:"token"`
			Counter json.Number `json:"counter"`
		}
		if json.NewDecoder(r.Body).Decode(&b) != nil {
			return "", ""
		}
		return b.Token, b.Counter.String()
	}
	if r.ParseForm() != nil {
		return "", ""
	}
	return r.PostForm.Get("token"), r.PostForm.Get("counter")
}

func jsonBody(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return request.IsJSON(ct)
}

// preferJSON returns r asking for JSON, so that request.Deny answers a
// client that posted JSON in JSON whatever its Accept header says.
func preferJSON(r *http.Request) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Accept", "application/json")
	return r2
}

// worked reports whether SHA-256(token || counter) starts with at least
// difficulty zero bits. The counter is a decimal number of at most 16
// digits, as the page's script sends it.
func worked(token, counter string, difficulty int) bool {
	if counter == "" || len(counter) > 16 {
		return false
	}
	for i := 0; i < len(counter); i++ {
		if counter[i] < '0' || counter[i] > '9' {
			return false
		}
	}
	return leadingZeroBits(sha256.Sum256([]byte(token+counter))) >= difficulty
}

func leadingZeroBits(h [sha256.Size]byte) int {
	n := 0
	for _, b := range h {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}
