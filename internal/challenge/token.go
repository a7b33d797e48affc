package challenge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// A token is keyID "." payload "." mac, payload and mac in unpadded
// base64url, so it fits a cookie and a form field unchanged. The MAC
// covers a purpose label first, so a challenge token can never pass as a
// pass cookie or the other way round.
const (
	purposePass      = "bulwark pass v1"
	purposeChallenge = "bulwark challenge v1"
	maxTokenLen      = 4096
)

var (
	errNoPass      = errors.New("no pass cookie")
	errSeal        = errors.New("seal does not verify")
	errRetiredKey  = errors.New("signing key unknown or retired")
	errExpired     = errors.New("expired")
	errOtherTenant = errors.New("issued for another tenant")
	errOtherPrefix = errors.New("issued to another IP prefix")
	errNoClientIP  = errors.New("no client IP")
)

// pass is the payload of a pass cookie.
type pass struct {
	Tenant  string `json:"t"`
	Prefix  string `json:"p"`
	Expires int64  `json:"e"`
}

// puzzle is the payload of a challenge token.
type puzzle struct {
	Nonce      []byte `json:"n"`
	Difficulty int    `json:"d"`
	Expires    int64  `json:"e"`
	Tenant     string `json:"t"`
	Route      string `json:"r"`
	Return     string `json:"u"`
}

// seal signs v for purpose with the ring's current key.
func (c *Challenger) seal(purpose string, v any) (string, error) {
	p := c.policy()
	k := c.ring.signing(c.now(), p.KeyRotation.D(), p.KeyOverlap.D())
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	head := k.ID + "." + base64.RawURLEncoding.EncodeToString(body)
	return head + "." + base64.RawURLEncoding.EncodeToString(mac(k.Secret, purpose, head)), nil
}

// open verifies token for purpose, in constant time, and decodes its
// payload into v. Expiry and binding are the caller's to check.
func (c *Challenger) open(purpose, token string, v any) error {
	if len(token) > maxTokenLen {
		return errSeal
	}
	id, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return errSeal
	}
	p := c.policy()
	k, ok := c.ring.verifying(id, c.now(), p.KeyRotation.D(), p.KeyOverlap.D())
	if !ok {
		return errRetiredKey
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(k.Secret, purpose, id+"."+payload)) {
		return errSeal
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(body, v) != nil {
		return errSeal // sealed by us, so never in practice
	}
	return nil
}

func mac(secret []byte, purpose, head string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(head))
	return m.Sum(nil)
}

// checkPass reports why r carries no valid pass for tenant from ip, or nil.
func (c *Challenger) checkPass(r *http.Request, tenant string, ip netip.Addr) error {
	ck, err := r.Cookie(cookieName(tenant))
	if err != nil {
		return errNoPass
	}
	var ps pass
	if err := c.open(purposePass, ck.Value, &ps); err != nil {
		return err
	}
	if ps.Tenant != tenant {
		return errOtherTenant
	}
	pre, err := clientPrefix(ip, c.policy())
	if err != nil {
		return err
	}
	if ps.Prefix != pre.String() {
		return errOtherPrefix
	}
	if !c.now().Before(time.Unix(ps.Expires, 0)) {
		return errExpired
	}
	return nil
}

// issuePass sets the pass cookie of tenant for ip.
func (c *Challenger) issuePass(w http.ResponseWriter, tenant string, ip netip.Addr) error {
	p := c.policy()
	pre, err := clientPrefix(ip, p)
	if err != nil {
		return err
	}
	ttl := p.PassTTL.D()
	tok, err := c.seal(purposePass, pass{Tenant: tenant, Prefix: pre.String(), Expires: c.now().Add(ttl).Unix()})
	if err != nil {
		return err
	}
	// Max-Age rather than Expires: the browser counts from its own clock.
	http.SetCookie(w, &http.Cookie{Name: cookieName(tenant), Value: tok, Path: "/", MaxAge: max(1, int(ttl.Seconds())),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

// cookieName is the pass cookie of tenant. Tenant names are DNS labels,
// valid in a cookie name.
func cookieName(tenant string) string { return CookiePrefix + tenant }

// clientPrefix is the network a pass is bound to: ip masked to the
// policy's prefix length for its family.
func clientPrefix(ip netip.Addr, p config.ChallengePolicy) (netip.Prefix, error) {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return netip.Prefix{}, errNoClientIP
	}
	bits := p.IPv6Prefix
	if ip.Is4() {
		bits = p.IPv4Prefix
	}
	return ip.Prefix(bits)
}

// returnPath is where a solved challenge sends the client back to: the
// request's path and query, on the same host.
func returnPath(r *http.Request) string { return safeReturn(r.URL.RequestURI()) }

// safeReturn keeps u only if it is a plain local path: a leading "//" or
// "/\" would make browsers leave the host (an open redirect), so those,
// control characters, the solution path itself and overlong paths become
// "/".
func safeReturn(u string) string {
	if len(u) > 2048 || !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") || strings.HasPrefix(u, `/\`) {
		return "/"
	}
	for i := 0; i < len(u); i++ {
		if u[i] < 0x21 || u[i] == 0x7f {
			return "/"
		}
	}
	if p, _, _ := strings.Cut(u, "?"); p == SolutionPath {
		return "/"
	}
	return u
}
