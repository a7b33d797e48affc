package waf

import (
	"strconv"
	"strings"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"

	"github.com/bulwark-sec/bulwark/internal/request"
)

// maxData is how much matched data an event keeps per rule: enough to see
// the attack, not enough to turn the event log into a copy of traffic.
const maxData = 120

// matches returns the logging rules tx matched, for a security event, with
// matched data truncated and credentials redacted.
func matches(tx types.Transaction) []request.Rule {
	var out []request.Rule
	for _, mr := range tx.MatchedRules() {
		if l, ok := mr.(interface{ Log() bool }); ok && !l.Log() {
			continue
		}
		md := mr.Rule()
		if md.ID() == 0 {
			continue
		}
		out = append(out, request.Rule{
			ID:       strconv.Itoa(md.ID()),
			Message:  mr.Message(),
			Severity: severity(md.Severity()),
			Data:     redactedData(mr),
		})
	}
	return out
}

func severity(s types.RuleSeverity) string {
	if str := s.String(); str != "unknown" {
		return str
	}
	return ""
}

// inboundScore reads the CRS inbound anomaly score of tx.
func inboundScore(tx types.Transaction) int { return txInt(tx, "blocking_inbound_anomaly_score") }

// outboundScore reads the CRS outbound anomaly score of tx.
func outboundScore(tx types.Transaction) int { return txInt(tx, "blocking_outbound_anomaly_score") }

func txInt(tx types.Transaction, name string) int {
	st, ok := tx.(plugintypes.TransactionState)
	if !ok {
		return 0
	}
	vs := st.Variables().TX().Get(name)
	if len(vs) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(vs[0])
	return n
}

// sensitive reports whether a matched variable holds a credential: the
// Authorization and Cookie headers, any cookie value, and arguments named
// like passwords, tokens and secrets.
func sensitive(v variables.RuleVariable, key string) bool {
	switch v {
	case variables.RequestCookies:
		return true
	case variables.RequestHeaders:
		k := strings.ToLower(key)
		return k == "authorization" || k == "cookie" || k == "proxy-authorization" || request.CredentialName(k)
	case variables.Args, variables.ArgsGet, variables.ArgsPost, variables.JSON, variables.XML:
		return request.CredentialName(key)
	}
	return false
}

// redactedData is the rule's log data, truncated, unless the rule matched
// a credential: then nothing of what matched is kept, only where. Log data
// quotes the matched fragment, which may be any part of the secret, so
// replacing the whole value is not enough.
func redactedData(mr types.MatchedRule) string {
	for _, md := range mr.MatchedDatas() {
		if sensitive(md.Variable(), md.Key()) {
			where := md.Variable().Name()
			if md.Key() != "" {
				where += ":" + md.Key()
			}
			return "[redacted] (matched within " + where + ")"
		}
	}
	return truncate(mr.Data(), maxData)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
