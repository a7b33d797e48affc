package challenge

import (
	"net/http"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/request"
	"github.com/bulwark-sec/bulwark/internal/signals"
)

// The suspicion score of a route with challenge: suspicious adds these
// weights; a client whose score reaches challenge.suspicious_threshold
// (default 3) is challenged. The signals are ones the gateway already
// has. Something another layer has judged (the WAF scored a recent request,
// a reputation greylist listed the address) weighs two; circumstantial
// evidence (a client near its rate budget, a missing browser header)
// weighs one, so at the default threshold one judgement plus one
// circumstance, or three circumstances, make a client suspicious.
const (
	// WeightRateUsage: the client has used 80% or more of its rate budget
	// on the route (State.RateUsage, from the rate-limit stage).
	WeightRateUsage = 1
	// WeightRecentWAF: a recent request from the same address had a WAF
	// anomaly score above zero (signals.Recent).
	WeightRecentWAF = 2
	// WeightGreylist: a reputation feed or DNSBL greylists the address
	// (State.Greylisted).
	WeightGreylist = 2
	// WeightMissingHeader, each: no Accept-Language; no Accept; a
	// User-Agent that is empty or not a browser's.
	WeightMissingHeader = 1
)

const rateUsageSuspicious = 0.8

// score is the client's suspicion score and the names of the signals
// that made it, for the event.
func score(r *http.Request, s *request.State, recent *signals.Recent) (int, []string) {
	n, why := 0, []string(nil)
	add := func(w int, name string) { n += w; why = append(why, name) }
	if s.RateUsage >= rateUsageSuspicious {
		add(WeightRateUsage, "rate usage")
	}
	if recent != nil && recent.WAFScore(s.ClientIP) > 0 {
		add(WeightRecentWAF, "recent WAF score")
	}
	if s.Greylisted {
		add(WeightGreylist, "greylisted")
	}
	if r.Header.Get("Accept-Language") == "" {
		add(WeightMissingHeader, "no Accept-Language")
	}
	if r.Header.Get("Accept") == "" {
		add(WeightMissingHeader, "no Accept")
	}
	if !browserUA(r.Header.Get("User-Agent")) {
		add(WeightMissingHeader, "not a browser User-Agent")
	}
	return n, why
}

// browserUA reports whether ua looks like a browser's: every current
// browser starts its User-Agent with "Mozilla/5.0 (", and declared
// robots and headless browsers say so in it. A liar passes this signal;
// it is one signal among several.
func browserUA(ua string) bool {
	if !strings.HasPrefix(ua, "Mozilla/5.0 (") {
		return false
	}
	l := strings.ToLower(ua)
	for _, robot := range []string{"bot", "crawl", "spider", "headless", "curl", "python", "wget"} {
		if strings.Contains(l, robot) {
			return false
		}
	}
	return true
}
