package audit

import (
	"encoding/json"
	"io"
)

// SARIF 2.1.0, the subset code-scanning UIs read: one run, the checks as
// rules, findings as results located by file (relative to the audited
// path, forward slashes) and start line.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	toolName     = "bulwark"
	toolURI      = "https://github.com/bulwark-sec/bulwark"
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
	ID               string       `json:"id"`
	ShortDescription sarifMessage `json:"shortDescription"`
	FullDescription  sarifMessage `json:"fullDescription"`
	Help             sarifMessage `json:"help"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

func writeSARIF(w io.Writer, res *Result) error {
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: toolName, InformationURI: toolURI}},
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
		})
	}
	for _, f := range res.Findings {
		r := sarifResult{RuleID: f.Check, RuleIndex: index[f.Check], Level: f.Severity.String(), Message: sarifMessage{Text: sarifText(f)}}
		if f.File != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: f.File}}}
			if f.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line}
			}
			r.Locations = []sarifLocation{loc}
		}
		run.Results = append(run.Results, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Version: sarifVersion, Schema: sarifSchema, Runs: []sarifRun{run}})
}

// sarifText is the result's message: object, problem and fix in one text,
// since code-scanning UIs show only the message.
func sarifText(f Finding) string {
	s := f.Message
	if f.Object != "" {
		s = f.Object + ": " + s
	}
	if f.Remediation != "" {
		s += ". Fix: " + f.Remediation
	}
	return s
}
