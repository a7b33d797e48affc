package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestWAFLedger tests INV-4 end to end: a rule set serves in detection
// for waf.detection_period before the same rule set may block, the ledger
// that proves it survives restarts and is never reset silently, a new rule
// set on a blocking route serves its period beside the old one, and the
// security team's enforce_now override is visible. The gateway's clock is
// a variable the test advances; nothing waits for real time.
func TestWAFLedger(t *testing.T) {
	const period = time.Hour
	const wafKeys = "  detection_period: 1h"
	sqli := "https://shop.test" + wafAttacks[0].target
	plTwo := "https://shop.test/?q=" + url.QueryEscape("@@version") // 942480, paranoia 2 only
	be := startWAFBackend(t, "shop")
	route := func(waf string) map[string]string {
		return map[string]string{"shop": wafRoute("shop", "web", "shop.test", waf, be.url())}
	}

	t.Run("block without detection is refused with the earliest time", func(t *testing.T) {
		env := newWAFEnv(t, wafKeys, route("{mode: block}"))
		env.clock = newWAFClock()
		g, err := env.open(t)
		if err == nil {
			env.stop(g)
			t.Fatal("gateway.New accepted block mode for a rule set that never served in detection")
		}
		earliest := env.clock.Now().Add(period).UTC().Format(time.RFC3339)
		msg := err.Error()
		for _, want := range []string{"block refused", "shop/web", earliest, "routes[0].waf.mode", "waf.enforce_now"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
		}
	})

	// One state directory for the rest: detect, block too early, block on
	// time, restart, change the rule set while blocking, corrupt.
	env := newWAFEnv(t, wafKeys, route("{mode: detect}"))
	env.clock = newWAFClock()
	started := env.clock.Now()
	g := env.start(t)
	c := env.client(t, g)

	attack := func(t *testing.T, g *gw, c *http.Client, u string, status int, action, ruleset, rule string) wafResult {
		t.Helper()
		r := wafDo(t, g, c, "GET", u, nil, "")
		if r.status != status {
			t.Errorf("GET %s: status %d, want %d%s", u, r.status, status, wafDescribe(r.events))
		}
		if e := r.find(action, ruleset); len(e) != 1 || !wafHasRule(e[0], rule) {
			t.Errorf("GET %s: want one %s event of the %s rule set naming %s, got%s", u, action, ruleset, rule, wafDescribe(r.events))
		}
		return r
	}

	t.Run("detect serves", func(t *testing.T) {
		attack(t, g, c, sqli, http.StatusOK, "detected", "enforced", "942100")
	})

	t.Run("block before the period ends is refused on reload", func(t *testing.T) {
		env.clock.Advance(period / 2)
		env.writeTenant(t, "shop", route("{mode: block}")["shop"])
		err := g.g.Reload("test")
		if err == nil {
			t.Fatal("reload to block accepted half-way through the detection period")
		}
		earliest := started.Add(period).UTC().Format(time.RFC3339)
		if !strings.Contains(err.Error(), "block refused") || !strings.Contains(err.Error(), earliest) {
			t.Errorf("reload error %q, want block refused and the earliest time %s", err, earliest)
		}
		code, rd := opsReadyz(t, g)
		if code != http.StatusOK || rd.LastReload.Result != "failure" || rd.LastReload.Error == nil || !strings.Contains(*rd.LastReload.Error, "block refused") {
			t.Errorf("/readyz %d %+v, want ready with the last reload failed for block refused", code, rd.LastReload)
		}
		// The detect generation keeps serving.
		attack(t, g, c, sqli, http.StatusOK, "detected", "enforced", "942100")
	})

	t.Run("block after the period is accepted", func(t *testing.T) {
		env.clock.Advance(period/2 + time.Minute)
		if err := g.g.Reload("test"); err != nil {
			t.Fatalf("reload to block after the detection period: %v", err)
		}
		code, rd := opsReadyz(t, g)
		if code != http.StatusOK || rd.LastReload.Result != "success" {
			t.Errorf("/readyz %d %+v, want the last reload succeeded", code, rd.LastReload)
		}
		r := attack(t, g, c, sqli, http.StatusForbidden, "block", "enforced", "942100")
		if _, reached := be.received(r.id); reached {
			t.Error("the blocked attack reached the backend")
		}
		if r := wafDo(t, g, c, "GET", "https://shop.test/?page=2", nil, ""); r.status != http.StatusOK {
			t.Errorf("benign request: status %d", r.status)
		}
	})

	restarted := t.Run("a restart keeps the ledger", func(t *testing.T) {
		env.stop(g)
		g = env.start(t) // block mode, no enforce_now, same state directory
		c = env.client(t, g)
		attack(t, g, c, sqli, http.StatusForbidden, "block", "enforced", "942100")
	})
	if !restarted {
		t.FailNow() // the steps below need the restarted gateway
	}

	t.Run("a new rule set on a blocking route serves its period beside the old one", func(t *testing.T) {
		env.writeTenant(t, "shop", route("{mode: block, paranoia: 2}")["shop"])
		if err := g.g.Reload("test"); err != nil {
			t.Fatalf("reload to a stricter rule set while blocking: %v", err)
		}
		// The old rule set (paranoia 1) still decides: it blocks what it
		// blocked and passes what only paranoia 2 catches, which the new
		// set reports as pending.
		r := attack(t, g, c, plTwo, http.StatusOK, "detected", "pending", "942480")
		if e := r.find("block", ""); len(e) > 0 {
			t.Errorf("the pending rule set blocked:%s", wafDescribe(e))
		}
		attack(t, g, c, sqli, http.StatusForbidden, "block", "enforced", "942100")

		// A restart half-way through keeps the pending set's clock: it does
		// not start its period again.
		env.clock.Advance(period / 2)
		env.stop(g)
		g = env.start(t)
		c = env.client(t, g)
		attack(t, g, c, plTwo, http.StatusOK, "detected", "pending", "942480")

		// When the period ends the new set takes over, without a reload.
		env.clock.Advance(period/2 + time.Minute)
		r = attack(t, g, c, plTwo, http.StatusForbidden, "block", "enforced", "942480")
		if e := r.find("", "pending"); len(e) > 0 {
			t.Errorf("a pending rule set still runs after it took over:%s", wafDescribe(e))
		}
	})

	t.Run("a corrupt ledger is an error, not a reset", func(t *testing.T) {
		env.stop(g)
		for _, content := range []string{"{not json", `{"version": 99, "routes": {}}`, ""} {
			if err := os.WriteFile(env.ledgerPath(), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			g, err := env.open(t)
			if err == nil {
				env.stop(g)
				t.Errorf("ledger %q: gateway.New started", content)
				continue
			}
			if !strings.Contains(err.Error(), env.ledgerPath()) || !strings.Contains(err.Error(), "corrupt") {
				t.Errorf("ledger %q: error %q, want the file %s and \"corrupt\"", content, err, env.ledgerPath())
			}
		}
	})

	t.Run("enforce_now blocks at once, with an event and a metric", func(t *testing.T) {
		env := newWAFEnv(t, wafKeys+"\n  enforce_now: [\"shop/web\"]", route("{mode: block}"))
		env.clock = newWAFClock()
		g := env.start(t)
		c := env.client(t, g)
		attack(t, g, c, sqli, http.StatusForbidden, "block", "enforced", "942100")
		e := g.awaitEvent("config", func(e map[string]any) bool {
			return e["level"] == "warn" && strings.Contains(fmt.Sprint(e["message"]), "enforce_now")
		})
		if d, _ := e["detail"].(map[string]any); d == nil || d["route"] != "shop/web" {
			t.Errorf("enforce_now event detail %v, want route shop/web", e["detail"])
		}
		opsWantMetric(t, opsScrape(t, g), "bulwark_waf_enforce_now_total", map[string]string{"route": "shop/web"}, 1)
	})

	t.Run("no enforce_now event without the override", func(t *testing.T) {
		env := newWAFEnv(t, wafKeys, route("{mode: detect}"))
		env.clock = newWAFClock()
		g := env.start(t)
		wafDo(t, g, env.client(t, g), "GET", sqli, nil, "") // the access record orders the events
		for _, e := range g.events.events("config") {
			if strings.Contains(fmt.Sprint(e["message"]), "enforce_now") {
				t.Errorf("enforce_now event without the override: %v", e)
			}
		}
		if v, ok := opsMetric(opsScrape(t, g), "bulwark_waf_enforce_now_total", map[string]string{"route": "shop/web"}); ok && v != 0 {
			t.Errorf("bulwark_waf_enforce_now_total = %v without the override", v)
		}
	})
}
