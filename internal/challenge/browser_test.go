package challenge

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/browsertest"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserSolvesChallenge drives a real headless Chromium: it loads a
// protected page, runs the page's proof of work with crypto.subtle under
// the page's CSP, posts the solution, follows the 303 and reaches the
// backend; a second page on the host goes straight through on the cookie.
func TestBrowserSolvesChallenge(t *testing.T) {
	e := newEnv(t, testPolicy())
	// Loopback only: no name resolves but the test server's address; only
	// the test server's certificate is trusted.
	ctx := browsertest.Context(t, "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", browsertest.SPKI(e.srv.Certificate()), 60*time.Second)

	began := time.Now()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/app/page?q=1"),
		chromedp.WaitVisible(chromedp.ID("backend")),
	); err != nil {
		t.Fatalf("browser (%s): %v; served:%s", time.Since(began), err, e.served())
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("backend")))
	if err != nil {
		t.Fatal(err)
	}
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (*network.GetCookiesResult, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{e.srv.URL}})
		return &res, err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Chromium solved the challenge (difficulty %d) and reached the backend in %s", e.c.policy().Difficulty, time.Since(began))
	if text != "backend says hello from /app/page" || location != e.srv.URL+"/app/page?q=1" {
		t.Errorf("backend text %q at %q", text, location)
	}
	var pass *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == CookiePrefix+"a" {
			pass = c
		}
	}
	if pass == nil || !pass.Secure || !pass.HTTPOnly || pass.SameSite != network.CookieSameSiteLax || pass.Path != "/" {
		t.Errorf("pass cookie in the browser: %+v", pass)
	}
	if e.counter("bulwark_challenge_solved_total", "route", "a/web") != 1 {
		t.Errorf("solved %v, want 1", e.counter("bulwark_challenge_solved_total", "route", "a/web"))
	}

	// Another page of the host: straight to the backend, no challenge.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/app/other"),
		chromedp.WaitVisible(chromedp.ID("backend")),
	); err != nil {
		t.Fatalf("second page: %v; served:%s", err, e.served())
	}
	if text, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("backend"))); err != nil {
		t.Fatal(err)
	}
	if text != "backend says hello from /app/other" {
		t.Errorf("second page: %q", text)
	}
	for _, s := range e.servedList() {
		if s.uri == "/app/other" && s.status != 200 {
			t.Errorf("second page was answered %d, want 200 on the pass: %s", s.status, e.served())
		}
	}
	if e.counter("bulwark_challenge_passes_total", "route", "a/web") < 1 {
		t.Error("no request went through on the pass")
	}
}
