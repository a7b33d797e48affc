// Package events writes the gateway's records as JSON lines: one access
// record per request, one security event per decision a security layer
// makes (INV-9), and notices about the gateway itself (reloads, start,
// stop). Sinks are stdout and files.
package events

import (
	"time"

	"github.com/bulwark-sec/bulwark/internal/request"
)

// Access is the record of one request, written when it completes.
type Access struct {
	Time       time.Time `json:"time"`
	Type       string    `json:"type"` // "access"
	RequestID  string    `json:"request_id"`
	SrcIP      string    `json:"src_ip"`
	Host       string    `json:"host"`
	Method     string    `json:"method"`
	URI        string    `json:"uri"`
	Proto      string    `json:"proto"`
	TLSVersion string    `json:"tls_version,omitempty"`
	Route      string    `json:"route,omitempty"`
	Tenant     string    `json:"tenant,omitempty"`
	Status     int       `json:"status"`
	Bytes      int64     `json:"bytes"`
	DurationMS float64   `json:"duration_ms"`
	Upstream   string    `json:"upstream,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
}

// Security is one decision of a security layer about one request: what
// was decided, by which layer and rules, about which request from where.
// It carries everything INV-9 asks for: source IP, target, rule, time.
type Security struct {
	Time      time.Time      `json:"time"`
	Type      string         `json:"type"` // "security"
	RequestID string         `json:"request_id"`
	SrcIP     string         `json:"src_ip"`
	Host      string         `json:"host"`
	Method    string         `json:"method"`
	URI       string         `json:"uri"`
	Route     string         `json:"route,omitempty"`
	Tenant    string         `json:"tenant,omitempty"`
	Layer     request.Layer  `json:"layer"`
	Action    request.Action `json:"action"`
	Mode      string         `json:"mode,omitempty"`
	Rules     []request.Rule `json:"rules"`
	Score     int            `json:"anomaly_score,omitempty"`
	RuleSet   string         `json:"ruleset,omitempty"`
	Candidate bool           `json:"candidate,omitempty"`
	Status    int            `json:"status"`
	Reason    string         `json:"reason,omitempty"`
}

// Notice is an event about the gateway itself: a configuration reload and
// its result, start, drain, stop.
type Notice struct {
	Time    time.Time      `json:"time"`
	Type    string         `json:"type"` // "config", "lifecycle"
	Level   string         `json:"level"`
	Message string         `json:"message"`
	Detail  map[string]any `json:"detail,omitempty"`
}
