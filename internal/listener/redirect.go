package listener

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// ACMEChallengePrefix is the path the HTTP listener keeps for ACME HTTP-01
// challenges instead of redirecting.
const ACMEChallengePrefix = "/.well-known/acme-challenge/"

// Redirect answers plain-HTTP requests with 308 to the same URL over
// HTTPS on port (omitted when 443). 308, unlike 301, keeps the method and
// body. Only hosts the gateway serves are redirected (known reports them);
// anything else, and ACME challenge paths when acme is nil, goes to
// notFound, so the redirect is not an open redirector.
type Redirect struct {
	Port     int
	Known    func(host string) bool
	ACME     http.Handler
	NotFound http.Handler
}

func (rd *Redirect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ACMEChallengePrefix) {
		if rd.ACME != nil {
			rd.ACME.ServeHTTP(w, r)
			return
		}
		rd.NotFound.ServeHTTP(w, r)
		return
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !rd.Known(host) {
		rd.NotFound.ServeHTTP(w, r)
		return
	}
	if rd.Port != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(rd.Port))
	}
	target := "https://" + host + r.URL.RequestURI()
	w.Header().Set("Location", target)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusPermanentRedirect)
}
