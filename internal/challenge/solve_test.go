package challenge

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/request"
	"github.com/bulwark-sec/bulwark/internal/signals"
)

var netipLoopback = netip.MustParseAddr("127.0.0.1")

func newRecentWith(t *testing.T, ip netip.Addr, score int) *signals.Recent {
	t.Helper()
	r := signals.NewRecent(10, time.Minute, time.Now)
	r.NoteWAFScore(ip, score)
	return r
}

func TestSolutionReplayRefused(t *testing.T) {
	e := newEnv(t, testPolicy())
	_, page := e.do("GET", "/p", nil, browser())
	tok, d := e.puzzleOf(page)
	counter := work(tok, d)
	if resp, _ := e.postSolution(tok, counter, nil); resp.StatusCode != 303 {
		t.Fatalf("first solution: status %d", resp.StatusCode)
	}
	resp, body := e.postSolution(tok, counter, nil)
	if resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
		t.Fatalf("replay: status %d cookies %v", resp.StatusCode, resp.Cookies())
	}
	if newTok, _ := e.puzzleOf(body); newTok == tok { // a browser gets a fresh challenge for the same path
		t.Error("the replayed challenge was served again")
	}
	oneChallengeVerdict(t, e.last(), 403)
	if n := e.counter("bulwark_challenge_failed_total", "route", "a/web", "reason", "replay"); n != 1 {
		t.Errorf("failed{replay} = %v", n)
	}
}

func TestBadSolutionsRefused(t *testing.T) {
	cases := []struct {
		name   string
		post   func(e *env, tok string, d int) (*http.Response, string)
		reason string
	}{
		{"not enough work", func(e *env, tok string, d int) (*http.Response, string) {
			return e.postSolution(tok, notWork(tok, d), nil)
		}, "work"},
		{"counter not a number", func(e *env, tok string, d int) (*http.Response, string) {
			return e.postSolution(tok, "1e3", nil)
		}, "work"},
		{"token MAC bit flipped", func(e *env, tok string, d int) (*http.Response, string) {
			forged := flipBit(e.t, tok, 2)
			return e.postSolution(forged, work(forged, d), nil)
		}, "mac"},
		{"no token", func(e *env, tok string, d int) (*http.Response, string) {
			return e.postSolution("", "1", nil)
		}, "mac"},
		{"expired", func(e *env, tok string, d int) (*http.Response, string) {
			e.clock.Advance(5 * time.Minute)
			return e.postSolution(tok, work(tok, d), nil)
		}, "expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			_, page := e.do("GET", "/p", nil, browser())
			tok, d := e.puzzleOf(page)
			resp, body := tc.post(e, tok, d)
			if resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
				t.Fatalf("status %d cookies %v: %s", resp.StatusCode, resp.Cookies(), body)
			}
			oneChallengeVerdict(t, e.last(), 403)
			route := "a/web"
			if tc.reason == "mac" {
				route = "none" // the route is in the token, which did not verify
			}
			if n := e.counter("bulwark_challenge_failed_total", "route", route, "reason", tc.reason); n != 1 {
				t.Errorf("failed{%s,%s} = %v", route, tc.reason, n)
			}
		})
	}
	e := newEnv(t, testPolicy())
	if resp, _ := e.do("GET", SolutionPath, nil, browser()); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: status %d, want 405", SolutionPath, resp.StatusCode)
	}
}

func TestParallelChallengesEachWork(t *testing.T) {
	e := newEnv(t, testPolicy())
	paths := []string{"/tab/1", "/tab/2?x=y", "/other/3"}
	var toks []string
	for _, p := range paths {
		_, page := e.do("GET", p, nil, browser())
		tok, _ := e.puzzleOf(page)
		toks = append(toks, tok)
	}
	for i := len(paths) - 1; i >= 0; i-- { // solved in another order than issued
		resp, _ := e.postSolution(toks[i], work(toks[i], 8), nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != paths[i] {
			t.Fatalf("tab %d: status %d Location %q", i, resp.StatusCode, resp.Header.Get("Location"))
		}
		ck := resp.Cookies()[0]
		if resp, _ := e.do("GET", paths[i], nil, browser(), ck); resp.StatusCode != 200 {
			t.Errorf("tab %d: with its pass, status %d", i, resp.StatusCode)
		}
	}
}

func TestNonceStoreBoundedAndExpiring(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newNonceStore(2)
	must := func(err error, want error) {
		t.Helper()
		if err != want {
			t.Fatalf("got %v, want %v", err, want)
		}
	}
	must(s.use("a", now.Add(time.Minute), now), nil)
	must(s.use("b", now.Add(2*time.Minute), now), nil)
	must(s.use("a", now.Add(time.Minute), now), errReplay)
	must(s.use("c", now.Add(time.Minute), now), errFull)
	if full, retry := s.full(now); !full || retry != time.Minute {
		t.Errorf("full %v retry %v, want true 1m", full, retry)
	}
	now = now.Add(time.Minute) // a's challenge has expired: a is forgotten
	must(s.use("c", now.Add(time.Minute), now), nil)
	must(s.use("b", now.Add(time.Minute), now), errReplay)
	now = now.Add(time.Hour)
	if full, _ := s.full(now); full || s.len() != 0 {
		t.Errorf("after every expiry: full %v, %d nonces", full, s.len())
	}
}

func TestFullNonceStoreRefusesGracefully(t *testing.T) {
	e := newEnv(t, testPolicy(), withMaxNonces(1))
	_, page1 := e.do("GET", "/one", nil, browser())
	_, page2 := e.do("GET", "/two", nil, browser())
	tok1, _ := e.puzzleOf(page1)
	tok2, _ := e.puzzleOf(page2)
	if resp, _ := e.postSolution(tok1, work(tok1, 8), nil); resp.StatusCode != 303 {
		t.Fatalf("first solution: status %d", resp.StatusCode)
	}
	// Full: the second solution and a new challenge are refused, 503.
	resp, _ := e.postSolution(tok2, work(tok2, 8), nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "300" || len(resp.Cookies()) != 0 {
		t.Errorf("solution when full: status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := e.do("GET", "/three", nil, browser()); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("challenge when full: status %d", resp.StatusCode)
	}
	if n := e.counter("bulwark_challenge_failed_total", "route", "a/web", "reason", "full"); n != 2 {
		t.Errorf("failed{full} = %v, want 2", n)
	}
	if e.c.used.len() != 1 {
		t.Errorf("%d nonces held, bound 1", e.c.used.len())
	}
	// The first challenge expires; its nonce is forgotten and there is room.
	e.clock.Advance(5 * time.Minute)
	e.pass("/four", "127.0.0.1")
}

// A request for the solution path that reaches a route's stage (no
// gateway-level endpoint in front) is handled there, never challenged,
// and never reaches the backend.
func TestSolutionPathNeverChallenged(t *testing.T) {
	e := newEnv(t, testPolicy())
	_, page := e.do("GET", "/p", nil, browser())
	tok, d := e.puzzleOf(page)

	reached := false
	stage := e.c.Stage("a/web", "a", ModeAlways).Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	form := url.Values{"token": {tok}, "counter": {work(tok, d)}}
	r := httptest.NewRequest("POST", SolutionPath, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r = r.WithContext(request.With(r.Context(), &request.State{ID: "r1", ClientIP: netipLoopback}))
	w := httptest.NewRecorder()
	stage.ServeHTTP(w, r)
	if w.Code != 303 || reached || len(w.Result().Cookies()) != 1 {
		t.Errorf("status %d, backend reached %v, cookies %v", w.Code, reached, w.Result().Cookies())
	}
	if n := e.counter("bulwark_challenge_solved_total", "route", "a/web"); n != 1 {
		t.Errorf("solved %v", n)
	}
}
