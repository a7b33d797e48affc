package challenge

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/request"
)

// oneChallengeVerdict checks that the response recorded exactly one
// verdict, the bot layer's challenge with status.
func oneChallengeVerdict(t *testing.T, s served, status int) {
	t.Helper()
	if len(s.state.Verdicts) != 1 {
		t.Fatalf("%s %s: %d verdicts, want 1: %+v", s.method, s.uri, len(s.state.Verdicts), s.state.Verdicts)
	}
	v := s.state.Verdicts[0]
	if v.Layer != request.LayerBot || v.Action != request.ActionChallenge || v.Status != status || v.Cause == "" {
		t.Errorf("verdict %+v, want bot/challenge/%d with a cause", v, status)
	}
}

func TestClientWithoutJavaScriptGetsTheChallenge(t *testing.T) {
	e := newEnv(t, testPolicy())
	resp, body := e.do("GET", "/app?x=1", nil, map[string]string{"User-Agent": "curl/8.5.0", "Accept": "*/*"})

	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	tok, d := e.puzzleOf(body)
	if d != 8 || tok == "" || !strings.Contains(body, `action="`+SolutionPath+`"`) {
		t.Errorf("difficulty %d, token %q, page %s", d, tok, body)
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, " src=") {
		t.Errorf("page refers to external resources: %s", body)
	}
	// The inline script and style run only if the CSP names their hashes.
	csp := resp.Header.Get("Content-Security-Policy")
	for _, re := range []string{`(?s)<script>(.*)</script>`, `(?s)<style>(.*)</style>`} {
		m := regexp.MustCompile(re).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in page", re)
		}
		sum := sha256.Sum256([]byte(m[1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, h) {
			t.Errorf("CSP %q does not allow %s (%s)", csp, re, h)
		}
	}
	if !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if hits := e.backendHits(); len(hits) != 0 {
		t.Errorf("backend reached: %v", hits)
	}
	oneChallengeVerdict(t, e.last(), 403)
	if n := e.counter("bulwark_challenge_issued_total", "route", "a/web"); n != 1 {
		t.Errorf("issued %v, want 1", n)
	}
}

func TestSolvedChallengeRedirectsAndPassesWholeHost(t *testing.T) {
	e := newEnv(t, testPolicy())
	_, page := e.do("GET", "/app/page?q=1&r=%2F", nil, browser())
	tok, d := e.puzzleOf(page)
	resp, _ := e.postSolution(tok, work(tok, d), nil)

	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/app/page?q=1&r=%2F" {
		t.Fatalf("status %d Location %q, want 303 to the original path", resp.StatusCode, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == CookiePrefix+"a" {
			ck = c
		}
	}
	if ck == nil {
		t.Fatalf("no pass cookie: %v", resp.Header["Set-Cookie"])
	}
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.MaxAge != 3600 {
		t.Errorf("cookie attributes %+v", ck)
	}
	if len(e.last().state.Verdicts) != 0 {
		t.Errorf("a solved challenge recorded verdicts: %+v", e.last().state.Verdicts)
	}

	// Another path of the same host, the pass and an application cookie.
	resp, body := e.do("GET", "/elsewhere", nil, browser(), ck, &http.Cookie{Name: "session", Value: "s1"})
	if resp.StatusCode != 200 || !strings.Contains(body, "backend says hello from /elsewhere") {
		t.Fatalf("with the pass: status %d body %s", resp.StatusCode, body)
	}
	if got := e.cookies[len(e.cookies)-1]; got != "session=s1" {
		t.Errorf("backend got Cookie %q, want the pass removed and session kept", got)
	}
	if e.counter("bulwark_challenge_solved_total", "route", "a/web") != 1 || e.counter("bulwark_challenge_passes_total", "route", "a/web") != 1 {
		t.Errorf("solved %v passes %v, want 1 and 1", e.counter("bulwark_challenge_solved_total", "route", "a/web"),
			e.counter("bulwark_challenge_passes_total", "route", "a/web"))
	}
}

func TestPassCookieRefused(t *testing.T) {
	cases := []struct {
		name     string
		path, ip string // the request presenting the cookie
		alter    func(e *env, c *http.Cookie)
		pass     bool
	}{
		{"valid", "/x", "198.51.100.7", nil, true},
		{"same /24, other host", "/x", "198.51.100.200", nil, true},
		{"other /24", "/x", "198.51.101.7", nil, false},
		{"forged: MAC bit flipped", "/x", "198.51.100.7", func(e *env, c *http.Cookie) { c.Value = flipBit(e.t, c.Value, 2) }, false},
		{"forged: payload bit flipped", "/x", "198.51.100.7", func(e *env, c *http.Cookie) { c.Value = flipBit(e.t, c.Value, 1) }, false},
		{"just before expiry", "/x", "198.51.100.7", func(e *env, _ *http.Cookie) { e.clock.Advance(time.Hour - time.Second) }, true},
		{"expired", "/x", "198.51.100.7", func(e *env, _ *http.Cookie) { e.clock.Advance(time.Hour) }, false},
		{"other tenant", "/b/x", "198.51.100.7", func(_ *env, c *http.Cookie) { c.Name = CookiePrefix + "b" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testPolicy())
			ck := e.pass("/x", "198.51.100.7")
			if tc.alter != nil {
				tc.alter(e, ck)
			}
			resp, body := e.do("GET", tc.path, nil, browser("X-Test-Client-IP", tc.ip), ck)
			if got := resp.StatusCode == 200; got != tc.pass {
				t.Fatalf("status %d, want pass=%v: %s", resp.StatusCode, tc.pass, body)
			}
			if !tc.pass {
				e.puzzleOf(body) // challenged again, not just refused
				oneChallengeVerdict(t, e.last(), 403)
				if hits := e.backendHits(); len(hits) != 0 {
					t.Errorf("backend reached: %v", hits)
				}
			}
		})
	}
}

// flipBit flips one bit of part i (1: payload, 2: MAC) of a token.
func flipBit(t *testing.T, token string, i int) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil || len(parts) != 3 {
		t.Fatalf("token %q: %v", token, err)
	}
	b[len(b)/2] ^= 0x10
	parts[i] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestPassBoundToIPv6Prefix(t *testing.T) {
	e := newEnv(t, testPolicy())
	ck := e.pass("/", "2001:db8:1:2::1")
	for ip, want := range map[string]int{"2001:db8:1:2:ffff::9": 200, "2001:db8:1:3::1": 403, "198.51.100.7": 403} {
		if resp, _ := e.do("GET", "/", nil, browser("X-Test-Client-IP", ip), ck); resp.StatusCode != want {
			t.Errorf("from %s: status %d, want %d", ip, resp.StatusCode, want)
		}
	}
}

func TestJSONClientGetsJSON403(t *testing.T) {
	e := newEnv(t, testPolicy())
	resp, body := e.do("GET", "/api/items", nil, map[string]string{"Accept": "application/json", "User-Agent": "app/1.0"})
	if resp.StatusCode != 403 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var b struct {
		Status    int    `json:"status"`
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil || b.Status != 403 || b.RequestID == "" || b.Error == "" {
		t.Errorf("body %s: %v", body, err)
	}
	oneChallengeVerdict(t, e.last(), 403)
	if e.counter("bulwark_challenge_issued_total", "route", "a/web") != 0 || len(e.backendHits()) != 0 {
		t.Errorf("a JSON client got a challenge issued or reached the backend")
	}

	// A solution posted as JSON is answered in JSON, whatever Accept says.
	resp, body = e.do("POST", SolutionPath, strings.NewReader(`{"token":"x.y.z","counter":"1"}`),
		map[string]string{"Content-Type": "application/json", "Accept": "*/*"})
	if resp.StatusCode != 403 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("JSON solution: status %d Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	oneChallengeVerdict(t, e.last(), 403)
}

func TestAllowlistedNeverChallenged(t *testing.T) {
	e := newEnv(t, testPolicy())
	for _, path := range []string{"/", "/sus/x"} {
		resp, _ := e.do("GET", path, nil, map[string]string{"User-Agent": "curl/8.5.0", "X-Test-Allowlisted": "1", "X-Test-Greylisted": "1"})
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestSuspiciousMode(t *testing.T) {
	p := testPolicy()
	p.SuspiciousThreshold = 2
	cases := []struct {
		name       string
		hdr        map[string]string
		recentWAF  bool
		challenged bool
	}{
		{"browser, no signals", browser(), false, false},
		{"greylisted (2)", browser("X-Test-Greylisted", "1"), false, true},
		{"recent WAF score (2)", browser(), true, true},
		{"rate usage 0.9 (1)", browser("X-Test-Rate-Usage", "0.9"), false, false},
		{"rate usage 0.9 and no Accept-Language (2)", browser("X-Test-Rate-Usage", "0.9", "Accept-Language", ""), false, true},
		{"no Accept-Language (1)", browser("Accept-Language", ""), false, false},
		{"no Accept-Language, no Accept (2)", browser("Accept-Language", "", "Accept", ""), false, true},
		{"curl, with Accept (2)", map[string]string{"User-Agent": "curl/8.5.0", "Accept": "*/*"}, false, true},
		{"headless browser, no Accept-Language (2)", browser("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/148.0.0.0", "Accept-Language", ""), false, true},
		{"allowlisted and greylisted", browser("X-Test-Greylisted", "1", "X-Test-Allowlisted", "1"), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, p)
			if tc.recentWAF {
				e.recent.NoteWAFScore(netipLoopback, 5)
			}
			resp, body := e.do("GET", "/sus/page", nil, tc.hdr)
			if got := resp.StatusCode == 403; got != tc.challenged {
				t.Fatalf("status %d, want challenged=%v: %s", resp.StatusCode, tc.challenged, body)
			}
			if tc.challenged {
				e.puzzleOf(body)
				oneChallengeVerdict(t, e.last(), 403)
				if v := e.last().state.Verdicts[0]; v.Mode != ModeSuspicious || !strings.Contains(v.Cause, "suspicion score") {
					t.Errorf("verdict %+v", v)
				}
			} else if len(e.last().state.Verdicts) != 0 {
				t.Errorf("passed with verdicts %+v", e.last().state.Verdicts)
			}
		})
	}

	// A suspicious client with a pass goes through.
	e := newEnv(t, p)
	ck := e.passWith("/sus/page", browser("X-Test-Greylisted", "1"))
	resp, _ := e.do("GET", "/sus/page", nil, browser("X-Test-Greylisted", "1"), ck)
	if resp.StatusCode != 200 || e.counter("bulwark_challenge_passes_total", "route", "a/sus") != 1 {
		t.Errorf("greylisted with a pass: status %d", resp.StatusCode)
	}
}

func TestScoreWeights(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	for k, v := range browserHeaders {
		r.Header.Set(k, v)
	}
	recent := newRecentWith(t, netipLoopback, 3)
	all := &request.State{ClientIP: netipLoopback, Greylisted: true, RateUsage: 0.8}
	if n, why := score(r, all, recent); n != 5 || len(why) != 3 {
		t.Errorf("browser with every signal: %d %v, want 5", n, why)
	}
	bare, _ := http.NewRequest("GET", "/", nil)
	if n, why := score(bare, &request.State{RateUsage: 0.79}, nil); n != 3 || len(why) != 3 {
		t.Errorf("no headers at all: %d %v, want 3 (the default threshold)", n, why)
	}
	for ua, want := range map[string]bool{
		browserHeaders["User-Agent"]: true,
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15": true,
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                                           false,
		"curl/8.5.0": false, "python-requests/2.31": false, "": false, "Mozilla/4.0": false,
	} {
		if browserUA(ua) != want {
			t.Errorf("browserUA(%q) = %v", ua, !want)
		}
	}
}

func TestOpenRedirectRefused(t *testing.T) {
	e := newEnv(t, testPolicy())
	resp, page := e.do("GET", "//evil.example/x?y=1", nil, browser())
	if resp.StatusCode != 403 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	tok, d := e.puzzleOf(page)
	resp, _ = e.postSolution(tok, work(tok, d), nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Errorf("status %d Location %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	for in, want := range map[string]string{
		"/a/b?c=d": "/a/b?c=d", "//evil": "/", `/\evil`: "/", "https://evil/": "/", "": "/",
		"/a\tb": "/", SolutionPath: "/", SolutionPath + "?x": "/", "/" + strings.Repeat("a", 3000): "/",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReconfigure(t *testing.T) {
	e := newEnv(t, testPolicy())
	p := testPolicy()
	p.Difficulty = 12
	if err := e.c.Reconfigure(p); err != nil {
		t.Fatal(err)
	}
	_, page := e.do("GET", "/", nil, browser())
	if _, d := e.puzzleOf(page); d != 12 {
		t.Errorf("difficulty %d after Reconfigure, want 12", d)
	}
	p.Difficulty = 0
	if err := e.c.Reconfigure(p); err == nil {
		t.Error("difficulty 0 accepted")
	}
	p = testPolicy()
	p.KeyOverlap = p.KeyRotation + 1
	if err := e.c.Reconfigure(p); err == nil {
		t.Error("key_overlap above key_rotation accepted")
	}
}

func TestStageRefusesModeOff(t *testing.T) {
	e := newEnv(t, testPolicy())
	defer func() {
		if recover() == nil {
			t.Error("Stage(off) did not panic")
		}
	}()
	e.c.Stage("a/web", "a", "off")
}
