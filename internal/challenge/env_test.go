package challenge

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/fakeclock"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/request"
	"github.com/bulwark-sec/bulwark/internal/signals"
)

// clock is the injected clock: time moves only when a test says so.
type clock = fakeclock.Clock

func testPolicy() config.ChallengePolicy {
	return config.ChallengePolicy{
		Difficulty: 8, PassTTL: config.Duration(time.Hour), ChallengeTTL: config.Duration(5 * time.Minute),
		KeyRotation: config.Duration(24 * time.Hour), KeyOverlap: config.Duration(time.Hour),
		SuspiciousThreshold: 3, IPv4Prefix: 24, IPv6Prefix: 64,
	}
}

// served is one response the test gateway gave.
type served struct {
	method, uri string
	status      int
	state       *request.State
}

// env is a test gateway on loopback TLS: a front standing in for record
// and route (State with client IP and the reputation and rate-limit
// signals, taken from X-Test-* headers), the gateway-level solution
// endpoint, three routes with their challenge stages, and a backend.
type env struct {
	t        *testing.T
	clock    *clock
	dir      string
	reg      *prometheus.Registry
	recent   *signals.Recent
	c        *Challenger
	srv      *httptest.Server
	mu       sync.Mutex
	log      []served
	backend  []string // paths the backend served
	cookies  []string // Cookie headers the backend received
	maxNonce int
	h        http.Handler
	seq      int
}

type envOption func(*env)

func withMaxNonces(n int) envOption { return func(e *env) { e.maxNonce = n } }

func newEnv(t *testing.T, p config.ChallengePolicy, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, clock: fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), dir: t.TempDir()}
	for _, o := range opts {
		o(e)
	}
	e.recent = signals.NewRecent(100, 10*time.Minute, e.clock.Now)
	e.c = e.newChallenger(p)
	e.h = e.build()
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		h := e.h
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// build is the test gateway's handler around the current Challenger.
func (e *env) build() http.Handler {
	c := e.c
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.backend = append(e.backend, r.URL.Path)
		e.cookies = append(e.cookies, strings.Join(r.Header.Values("Cookie"), "|"))
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>backend</title><p id="backend">backend says hello from %s</p>`, r.URL.Path)
	})
	routes := []struct {
		prefix string
		route  *request.Route
		h      http.Handler
	}{
		{"/sus/", &request.Route{ID: "a/sus", Tenant: "a", Name: "sus"}, c.Stage("a/sus", "a", ModeSuspicious).Wrap(backend)},
		{"/b/", &request.Route{ID: "b/web", Tenant: "b", Name: "web"}, c.Stage("b/web", "b", ModeAlways).Wrap(backend)},
		{"/", &request.Route{ID: "a/web", Tenant: "a", Name: "web"}, c.Stage("a/web", "a", ModeAlways).Wrap(backend)},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := e.state(r)
		r = r.WithContext(request.With(r.Context(), s))
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		if r.URL.Path == SolutionPath { // the gateway mounts it before routing
			c.ServeHTTP(rec, r)
		} else {
			for _, rt := range routes {
				if strings.HasPrefix(r.URL.Path, rt.prefix) {
					s.Route = rt.route
					rt.h.ServeHTTP(rec, r)
					break
				}
			}
		}
		e.mu.Lock()
		e.log = append(e.log, served{r.Method, r.RequestURI, rec.status, s})
		e.mu.Unlock()
	})
}

// restart is a gateway restart: a new Challenger on e.dir.
func (e *env) restart(p config.ChallengePolicy) {
	e.t.Helper()
	c := e.newChallenger(p)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.c = c
	e.h = e.build()
}

// expectPass checks whether ck lets a browser through.
func (e *env) expectPass(ck *http.Cookie, want bool, what string) {
	e.t.Helper()
	resp, _ := e.do("GET", "/", nil, browser(), ck)
	if got := resp.StatusCode == 200; got != want {
		e.t.Errorf("%s: status %d, want pass=%v", what, resp.StatusCode, want)
	}
}

func (e *env) newChallenger(p config.ChallengePolicy) *Challenger {
	e.t.Helper()
	e.reg = prometheus.NewRegistry()
	c, err := New(Options{Policy: p, StateDir: e.dir, Recent: e.recent, Now: e.clock.Now, Registerer: e.reg, MaxNonces: e.maxNonce})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// state is what record, route, reputation and rate limit would have
// computed: the client IP (the TCP peer unless X-Test-Client-IP says
// otherwise) and the signals.
func (e *env) state(r *http.Request) *request.State {
	e.mu.Lock()
	e.seq++
	s := &request.State{ID: "req-" + strconv.Itoa(e.seq)}
	e.mu.Unlock()
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.ClientIP = netip.MustParseAddr(host)
	if ip := r.Header.Get("X-Test-Client-IP"); ip != "" {
		s.ClientIP = netip.MustParseAddr(ip)
	}
	s.Greylisted = r.Header.Get("X-Test-Greylisted") != ""
	s.Allowlisted = r.Header.Get("X-Test-Allowlisted") != ""
	if u := r.Header.Get("X-Test-Rate-Usage"); u != "" {
		s.RateUsage, _ = strconv.ParseFloat(u, 64)
	}
	return s
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// last returns the last response served.
func (e *env) last() served {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log[len(e.log)-1]
}

func (e *env) backendHits() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.backend...)
}

// browserHeaders are what a browser sends with a navigation.
var browserHeaders = map[string]string{
	"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	"Accept-Language": "en-GB,en;q=0.9",
	"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Safari/537.36",
}

// do sends a request through the test gateway without following
// redirects. hdr adds headers (a nil map value deletes nothing: use ""
// to send an empty one).
func (e *env) do(method, path string, body io.Reader, hdr map[string]string, cookies ...*http.Cookie) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(b)
}

// browser returns browserHeaders plus extra.
func browser(extra ...string) map[string]string {
	h := map[string]string{}
	for k, v := range browserHeaders {
		h[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

var (
	tokenRE      = regexp.MustCompile(`name="token" value="([^"]+)"`)
	difficultyRE = regexp.MustCompile(`data-difficulty="(\d+)"`)
)

// puzzleOf reads the token and difficulty from a challenge page.
func (e *env) puzzleOf(page string) (string, int) {
	e.t.Helper()
	tm, dm := tokenRE.FindStringSubmatch(page), difficultyRE.FindStringSubmatch(page)
	if tm == nil || dm == nil {
		e.t.Fatalf("not a challenge page: %s", page)
	}
	d, _ := strconv.Atoi(dm[1])
	return tm[1], d
}

// work finds a counter for token the way the page's script does, with
// its own leading-zero count (not the package's).
func work(token string, difficulty int) string {
	for n := 0; ; n++ {
		sum := sha256.Sum256([]byte(token + strconv.Itoa(n)))
		if 256-new(big.Int).SetBytes(sum[:]).BitLen() >= difficulty {
			return strconv.Itoa(n)
		}
	}
}

// notWork finds a counter that does not solve token.
func notWork(token string, difficulty int) string {
	for n := 0; ; n++ {
		sum := sha256.Sum256([]byte(token + strconv.Itoa(n)))
		if 256-new(big.Int).SetBytes(sum[:]).BitLen() < difficulty {
			return strconv.Itoa(n)
		}
	}
}

// postSolution posts token and counter as the page's form does.
func (e *env) postSolution(token, counter string, hdr map[string]string) (*http.Response, string) {
	e.t.Helper()
	h := browser("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		h[k] = v
	}
	form := url.Values{"token": {token}, "counter": {counter}}
	return e.do("POST", SolutionPath, strings.NewReader(form.Encode()), h)
}

// pass gets a challenge for path as clientIP, solves it and returns the
// pass cookie.
func (e *env) pass(path, clientIP string) *http.Cookie {
	e.t.Helper()
	return e.passWith(path, browser("X-Test-Client-IP", clientIP))
}

// passWith is pass with the given headers on both requests.
func (e *env) passWith(path string, hdr map[string]string) *http.Cookie {
	e.t.Helper()
	resp, page := e.do("GET", path, nil, hdr)
	if resp.StatusCode != http.StatusForbidden {
		e.t.Fatalf("GET %s: status %d, want the challenge (403)", path, resp.StatusCode)
	}
	tok, d := e.puzzleOf(page)
	resp, body := e.postSolution(tok, work(tok, d), hdr)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("solution: status %d, want 303: %s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, CookiePrefix) {
			return c
		}
	}
	e.t.Fatalf("solution: no pass cookie in %v", resp.Header["Set-Cookie"])
	return nil
}

// counter reads one counter of the challenge's metrics.
func (e *env) counter(name string, labels ...string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, kv []string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if got[kv[i]] != kv[i+1] {
			return false
		}
	}
	return len(got) == len(kv)/2
}

func (e *env) servedList() []served {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]served(nil), e.log...)
}

// served lists what the test gateway answered, for failure messages.
func (e *env) served() string {
	var b strings.Builder
	for _, s := range e.servedList() {
		fmt.Fprintf(&b, "\n  %s %s -> %d", s.method, s.uri, s.status)
	}
	return b.String()
}
