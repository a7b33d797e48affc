package reputation

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/request"
)

// feedServer serves a list with an ETag and a Last-Modified date and
// answers 304 to a request that presents both validators of the current
// list. It can be told to fail.
type feedServer struct {
	t *testing.T
	*httptest.Server

	mu       sync.Mutex
	body     string
	etag     string
	modified string
	fail     int    // status to answer instead of the list; 0: none
	garbage  string // a 200 body to answer instead of the list
	requests []*http.Request
	served   []int
}

func newFeedServer(t *testing.T, body, etag string) *feedServer {
	fs := &feedServer{t: t, body: body, etag: etag, modified: "Tue, 01 Jan 2030 00:00:00 GMT"}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.requests = append(fs.requests, r)
	status := http.StatusOK
	switch {
	case fs.fail != 0:
		status = fs.fail
		w.WriteHeader(status)
	case fs.garbage != "":
		w.Header().Set("ETag", `"garbage"`)
		_, _ = w.Write([]byte(fs.garbage))
	case r.Header.Get("If-None-Match") == fs.etag && r.Header.Get("If-Modified-Since") == fs.modified:
		status = http.StatusNotModified
		w.WriteHeader(status)
	default:
		w.Header().Set("ETag", fs.etag)
		w.Header().Set("Last-Modified", fs.modified)
		_, _ = w.Write([]byte(fs.body))
	}
	fs.served = append(fs.served, status)
}

func (fs *feedServer) set(f func(fs *feedServer)) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f(fs)
}

// last returns the last request and the status it got.
func (fs *feedServer) last() (*http.Request, int, int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := len(fs.requests)
	if n == 0 {
		fs.t.Fatal("the feed server got no request")
	}
	return fs.requests[n-1], fs.served[n-1], n
}

// feedHarness is a harness whose feed refreshers tick when the test says
// and report every fetch.
type feedHarness struct {
	*harness
	ticks   chan time.Time
	fetched chan error
}

func newFeedHarness(t *testing.T, p config.ReputationPolicy) *feedHarness {
	fh := &feedHarness{ticks: make(chan time.Time), fetched: make(chan error, 16)}
	fh.harness = newHarness(t, Options{Policy: p,
		newTicker: func(time.Duration) (<-chan time.Time, func()) { return fh.ticks, func() {} },
		fetched:   func(_ string, err error) { fh.fetched <- err },
	})
	return fh
}

func (fh *feedHarness) waitFetch() error {
	select {
	case err := <-fh.fetched:
		return err
	case <-time.After(10 * time.Second): // a deadline for a broken test, not a wait
		fh.t.Fatal("no feed fetch")
		return nil
	}
}

func feedPolicy(url, action string) config.ReputationPolicy {
	p := basePolicy()
	p.Feeds = []config.Feed{{URL: url, Interval: config.Duration(time.Hour), Action: action}}
	return p
}

func TestFeedLifecycle(t *testing.T) {
	srv := newFeedServer(t, "# bad hosts\n198.51.100.7\n2001:db8:bad::/48\n", `"v1"`)
	fh := newFeedHarness(t, feedPolicy(srv.URL+"/drop.txt", "deny"))
	label := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()

	// Fetched on start.
	if err := fh.waitFetch(); err != nil {
		t.Fatalf("first fetch: %v", err)
	}
	if res := fh.do("198.51.100.7"); res.status != 403 || res.blockCause() != "deny feed "+label {
		t.Fatalf("listed address: status %d cause %q", res.status, res.blockCause())
	}
	if res := fh.do("2001:db8:bad:7::1"); res.status != 403 {
		t.Fatalf("listed IPv6 prefix: status %d", res.status)
	}
	if got := metric(t, fh.reg, "bulwark_reputation_feed_entries", "feed", label); got != 2 {
		t.Errorf("feed_entries %v, want 2", got)
	}

	// The feed changes: Refresh picks it up.
	srv.set(func(fs *feedServer) { fs.body, fs.etag = "203.0.113.0/24\n", `"v2"` })
	if err := fh.r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if req, status, _ := srv.last(); req.Header.Get("If-None-Match") != `"v1"` || status != 200 {
		t.Errorf("refresh sent If-None-Match %q, got %d", req.Header.Get("If-None-Match"), status)
	}
	if fh.do("198.51.100.7").status != 200 || fh.do("203.0.113.9").status != 403 {
		t.Fatal("the new list is not in use")
	}

	// Unchanged: the validators of v2 come back and the server answers 304.
	if err := fh.r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	req, status, _ := srv.last()
	if req.Header.Get("If-None-Match") != `"v2"` || req.Header.Get("If-Modified-Since") != "Tue, 01 Jan 2030 00:00:00 GMT" || status != 304 {
		t.Fatalf("conditional request: If-None-Match %q If-Modified-Since %q, status %d; want a 304",
			req.Header.Get("If-None-Match"), req.Header.Get("If-Modified-Since"), status)
	}
	if fh.do("203.0.113.9").status != 403 {
		t.Fatal("a 304 must keep the list")
	}

	// Failures keep the last good list and are counted.
	srv.set(func(fs *feedServer) { fs.fail = 500 })
	if err := fh.r.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Fatalf("refresh error %v, want status 500", err)
	}
	srv.set(func(fs *feedServer) { fs.fail, fs.garbage = 0, "<html><body>Service unavailable</body></html>\n" })
	if err := fh.r.Refresh(ctx); err == nil || !strings.Contains(err.Error(), ":1: expected an IP address") {
		t.Fatalf("refresh error %v, want a parse error", err)
	}
	srv.set(func(fs *feedServer) { fs.garbage = "# nothing here\n" })
	if err := fh.r.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "no entries") {
		t.Fatalf("refresh error %v, want no entries", err)
	}
	if fh.do("203.0.113.9").status != 403 || fh.do("198.51.100.7").status != 200 {
		t.Fatal("the last good list must stay in use")
	}
	if got := metric(t, fh.reg, "bulwark_reputation_feed_errors_total", "feed", label); got != 3 {
		t.Errorf("feed_errors %v, want 3", got)
	}
	if got := metric(t, fh.reg, "bulwark_reputation_feed_entries", "feed", label); got != 1 {
		t.Errorf("feed_entries %v, want 1", got)
	}
	// A garbage response's ETag is not remembered.
	srv.set(func(fs *feedServer) { fs.garbage = "" })
	_ = fh.r.Refresh(ctx)
	if req, status, _ := srv.last(); req.Header.Get("If-None-Match") != `"v2"` || status != 304 {
		t.Errorf("after failures: If-None-Match %q, status %d", req.Header.Get("If-None-Match"), status)
	}
	// Drain the hook's reports of the Refresh calls.
	for range 6 {
		_ = fh.waitFetch()
	}

	// The refresher fetches on its ticker.
	srv.set(func(fs *feedServer) { fs.body, fs.etag = "192.0.2.0/24\n", `"v3"` })
	fh.ticks <- time.Time{}
	if err := fh.waitFetch(); err != nil {
		t.Fatal(err)
	}
	if fh.do("192.0.2.1").status != 403 || fh.do("203.0.113.9").status != 200 {
		t.Fatal("the ticker's fetch did not replace the list")
	}
}

func TestFeedGreylist(t *testing.T) {
	srv := newFeedServer(t, "198.51.100.0/24\n", `"g"`)
	fh := newFeedHarness(t, feedPolicy(srv.URL, "greylist"))
	if err := fh.waitFetch(); err != nil {
		t.Fatal(err)
	}
	res := fh.do("198.51.100.3")
	if res.status != 200 || !res.reached || !res.state.Greylisted {
		t.Fatalf("status %d reached %v greylisted %v; want a greylisted pass", res.status, res.reached, res.state.Greylisted)
	}
	if len(res.state.Verdicts) != 1 || res.state.Verdicts[0].Action != request.ActionLog || !strings.Contains(res.state.Verdicts[0].Cause, "greylist feed") {
		t.Errorf("verdicts %+v; want one log verdict naming the feed", res.state.Verdicts)
	}
	if res := fh.do("198.51.101.3"); res.state.Greylisted {
		t.Error("an unlisted client was greylisted")
	}
	if got := metric(t, fh.reg, "bulwark_reputation_decisions_total", "route", "shop/web", "action", "greylist", "source", "feed"); got != 1 {
		t.Errorf("decisions{greylist,feed} = %v, want 1", got)
	}
}

func TestFeedSurvivesReloadAndGoes(t *testing.T) {
	srv := newFeedServer(t, "198.51.100.7\n", `"a"`)
	p := feedPolicy(srv.URL, "deny")
	fh := newFeedHarness(t, p)
	if err := fh.waitFetch(); err != nil {
		t.Fatal(err)
	}
	_, _, before := srv.last()

	// The same feed, now a greylist: its list stays, no new fetch.
	p.Feeds[0].Action = "greylist"
	p.Deny = []string{"192.0.2.1"}
	if err := fh.r.Reconfigure(p, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, after := srv.last(); after != before {
		t.Errorf("a kept feed was fetched again on reload (%d requests, want %d)", after, before)
	}
	if res := fh.do("198.51.100.7"); res.status != 200 || !res.state.Greylisted {
		t.Errorf("kept feed with a new action: status %d greylisted %v", res.status, res.state.Greylisted)
	}

	// Removed: no longer applied, its gauge gone.
	label := strings.TrimPrefix(srv.URL, "http://")
	if err := fh.r.Reconfigure(basePolicy(), nil); err != nil {
		t.Fatal(err)
	}
	if res := fh.do("198.51.100.7"); res.state.Greylisted {
		t.Error("a removed feed still applies")
	}
	if got := metric(t, fh.reg, "bulwark_reputation_feed_entries", "feed", label); got != 0 {
		t.Errorf("removed feed's gauge %v", got)
	}

	// Duplicate URLs are refused.
	dup := feedPolicy(srv.URL, "deny")
	dup.Feeds = append(dup.Feeds, dup.Feeds[0])
	if err := fh.r.Reconfigure(dup, nil); err == nil || !strings.Contains(err.Error(), "feeds[1]") {
		t.Errorf("duplicate feed: %v", err)
	}
}

func TestFeedLabel(t *testing.T) {
	taken := map[string]bool{}
	var got []string
	for _, u := range []string{"https://lists.example/drop.txt?key=secret", "https://lists.example/edrop.txt", "https://user:pw@other.example/x"} {
		l := feedLabel(u, func(s string) bool { return taken[s] })
		taken[l] = true
		got = append(got, l)
	}
	if strings.Join(got, " ") != "lists.example lists.example#2 other.example" {
		t.Errorf("labels %q", got)
	}
}
