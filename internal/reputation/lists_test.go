package reputation

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/request"
)

func TestPrefixSet(t *testing.T) {
	set, err := parseList("t", []byte(`
10.0.0.0/8
10.1.0.0/16          # inside the one above: merged
192.0.2.1            # a bare address is a /32
198.51.100.0/25
198.51.100.128/25    # touches the one above: merged into a /24
::ffff:203.0.113.0/120   # IPv4-mapped: counts as IPv4
2001:db8::/32
2001:db8:ffff::1
fe80::/10
`), true)
	if err != nil {
		t.Fatal(err)
	}
	if set.entries != 9 || len(set.v4) != 4 || len(set.v6) != 2 {
		t.Errorf("entries %d, v4 spans %d, v6 spans %d; want 9, 4, 2", set.entries, len(set.v4), len(set.v6))
	}
	cases := []struct {
		ip   string
		want bool
	}{
		{"10.0.0.0", true}, {"10.255.255.255", true}, {"9.255.255.255", false}, {"11.0.0.0", false},
		{"192.0.2.1", true}, {"192.0.2.0", false}, {"192.0.2.2", false},
		{"198.51.100.0", true}, {"198.51.100.127", true}, {"198.51.100.128", true}, {"198.51.100.255", true}, {"198.51.101.0", false},
		{"203.0.113.77", true}, {"::ffff:203.0.113.77", true}, {"::ffff:10.2.3.4", true}, {"::ffff:11.2.3.4", false},
		{"2001:db8::1", true}, {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"2001:db9::", false}, {"2001:db7:ffff::", false},
		{"fe80::1%eth0", true}, {"::1", false}, {"0.0.0.0", false}, {"255.255.255.255", false},
	}
	for _, c := range cases {
		if got := set.contains(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("contains(%s) = %v, want %v", c.ip, got, c.want)
		}
	}
}

func TestPrefixSetFamiliesApart(t *testing.T) {
	all6, _ := parseList("t", []byte("::/0\n"), true)
	if all6.contains(netip.MustParseAddr("192.0.2.1")) || !all6.contains(netip.MustParseAddr("2001:db8::1")) {
		t.Error("::/0 must hold every IPv6 address and no IPv4 address")
	}
	all4, _ := parseList("t", []byte("0.0.0.0/0\n"), true)
	if !all4.contains(netip.MustParseAddr("255.255.255.255")) || !all4.contains(netip.MustParseAddr("::ffff:1.2.3.4")) || all4.contains(netip.MustParseAddr("::1")) {
		t.Error("0.0.0.0/0 must hold every IPv4 address (mapped too) and no IPv6 address")
	}
	var empty *prefixSet
	if empty.contains(netip.MustParseAddr("1.2.3.4")) {
		t.Error("a feed with no list yet must match nothing")
	}
}

func TestParseListErrors(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"garbage", "10.0.0.0/8\n# fine\nnot-an-address\n", "lists/deny.txt:3: expected an IP address or CIDR"},
		{"host bits", "\n10.0.0.1/8\n", "lists/deny.txt:2: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?"},
		{"two on a line", "10.0.0.0/8 192.0.2.1\n", "lists/deny.txt:1:"},
		{"bad length", "10.0.0.0/33\n", "lists/deny.txt:1:"},
		{"zone", "fe80::1%eth0\n", "lists/deny.txt:1:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseList("lists/deny.txt", []byte(c.data), true)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if set, err := parseList("feed", []byte("10.0.0.1/8 ; SBL123\n"), false); err != nil || !set.contains(netip.MustParseAddr("10.9.9.9")) {
		t.Errorf("a feed's host bits are masked and ; starts a comment: %v", err)
	}
}

func TestDenyListBlocks(t *testing.T) {
	p := basePolicy()
	p.Deny = []string{"192.0.2.0/24", "2001:db8:bad::/48"}
	p.DenyFiles = []string{"lists/deny.txt"}
	h := newHarness(t, Options{Policy: p, Files: files(map[string]string{
		"lists/deny.txt": "# known bad\n198.51.100.7   # a scanner\n\n2001:db8:beef::1\n",
	})})
	cases := []struct {
		ip, cause string // cause "" means the request passes
	}{
		{"192.0.2.44", "deny list reputation.deny"},
		{"::ffff:192.0.2.44", "deny list reputation.deny"},
		{"2001:db8:bad:1::5", "deny list reputation.deny"},
		{"198.51.100.7", "deny list lists/deny.txt"},
		{"2001:db8:beef::1", "deny list lists/deny.txt"},
		{"198.51.100.8", ""},
		{"2001:db8:beef::2", ""},
		{"203.0.113.1", ""},
	}
	for _, c := range cases {
		t.Run(c.ip, func(t *testing.T) {
			res := h.do(c.ip)
			if c.cause == "" {
				if res.status != http.StatusOK || !res.reached || len(res.state.Verdicts) != 0 {
					t.Fatalf("status %d reached %v verdicts %+v; want a pass", res.status, res.reached, res.state.Verdicts)
				}
				return
			}
			if res.status != http.StatusForbidden || res.reached {
				t.Fatalf("status %d reached %v; want 403 before the next stage", res.status, res.reached)
			}
			if got := res.blockCause(); got != c.cause {
				t.Errorf("cause %q, want %q", got, c.cause)
			}
		})
	}
	if got := metric(t, h.reg, "bulwark_reputation_decisions_total", "route", "shop/web", "action", "block", "source", "denylist"); got != 5 {
		t.Errorf("decisions{block,denylist} = %v, want 5", got)
	}
}

func TestAllowListSetsAllowlisted(t *testing.T) {
	p := basePolicy()
	p.Allow = []string{"10.0.0.0/8"}
	p.AllowFiles = []string{"allow.txt"}
	p.Deny = []string{"10.1.0.0/16", "2001:db8::/32"} // allow wins over deny
	p.Bans.Threshold = 1                              // and over bans
	h := newHarness(t, Options{Policy: p, Files: files(map[string]string{"allow.txt": "2001:db8:1::/48 # office\n"})})
	h.setNext(http.StatusForbidden) // a later stage (the WAF) blocks every time
	for _, ip := range []string{"10.1.2.3", "10.1.2.3", "10.1.2.3", "2001:db8:1::9"} {
		res := h.do(ip)
		if !res.reached || !res.state.Allowlisted || res.status != http.StatusForbidden {
			t.Fatalf("%s: reached %v allowlisted %v status %d; want the next stage to run and decide", ip, res.reached, res.state.Allowlisted, res.status)
		}
		if res.blockCause() != "" {
			t.Fatalf("%s: the reputation stage blocked an allowlisted client: %s", ip, res.blockCause())
		}
	}
	if res := h.do("2001:db8:2::9"); res.status != http.StatusForbidden || res.reached || res.state.Allowlisted {
		t.Errorf("outside the allow list the deny list applies: status %d reached %v", res.status, res.reached)
	}
	if got := metric(t, h.reg, "bulwark_reputation_decisions_total", "route", "shop/web", "action", "allow", "source", "allowlist"); got != 4 {
		t.Errorf("decisions{allow,allowlist} = %v, want 4", got)
	}
	if got := metric(t, h.reg, "bulwark_reputation_bans_active"); got != 0 {
		t.Errorf("allowlisted clients were banned: bans_active %v", got)
	}
}

func TestReconfigureBadListChangesNothing(t *testing.T) {
	p := basePolicy()
	p.DenyFiles = []string{"deny.txt"}
	fs := map[string]string{"deny.txt": "192.0.2.1\n", "bad.txt": "192.0.2.2\n# ok\n192.0.2.300\n"}
	h := newHarness(t, Options{Policy: p, Files: files(fs)})

	bad := basePolicy()
	bad.Deny = []string{"198.51.100.1"}
	bad.DenyFiles = []string{"deny.txt", "bad.txt"}
	err := h.r.Reconfigure(bad, files(fs))
	if err == nil || !strings.Contains(err.Error(), "bad.txt:3:") {
		t.Fatalf("error %v, want one naming bad.txt:3", err)
	}
	missing := basePolicy()
	missing.AllowFiles = []string{"nope.txt"}
	if err := h.r.Reconfigure(missing, files(fs)); err == nil || !strings.Contains(err.Error(), "nope.txt") {
		t.Fatalf("error %v, want one naming nope.txt", err)
	}
	if res := h.do("192.0.2.1"); res.status != http.StatusForbidden {
		t.Error("the old deny list must stay in force after a failed reload")
	}
	if res := h.do("198.51.100.1"); res.status != http.StatusOK {
		t.Error("nothing of the failed configuration may apply")
	}

	good := basePolicy()
	good.Deny = []string{"198.51.100.1"}
	if err := h.r.Reconfigure(good, files(fs)); err != nil {
		t.Fatal(err)
	}
	if h.do("192.0.2.1").status != http.StatusOK || h.do("198.51.100.1").status != http.StatusForbidden {
		t.Error("a good reload replaces the lists")
	}
}

func TestVerdictIsTheOneRenderer(t *testing.T) {
	p := basePolicy()
	p.Deny = []string{"192.0.2.0/24"}
	h := newHarness(t, Options{Policy: p})
	res := h.do("192.0.2.9")
	if len(res.state.Verdicts) != 1 {
		t.Fatalf("verdicts %+v", res.state.Verdicts)
	}
	v := res.state.Verdicts[0]
	if v.Layer != request.LayerReputation || v.Action != request.ActionBlock || v.Status != 403 || !v.Security() {
		t.Errorf("verdict %+v", v)
	}
}
