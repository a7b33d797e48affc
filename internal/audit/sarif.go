package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// SARIF 2.1.0, the subset code-scanning UIs read: one run, the checks as
// rules, findings as results located by file and start line. GitHub's
// code scanning also wants, and gets: a ruleId with a matching ruleIndex
// on every result, one location per result with a relative URI under the
// %SRCROOT% base (the audited path, so upload from the repository root),
// no region when the line is unknown (startLine is 1-based, never 0) and
// partialFingerprints that survive lines moving, so an alert stays one
// alert across commits.
const (
	sarifVersion = "2.1.0"
	// sarifSchema is the OASIS schema the output is validated against in
	// sarif_test.go.
	sarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// sarifRoot is the uriBaseId of every location: the audited path.
	sarifRoot = "%SRCROOT%"
	// sarifFingerprint names the fingerprint recipe; a change of recipe
	// changes the name, not the meaning of the old one.
	sarifFingerprint = "bulwarkFinding/v1"
	toolName         = "bulwark"
	toolURI          = "https://github.com/bulwark-sec/bulwark"
)

type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string          `json:"id"`
	ShortDescription sarifMessage    `json:"shortDescription"`
	FullDescription  sarifMessage    `json:"fullDescription"`
	Help             sarifMessage    `json:"help"`
	Properties       sarifProperties `json:"properties"`
}

type sarifProperties struct {
	Tags []string `json:"tags"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

func writeSARIF(w io.Writer, res *Result) error {
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: toolName, InformationURI: toolURI, Rules: []sarifRule{}}},
		Results: []sarifResult{},
	}
	index := map[string]int{}
	for i, c := range res.Checks {
		index[c.ID()] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID:               c.ID(),
			ShortDescription: sarifMessage{Text: c.Title()},
			FullDescription:  sarifMessage{Text: c.Rule()},
			Help:             sarifMessage{Text: c.Rule()},
			Properties:       sarifProperties{Tags: []string{"security"}},
		})
	}
	seen := map[string]int{}
	for _, f := range res.Findings {
		loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifactFor(f.File)}}
		if f.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line}
		}
		run.Results = append(run.Results, sarifResult{
			RuleID:              f.Check,
			RuleIndex:           index[f.Check],
			Level:               f.Severity.String(),
			Message:             sarifMessage{Text: sarifText(f)},
			Locations:           []sarifLocation{loc},
			PartialFingerprints: map[string]string{sarifFingerprint: fingerprint(f, seen)},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Version: sarifVersion, Schema: sarifSchema, Runs: []sarifRun{run}})
}

// sarifArtifactFor locates file: a relative path becomes a URI reference
// under %SRCROOT% (escaped, so a space or '#' in a name stays a valid
// URI); an absolute one, which a check reports only for a file outside the
// audited path, a file URI. A finding about the repository as a whole
// ("" or ".") points at the audited path itself, since code-scanning UIs
// reject a result without a location.
func sarifArtifactFor(file string) sarifArtifact {
	if file == "" {
		file = "."
	}
	if path.IsAbs(file) {
		return sarifArtifact{URI: (&url.URL{Scheme: "file", Path: file}).String()}
	}
	return sarifArtifact{URI: (&url.URL{Path: file}).String(), URIBaseID: sarifRoot}
}

// fingerprint identifies a finding by what it is, not by its line, so an
// edit above it does not open a new alert: the check, file, object and
// message (and field), and an occurrence count for findings that are otherwise the
// same. seen counts the occurrences so far.
func fingerprint(f Finding, seen map[string]int) string {
	key := strings.Join([]string{f.Check, f.File, f.Object, f.Field, f.Message}, "\x00")
	seen[key]++
	if n := seen[key]; n > 1 {
		key += "\x00" + strconv.Itoa(n)
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// sarifText is the result's message: object, problem and fix in one text,
// since code-scanning UIs show only the message.
func sarifText(f Finding) string {
	s := f.Message
	if what := subject(f); what != "" {
		s = what + ": " + s
	}
	if f.Remediation != "" {
		s += ". Fix: " + f.Remediation
	}
	return s
}
