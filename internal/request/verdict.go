package request

import (
	"net/http"
	"regexp"
)

// Layer names the part of the gateway that made a decision. Layers are a
// fixed set so they can be metric labels.
type Layer string

// The layers of the RFC's model that the gateway implements, plus the
// gateway's own plumbing (routing and proxying).
const (
	LayerRoute      Layer = "route"
	LayerReputation Layer = "reputation"
	LayerRateLimit  Layer = "ratelimit"
	LayerBot        Layer = "bot"
	LayerWAF        Layer = "waf"
	LayerProxy      Layer = "proxy"
	LayerGateway    Layer = "gateway"
)

// Action is what a layer did. Like Layer it is a bounded metric label.
type Action string

// Actions. Block, Throttle and Challenge stop the request; Detect records
// what enforcement would have done and lets it pass; Log records matches
// that stay below the blocking threshold; Error is a failure of the
// gateway or a backend, not a judgement about the client.
const (
	ActionBlock     Action = "block"
	ActionDetect    Action = "detected"
	ActionThrottle  Action = "throttle"
	ActionChallenge Action = "challenge"
	ActionReject    Action = "reject"
	ActionLog       Action = "log"
	ActionError     Action = "error"
)

// Rule identifies a rule that matched, for security events.
type Rule struct {
	ID       string `json:"id"`
	Message  string `json:"message,omitempty"`
	Severity string `json:"severity,omitempty"`
	// Data is what matched, truncated, credentials redacted.
	Data string `json:"data,omitempty"`
}

// Verdict is a stage's decision about a request. It carries everything the
// responder needs to answer the client and everything the event log needs
// to explain the decision; Cause never reaches the client.
type Verdict struct {
	Layer  Layer
	Action Action
	// Status is the HTTP status the client gets; 0 for decisions that let
	// the request pass (detection).
	Status int
	// Message is the short public text shown to the client. Empty means
	// the standard text for Status.
	Message string
	// Cause is the internal reason, for the log only.
	Cause string
	// Rules lists matched rules, if the layer has rules.
	Rules []Rule
	// Header holds extra response headers (Retry-After, Location, …).
	Header http.Header
	// Mode is the mode of the layer that decided: "detect" or "block".
	Mode string
	// Score is the WAF's inbound (or outbound) anomaly score.
	Score int
	// RuleSet says which WAF rule set decided: "enforced", "pending" (a
	// new rule set serving its detection period beside the enforced one)
	// or "candidate" (the platform's shadow set).
	RuleSet string
}

// Security reports whether the verdict is a security decision (as opposed
// to a routing miss or an upstream failure), which makes it a security
// event under INV-9.
func (v Verdict) Security() bool {
	switch v.Layer {
	case LayerReputation, LayerRateLimit, LayerBot, LayerWAF:
		return true
	}
	return false
}

// credentialName matches parameter, argument, cookie and header names
// whose values are credentials.
var credentialName = regexp.MustCompile(`(?i)pass|pwd|token|secret|auth|session|api[-_]?key|credential|signature|sig$`)

// CredentialName reports whether a parameter, argument or header named
// name carries a credential, whose value must never reach an event: the
// WAF's matched data and the event log's URIs both redact by this rule.
func CredentialName(name string) bool { return credentialName.MatchString(name) }
