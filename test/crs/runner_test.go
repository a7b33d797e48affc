package crs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/gateway"
)

var (
	runFilter = flag.String("crs.run", "", "run only the CRS tests whose ID (ruleid-testid) matches this regexp")
	reportOut = flag.String("crs.report", "", "write every test's result as JSON lines to this file")
	workers   = flag.Int("crs.workers", 8, "tests run concurrently")
)

// minPassRate is the share of the tests that are not excluded that must
// pass (issue #3).
const minPassRate = 0.998

// TestCRSRegression runs the CRS regression tests of the coraza-coreruleset
// module against a real gateway: every stage's request goes over TLS to
// the gateway's HTTPS listener, through a route in block mode at paranoia
// level 4, to an Albedo-like backend; the WAF's verdicts are read from the
// gateway's security events, correlated by the X-Request-ID the gateway
// returns. The verdict is go-ftw's: expected rule IDs all present,
// unexpected ones absent, status and regular expressions as given.
//
// Flags (after -args): -crs.run REGEXP selects tests by ID, -crs.report
// FILE writes every result as JSON lines, -crs.workers N sets the
// concurrency.
func TestCRSRegression(t *testing.T) {
	if testing.Short() {
		t.Skip("the CRS regression suite starts two gateways and sends about 4700 requests; skipped with -short")
	}
	dir, err := crsTestsDir()
	if err != nil {
		t.Fatal(err)
	}
	files, err := loadFTW(dir)
	if err != nil {
		t.Fatal(err)
	}
	excl, err := loadExclusions(filepath.Join("testdata", "exclusions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var filter *regexp.Regexp
	if *runFilter != "" {
		if filter, err = regexp.Compile(*runFilter); err != nil {
			t.Fatalf("-crs.run: %v", err)
		}
	}

	var all, selected []*ftwTest
	for _, f := range files {
		for i := range f.Tests {
			tc := &f.Tests[i]
			all = append(all, tc)
			if filter == nil || filter.MatchString(tc.ID()) {
				selected = append(selected, tc)
			}
		}
	}
	known := map[string]bool{}
	for _, tc := range all {
		known[tc.ID()] = true
	}
	for _, e := range excl {
		if !known[e.Test] {
			t.Errorf("exclusion %s matches no test in %s; remove it", e.Test, dir)
		}
	}

	// Two gateways: the request tests run against a route that blocks at
	// the CRS's default inbound threshold; the response tests need their
	// request to reach the backend, see responseWAF.
	var block, response *env
	for _, tc := range selected {
		switch {
		case !isResponseTest(tc) && block == nil:
			block = startEnv(t, all, "")
		case isResponseTest(tc) && response == nil:
			response = startEnv(t, all, responseWAF)
		}
	}
	envFor := func(tc *ftwTest) *env {
		if isResponseTest(tc) {
			return response
		}
		return block
	}
	start := time.Now()
	results := runAll(envFor, selected, *workers)
	elapsed := time.Since(start)

	if *reportOut != "" {
		writeReport(t, *reportOut, results)
	}
	summarize(t, dir, files, results, excl, elapsed)
}

// ---------------------------------------------------------------------
// The environment: gateway, backend, certificate, event log.

// env is a running gateway with the CRS test configuration.
type env struct {
	addr   string
	tls    *tls.Config
	events *eventLog
}

// crsTestSetup is the SecLang the CRS tests assume beyond paranoia level
// 4, which the platform sets: UTF-8 validation (rule 920250) and the
// argument and file limits of the CRS test setup (rules 920360 to 920410),
// as the CRS project's tests/docker-compose.yml and Coraza's CRS test
// harness set them. Without any one of these settings a test of those
// rules fails. The file is loaded after the CRS setup file and before the
// CRS rules; its phase-1 action runs ahead of the CRS's initialization,
// which keeps values already set.
const crsTestSetup = `# Settings the CRS regression tests assume (test/crs).
SecAction "id:1000000,phase:1,pass,nolog,t:none,\
  setvar:tx.crs_validate_utf8_encoding=1,\
  setvar:tx.arg_name_length=100,\
  setvar:tx.arg_length=400,\
  setvar:tx.total_arg_length=64000,\
  setvar:tx.max_num_args=255,\
  setvar:tx.max_file_size=64100,\
  setvar:tx.combined_file_sizes=65535"
`

// responseWAF is added to the platform's waf section for the response
// tests (RESPONSE-95x, 959, 980). They ask the backend for a response that
// leaks data, describing it in the request body, and check the response
// rules. The CRS test setup runs the engine in DetectionOnly, so every
// phase runs whatever the request scores; at paranoia level 4 those
// request bodies (SQL error messages, PHP source, stack traces) score
// well above 5, and a blocking route refuses them before any response
// exists. A platform inbound threshold no request reaches lets the
// request through, so the response is inspected and, at the default
// outbound threshold, blocked — which is what these tests are about.
const responseWAF = "  inbound_threshold: 100000\n"

// isResponseTest reports whether tc is one of the response tests.
func isResponseTest(tc *ftwTest) bool { return strings.HasPrefix(tc.File, "RESPONSE-") }

const platformYAML = `listeners:
  https: "127.0.0.1:0"
  http: ""
  admin: ""
tls:
  certificates:
    - {cert: crs.crt, key: crs.key}
state_dir: %q
events:
  access: true
  sinks: [{type: stdout}]
# The suite sends thousands of requests from one address; the rate limiter
# is not what it tests.
ratelimit:
  defaults: {rate: "100000/s", burst: 100000, concurrent: 1024}
  bounds: {rate: "100000/s", burst: 100000, concurrent: 1024}
waf:
  paranoia: 4
  response_body: true
%s  rules:
    before_crs: ["crs-test-setup.conf"]
  enforce_now: ["crs/test"]
tenants:
  crs:
    hosts: %s
`

const tenantYAML = `tenant: crs
routes:
  - name: test
    hosts: %s
    backends:
      - url: %s
    waf:
      mode: block
`

// startEnv writes the configuration, starts the backend and the gateway,
// and returns the environment. The route serves every host name the tests
// send that is a valid host name: the CRS test setup answers any Host,
// while the gateway routes only hosts its tenants own.
func startEnv(t *testing.T, tests []*ftwTest, wafExtra string) *env {
	t.Helper()
	hosts := testHosts(tests)
	cfgDir := t.TempDir()
	certPEM, keyPEM := selfSigned(t, hosts)
	hostList, _ := json.Marshal(hosts)
	writeFile(t, filepath.Join(cfgDir, "crs.crt"), certPEM)
	writeFile(t, filepath.Join(cfgDir, "crs.key"), keyPEM)
	writeFile(t, filepath.Join(cfgDir, "crs-test-setup.conf"), []byte(crsTestSetup))
	writeFile(t, filepath.Join(cfgDir, "platform.yaml"), fmt.Appendf(nil, platformYAML, t.TempDir(), wafExtra, hostList))
	writeFile(t, filepath.Join(cfgDir, "tenants", "crs.yaml"), fmt.Appendf(nil, tenantYAML, hostList, startAlbedo(t)))

	events := newEventLog()
	g, err := gateway.New(gateway.Options{Dir: cfgDir, Stdout: events})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	if err := g.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	return &env{addr: g.Addrs().HTTPS, events: events, tls: &tls.Config{
		ServerName:         "localhost",
		RootCAs:            roots,
		ClientSessionCache: tls.NewLRUClientSessionCache(64),
		NextProtos:         []string{"http/1.1"},
	}}
}

// testHosts returns "localhost" and every Host header value of the tests
// that, normalized, is a valid host name for the tenant registry. The
// others ("localhost%00", "[::1]", "") cannot be routed.
func testHosts(tests []*ftwTest) []string {
	set := map[string]bool{"localhost": true}
	for _, tc := range tests {
		for _, s := range tc.Stages {
			for k, v := range s.Input.Headers {
				if strings.EqualFold(k, "Host") {
					if h := config.NormalizeHost(v); validHostName(h) {
						set[h] = true
					}
				}
			}
		}
	}
	hosts := make([]string, 0, len(set))
	for h := range set {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts
}

var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	return true
}

// selfSigned returns a self-signed certificate for hosts and its key, in
// PEM. One certificate for every host keeps the gateway's misdirected
// request check (Host against SNI) out of the way: the tests choose Host,
// the runner always sends SNI localhost.
func selfSigned(t *testing.T, hosts []string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "crs regression tests"},
		DNSNames:              hosts,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------
// The event log.

// eventLog receives the gateway's JSON-lines events (its stdout sink) and
// indexes them by request ID. The access record of a request is written
// after its security events, so it marks the request's events complete.
type eventLog struct {
	mu      sync.Mutex
	partial []byte
	reqs    map[string]*requestEvents
}

type requestEvents struct {
	security []securityEvent
	done     chan struct{}
	closed   bool
}

type securityEvent struct {
	Layer   string `json:"layer"`
	Action  string `json:"action"`
	Status  int    `json:"status"`
	Reason  string `json:"reason"`
	RuleSet string `json:"ruleset"`
	Rules   []struct {
		ID       string `json:"id"`
		Message  string `json:"message"`
		Severity string `json:"severity"`
		Data     string `json:"data"`
	} `json:"rules"`
}

func newEventLog() *eventLog { return &eventLog{reqs: map[string]*requestEvents{}} }

func (l *eventLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *eventLog) line(b []byte) {
	var head struct {
		Type      string `json:"type"`
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(b, &head) != nil || head.RequestID == "" {
		return
	}
	r := l.entry(head.RequestID)
	switch head.Type {
	case "security":
		var ev securityEvent
		if json.Unmarshal(b, &ev) == nil {
			r.security = append(r.security, ev)
		}
	case "access":
		if !r.closed {
			r.closed = true
			close(r.done)
		}
	}
}

func (l *eventLog) entry(id string) *requestEvents {
	r, ok := l.reqs[id]
	if !ok {
		r = &requestEvents{done: make(chan struct{})}
		l.reqs[id] = r
	}
	return r
}

// await returns the security events of request id once its access record
// has been written; ok is false if that does not happen within timeout.
func (l *eventLog) await(id string, timeout time.Duration) (evs []securityEvent, ok bool) {
	l.mu.Lock()
	r := l.entry(id)
	l.mu.Unlock()
	select {
	case <-r.done:
		ok = true
	case <-time.After(timeout):
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	evs = slices.Clone(r.security)
	delete(l.reqs, id)
	return evs, ok
}

// ---------------------------------------------------------------------
// Running tests.

// result is the outcome of one test.
type result struct {
	test   *ftwTest
	pass   bool
	why    string // for a failure
	status int    // of the last stage run, 0 if none
	rules  []string
	lines  []string // the rules as log lines, for -crs.report
	// refused: some stage's request never reached the WAF (Go's HTTP
	// server or the routing stage answered it).
	refused  bool
	duration time.Duration
}

func runAll(envFor func(*ftwTest) *env, tests []*ftwTest, n int) []*result {
	results := make([]*result, len(tests))
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = envFor(tests[i]).runTest(tests[i])
			}
		}()
	}
	for i := range tests {
		work <- i
	}
	close(work)
	wg.Wait()
	return results
}

func (e *env) runTest(tc *ftwTest) *result {
	start := time.Now()
	res := &result{test: tc, pass: true}
	for i := range tc.Stages {
		st := &tc.Stages[i]
		out := e.runStage(st)
		why := judge(st, out)
		if why != "" && st.Output.RetryOnce != nil && *st.Output.RetryOnce {
			out = e.runStage(st)
			why = judge(st, out)
		}
		res.status, res.rules, res.lines = out.status, out.ruleIDs(), out.logLines()
		res.refused = res.refused || out.refused()
		if why != "" {
			res.pass = false
			if len(tc.Stages) > 1 {
				why = fmt.Sprintf("stage %d: %s", i+1, why)
			}
			res.why = why
			break
		}
	}
	res.duration = time.Since(start)
	return res
}

// observed is what one stage produced.
type observed struct {
	err       error  // sending the request or reading the response
	status    int    // response status
	response  string // the whole response: status line, headers, body
	requestID string // X-Request-ID of the response, "" if none
	complete  bool   // the request's access record was seen
	events    []securityEvent
}

// refused reports whether the request was answered before the WAF: by Go's
// HTTP server (no X-Request-ID: no gateway handler ran) or by routing.
func (o *observed) refused() bool {
	if o.err != nil {
		return false
	}
	return o.requestID == "" || slices.ContainsFunc(o.events, func(ev securityEvent) bool { return ev.Layer == "route" })
}

// ruleIDs are the rules the WAF reported for the request.
func (o *observed) ruleIDs() []string {
	var ids []string
	for _, ev := range o.waf() {
		for _, r := range ev.Rules {
			if !slices.Contains(ids, r.ID) {
				ids = append(ids, r.ID)
			}
		}
	}
	return ids
}

// waf returns the events of the enforced WAF rule set.
func (o *observed) waf() []securityEvent {
	var out []securityEvent
	for _, ev := range o.events {
		if ev.Layer == "waf" && (ev.RuleSet == "" || ev.RuleSet == "enforced") {
			out = append(out, ev)
		}
	}
	return out
}

// logLines renders the WAF's rules the way ModSecurity's error log writes
// them, for the tests' match_regex and no_match_regex: one line per rule,
// control characters escaped as \xHH so that a line stays one line.
func (o *observed) logLines() []string {
	var lines []string
	for _, ev := range o.waf() {
		for _, r := range ev.Rules {
			lines = append(lines, fmt.Sprintf(`[id "%s"] [msg "%s"] [data "%s"] [severity "%s"]`,
				r.ID, logEscape(r.Message), logEscape(r.Data), r.Severity))
		}
	}
	return lines
}

func logEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, `\x%02x`, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// runStage sends a stage's request on a new TLS connection, reads the
// response, and collects the request's security events.
func (e *env) runStage(st *ftwStage) *observed {
	out := &observed{}
	if f := unsupported(&st.Input); f != "" {
		out.err = fmt.Errorf("the runner does not implement %s", f)
		return out
	}
	req, err := buildRequest(&st.Input)
	if err != nil {
		out.err = err
		return out
	}
	resp, body, err := e.roundTrip(req)
	if err != nil {
		out.err = err
		return out
	}
	out.status = resp.StatusCode
	out.response = dumpResponse(resp, body)
	out.requestID = resp.Header.Get("X-Request-ID")
	if out.requestID != "" {
		out.events, out.complete = e.events.await(out.requestID, 10*time.Second)
	}
	return out
}

// unsupported names a feature of the stage's input the runner does not
// implement; none of the module's tests uses them, and a test that starts
// to fails instead of running differently than go-ftw would. dest_addr,
// port and protocol are ignored on purpose: every request goes to the
// gateway's HTTPS listener.
func unsupported(in *ftwInput) string {
	switch {
	case len(in.URIs) > 0:
		return "uris"
	case in.FollowRedirect != nil && *in.FollowRedirect:
		return "follow_redirect"
	case in.SaveCookie != nil && *in.SaveCookie:
		return "save_cookie"
	case in.VirtualHostMode != nil && *in.VirtualHostMode:
		return "virtual_host_mode"
	case in.Response != nil:
		return "input.response"
	}
	return ""
}

// roundTrip writes the request bytes on a new TLS connection and reads one
// final response.
func (e *env) roundTrip(req *wireRequest) (*http.Response, []byte, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: e.tls}
	conn, err := d.Dial("tcp", e.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	_, werr := conn.Write(req.raw)
	// The gateway may answer (and close) before reading the whole request;
	// an answer read after a failed write still counts.
	br := bufio.NewReader(conn)
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			if werr != nil {
				return nil, nil, fmt.Errorf("write request: %w", werr)
			}
			return nil, nil, fmt.Errorf("read response: %w", err)
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // 100 Continue and other interim responses
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("read response body: %w", err)
		}
		return resp, body, nil
	}
}

func dumpResponse(resp *http.Response, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\r\n", resp.Proto, resp.Status)
	_ = resp.Header.Write(&b)
	b.WriteString("\r\n")
	b.Write(body)
	return b.String()
}

// judge applies go-ftw's verdict to a stage's outcome and returns why it
// failed, or "" if it passed.
func judge(st *ftwStage, o *observed) string {
	exp := st.Output
	if exp.ExpectError != nil && *exp.ExpectError {
		if o.err != nil {
			return ""
		}
		return fmt.Sprintf("expected an error, got status %d%s", o.status, o.describe())
	}
	if o.err != nil {
		return "error: " + o.err.Error()
	}
	if exp.Status != 0 && exp.Status != o.status {
		return fmt.Sprintf("status %d, expected %d%s", o.status, exp.Status, o.describe())
	}
	if exp.ResponseContains != "" {
		re, err := regexp.Compile(exp.ResponseContains)
		if err != nil {
			return fmt.Sprintf("bad response_contains %q: %v", exp.ResponseContains, err)
		}
		if !re.MatchString(o.response) {
			return fmt.Sprintf("response does not match %q%s", exp.ResponseContains, o.describe())
		}
	}
	if o.requestID != "" && !o.complete {
		return fmt.Sprintf("no access record for request %s within the timeout%s", o.requestID, o.describe())
	}
	ids := o.ruleIDs()
	lines := o.logLines()
	for _, rx := range []struct {
		pattern string
		want    bool
	}{{exp.Log.MatchRegex, true}, {exp.LogContains, true}, {exp.Log.NoMatchRegex, false}, {exp.NoLogContains, false}} {
		if rx.pattern == "" {
			continue
		}
		re, err := regexp.Compile(rx.pattern)
		if err != nil {
			return fmt.Sprintf("bad log regexp %q: %v", rx.pattern, err)
		}
		matched := slices.ContainsFunc(lines, re.MatchString)
		if matched != rx.want {
			if rx.want {
				return fmt.Sprintf("no log line matches %q%s", rx.pattern, o.describe())
			}
			return fmt.Sprintf("a log line matches %q%s", rx.pattern, o.describe())
		}
	}
	var missing, unexpected []string
	for _, id := range exp.Log.ExpectIDs {
		if !slices.Contains(ids, strconv.Itoa(id)) {
			missing = append(missing, strconv.Itoa(id))
		}
	}
	for _, id := range exp.Log.NoExpectIDs {
		if slices.Contains(ids, strconv.Itoa(id)) {
			unexpected = append(unexpected, strconv.Itoa(id))
		}
	}
	switch {
	case len(missing) > 0 && len(unexpected) > 0:
		return fmt.Sprintf("expected rules %v missing and unexpected rules %v present%s", missing, unexpected, o.describe())
	case len(missing) > 0:
		return fmt.Sprintf("expected rules %v missing%s", missing, o.describe())
	case len(unexpected) > 0:
		return fmt.Sprintf("unexpected rules %v present%s", unexpected, o.describe())
	}
	if exp.Isolated && len(ids) != 1 {
		return fmt.Sprintf("isolated test triggered %d rules%s", len(ids), o.describe())
	}
	return ""
}

// describe summarizes what happened, for a failure message.
func (o *observed) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, " (status %d", o.status)
	if o.requestID == "" {
		b.WriteString(", no X-Request-ID: the gateway's handler never ran")
	}
	ids := o.ruleIDs()
	slices.Sort(ids)
	fmt.Fprintf(&b, ", rules %v", ids)
	for _, ev := range o.events {
		fmt.Fprintf(&b, "; event %s %s", ev.Layer, ev.Action)
		if ev.Status != 0 {
			fmt.Fprintf(&b, " %d", ev.Status)
		}
		if ev.Reason != "" {
			fmt.Fprintf(&b, ": %s", ev.Reason)
		}
	}
	b.WriteString(")")
	return b.String()
}

// ---------------------------------------------------------------------
// Exclusions and the summary.

// exclusion is a test the runner does not count, with the reason.
type exclusion struct {
	Test   string `yaml:"test"`
	Reason string `yaml:"reason"`
}

var exclusionIDRE = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

func loadExclusions(path string) (map[string]exclusion, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list []exclusion
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]exclusion{}
	for i, e := range list {
		switch {
		case !exclusionIDRE.MatchString(e.Test):
			return nil, fmt.Errorf("%s: entry %d: test %q is not <rule id>-<test id>", path, i+1, e.Test)
		case strings.TrimSpace(e.Reason) == "":
			return nil, fmt.Errorf("%s: entry %d (%s): no reason", path, i+1, e.Test)
		}
		if _, dup := out[e.Test]; dup {
			return nil, fmt.Errorf("%s: %s listed twice", path, e.Test)
		}
		out[e.Test] = e
	}
	return out, nil
}

// benignRuleID is the rule ID of the CRS's benign-traffic test file
// (999999.yaml in some CRS versions): requests that must trigger no rule.
const benignRuleID = 999999

func summarize(t *testing.T, dir string, files []*ftwFile, results []*result, excl map[string]exclusion, elapsed time.Duration) {
	var passed, failed, excluded, excludedPassing int
	var failures []*result
	var vacuous []string
	byReason := map[string][]string{}
	for _, r := range results {
		id := r.test.ID()
		if r.test.RuleID == benignRuleID && r.pass && len(r.rules) > 0 {
			r.pass, r.why = false, fmt.Sprintf("benign request triggered rules %v", r.rules)
		}
		if e, ok := excl[id]; ok {
			if r.test.RuleID == benignRuleID {
				t.Errorf("exclusion %s: benign-traffic tests cannot be excluded", id)
			}
			excluded++
			byReason[e.Reason] = append(byReason[e.Reason], id)
			if r.pass {
				excludedPassing++
				t.Errorf("stale exclusion: %s passes now; remove it from testdata/exclusions.yaml", id)
			}
			continue
		}
		if r.pass {
			passed++
			if r.refused {
				vacuous = append(vacuous, id)
			}
		} else {
			failed++
			failures = append(failures, r)
		}
	}
	run := passed + failed
	rate := 1.0
	if run > 0 {
		rate = float64(passed) / float64(run)
	}
	benign := 0
	for _, f := range files {
		if f.RuleID == benignRuleID {
			benign += len(f.Tests)
		}
	}
	t.Logf("CRS regression tests from %s", dir)
	t.Logf("total %d, excluded %d, run %d, passed %d, failed %d, pass rate %.2f%% (need %.1f%%), %s",
		len(results), excluded, run, passed, failed, 100*rate, 100*minPassRate, elapsed.Round(100*time.Millisecond))
	if benign == 0 {
		t.Logf("the module has no benign-traffic test file (rule_id %d)", benignRuleID)
	}
	if len(vacuous) > 0 {
		t.Logf("%d of the passing tests never reached the WAF (answered by Go's HTTP server or the routing stage, as the test allows): %v", len(vacuous), vacuous)
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		t.Logf("excluded %v: %s", byReason[reason], reason)
	}
	sort.Slice(failures, func(i, j int) bool {
		return failures[i].test.File+failures[i].test.ID() < failures[j].test.File+failures[j].test.ID()
	})
	for _, r := range failures {
		t.Logf("FAIL %s %s: %s", r.test.File, r.test.ID(), r.why)
	}
	if rate < minPassRate {
		t.Errorf("pass rate %.2f%% is below %.1f%%", 100*rate, 100*minPassRate)
	}
}

func writeReport(t *testing.T, path string, results []*result) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range results {
		_ = enc.Encode(map[string]any{
			"test": r.test.ID(), "file": r.test.File, "pass": r.pass, "why": r.why,
			"status": r.status, "rules": r.rules, "log": r.lines, "refused": r.refused, "ms": r.duration.Milliseconds(),
		})
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Errorf("-crs.report: %v", err)
	}
}
