// Package crs runs the OWASP CRS regression tests shipped in the
// coraza-coreruleset module through a real gateway over loopback.
//
// The tests are in the go-ftw YAML format (schema v2 of
// github.com/coreruleset/ftw-tests-schema): one file per rule, each with
// tests made of stages, each stage a request (input) and expectations
// about the response and the WAF log (output). This file is the model of
// that format, its loader, and the conversion of a stage's input into the
// bytes go-ftw would put on the wire.
package crs

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"

	yaml "go.yaml.in/yaml/v3"
)

// ftwFile is one test file: the tests of one rule.
type ftwFile struct {
	Meta   ftwMeta   `yaml:"meta"`
	RuleID int       `yaml:"rule_id"`
	Tests  []ftwTest `yaml:"tests"`
	// StrayAuthor is meta.author written at the top level by mistake
	// (932271.yaml in CRS v4.25.0); go-ftw ignores unknown keys.
	StrayAuthor string `yaml:"author"`

	Path string `yaml:"-"` // relative to the tests directory, e.g. REQUEST-942-.../942100.yaml
}

type ftwMeta struct {
	Author      string   `yaml:"author"`
	Enabled     *bool    `yaml:"enabled"` // deprecated and ignored, as go-ftw does
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Version     string   `yaml:"version"`
	Tags        []string `yaml:"tags"`
}

// ftwTest is one test case; its stages run in order.
type ftwTest struct {
	TestTitle string     `yaml:"test_title"` // deprecated
	TestID    int        `yaml:"test_id"`
	Desc      string     `yaml:"desc"`
	Stages    []ftwStage `yaml:"stages"`
	Tags      []string   `yaml:"tags"`

	RuleID int    `yaml:"-"`
	File   string `yaml:"-"`
}

// ID is the test's name as go-ftw and the exclusion list spell it:
// <rule id>-<test id>.
func (t *ftwTest) ID() string { return fmt.Sprintf("%d-%d", t.RuleID, t.TestID) }

type ftwStage struct {
	Description string    `yaml:"description"`
	Input       ftwInput  `yaml:"input"`
	Output      ftwOutput `yaml:"output"`
}

// ftwInput is the request of a stage. Pointers distinguish "absent" (a
// default applies) from "empty".
type ftwInput struct {
	DestAddr            *string           `yaml:"dest_addr"`
	Port                *int              `yaml:"port"`
	Protocol            *string           `yaml:"protocol"`
	URI                 *string           `yaml:"uri"`
	URIs                []string          `yaml:"uris"`
	FollowRedirect      *bool             `yaml:"follow_redirect"`
	Version             *string           `yaml:"version"`
	Method              *string           `yaml:"method"`
	Headers             map[string]string `yaml:"headers"`
	Data                *string           `yaml:"data"`
	EncodedData         *string           `yaml:"encoded_data"`
	SaveCookie          *bool             `yaml:"save_cookie"`
	StopMagic           *bool             `yaml:"stop_magic"`
	AutocompleteHeaders *bool             `yaml:"autocomplete_headers"`
	EncodedRequest      string            `yaml:"encoded_request"`
	RawRequest          string            `yaml:"raw_request"`
	VirtualHostMode     *bool             `yaml:"virtual_host_mode"`
	Response            *ftwResponse      `yaml:"response"`
}

// ftwResponse asks the backend for a response (albedo's /reflect).
type ftwResponse struct {
	Headers     map[string]string `yaml:"headers"`
	Status      int               `yaml:"status"`
	Body        string            `yaml:"body"`
	EncodedBody string            `yaml:"encoded_body"`
	LogMessage  string            `yaml:"log_message"`
}

// ftwOutput is what a stage expects.
type ftwOutput struct {
	Status           int    `yaml:"status"`
	ResponseContains string `yaml:"response_contains"`
	LogContains      string `yaml:"log_contains"`    // deprecated
	NoLogContains    string `yaml:"no_log_contains"` // deprecated
	Log              ftwLog `yaml:"log"`
	ExpectError      *bool  `yaml:"expect_error"`
	RetryOnce        *bool  `yaml:"retry_once"`
	Isolated         bool   `yaml:"isolated"`
}

type ftwLog struct {
	ExpectIDs    []int  `yaml:"expect_ids"`
	NoExpectIDs  []int  `yaml:"no_expect_ids"`
	MatchRegex   string `yaml:"match_regex"`
	NoMatchRegex string `yaml:"no_match_regex"`
}

// crsTestsDir returns the tests directory of the coraza-coreruleset
// module in the module cache, at the version go.mod requires.
func crsTestsDir() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/corazawaf/coraza-coreruleset/v4")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/corazawaf/coraza-coreruleset/v4: %v: %s", err, stderr.String())
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go list -m github.com/corazawaf/coraza-coreruleset/v4: module not downloaded (run go mod download)")
	}
	return filepath.Join(dir, "tests"), nil
}

// loadFTW reads every *.yaml below dir, strictly: an unknown key is an
// error, so a change of the format shows up here rather than as tests
// that silently check less. A file holding only comments has no tests.
func loadFTW(dir string) ([]*ftwFile, error) {
	var files []*ftwFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		f, err := parseFTW(data, filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if f != nil {
			files = append(files, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b *ftwFile) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

func parseFTW(data []byte, path string) (*ftwFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	f := &ftwFile{Path: path}
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) { // only comments: a file kept for the linter
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.RuleID == 0 {
		return nil, fmt.Errorf("%s: no rule_id", path)
	}
	seen := map[int]bool{}
	for i := range f.Tests {
		t := &f.Tests[i]
		if t.TestID == 0 { // the schema infers a missing ID from the position
			t.TestID = i + 1
		}
		if seen[t.TestID] {
			return nil, fmt.Errorf("%s: test_id %d appears twice", path, t.TestID)
		}
		seen[t.TestID] = true
		t.RuleID, t.File = f.RuleID, path
		if len(t.Stages) == 0 {
			return nil, fmt.Errorf("%s: test %s has no stages", path, t.ID())
		}
		for j, s := range t.Stages {
			// go-ftw refuses these combinations before sending anything.
			if (s.Input.Data != nil || s.Input.EncodedData != nil) && s.Input.EncodedRequest != "" {
				return nil, fmt.Errorf("%s: test %s stage %d: data and encoded_request together", path, t.ID(), j+1)
			}
			if s.Output.Isolated && len(s.Output.Log.ExpectIDs) != 1 {
				return nil, fmt.Errorf("%s: test %s stage %d: isolated needs exactly one expect_ids entry", path, t.ID(), j+1)
			}
		}
	}
	return f, nil
}

// header is one request header line, in the order it is sent.
type header struct{ name, value string }

// wireRequest is a stage's request as bytes, plus what the runner needs to
// read the answer.
type wireRequest struct {
	raw    []byte
	method string // for reading the response: a HEAD answer has no body
}

// buildRequest turns a stage's input into the bytes go-ftw sends:
// encoded_request (or the deprecated raw_request) verbatim; otherwise the
// request line as written, the headers sorted by name (go-ftw builds them
// from a map and sorts the names), then the body. With
// autocomplete_headers (the default) a body gets a form Content-Type if it
// has none and is form-encoded if it is a form and not encoded yet, and
// Connection: close and Content-Length are added when missing. Multipart
// bodies get CRLF line ends.
func buildRequest(in *ftwInput) (*wireRequest, error) {
	if in.EncodedRequest != "" || in.RawRequest != "" {
		enc := in.EncodedRequest
		if enc == "" {
			enc = in.RawRequest
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, fmt.Errorf("encoded_request: %w", err)
		}
		w := &wireRequest{raw: raw}
		if line, _, ok := bytes.Cut(raw, []byte(" ")); ok {
			w.method = string(line)
		}
		return w, nil
	}
	method, uri, version := "GET", "/", "HTTP/1.1"
	if in.Method != nil {
		method = *in.Method
	}
	if in.URI != nil {
		uri = *in.URI
	}
	if in.Version != nil {
		version = *in.Version
	}
	names := make([]string, 0, len(in.Headers))
	for k := range in.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	var hs []header
	for _, k := range names {
		hs = append(hs, header{k, in.Headers[k]})
	}
	data, err := stageData(in)
	if err != nil {
		return nil, err
	}
	autocomplete := in.AutocompleteHeaders == nil || *in.AutocompleteHeaders
	if in.StopMagic != nil && *in.StopMagic && in.AutocompleteHeaders == nil {
		autocomplete = false
	}
	if len(data) > 0 && autocomplete {
		if !hasHeader(hs, "Content-Type") {
			hs = append(hs, header{"Content-Type", "application/x-www-form-urlencoded"})
		}
		if hasHeaderValue(hs, "Content-Type", "application/x-www-form-urlencoded") {
			data = formEncode(data)
		}
	}
	for _, h := range hs {
		if textproto.CanonicalMIMEHeaderKey(h.name) == "Content-Type" && strings.Contains(strings.ToLower(h.value), "multipart/form-data;") {
			data = bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
			break
		}
	}
	if autocomplete {
		if !hasHeader(hs, "Connection") {
			hs = append(hs, header{"Connection", "close"})
		}
		if !hasHeader(hs, "Content-Length") && (len(data) > 0 || methodWithBody(method)) {
			hs = append(hs, header{"Content-Length", strconv.Itoa(len(data))})
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s %s\r\n", method, uri, version)
	for _, h := range hs {
		fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
	}
	b.WriteString("\r\n")
	b.Write(data)
	return &wireRequest{raw: b.Bytes(), method: method}, nil
}

// methodWithBody mirrors go-ftw's `^POST|PUT|PATCH|DELETE$`: an
// unanchored alternation, so a method starting with POST or ending in
// PUT, PATCH or DELETE (anywhere, in fact, for the middle two) counts.
func methodWithBody(m string) bool {
	return strings.HasPrefix(m, "POST") || strings.Contains(m, "PUT") || strings.Contains(m, "PATCH") || strings.HasSuffix(m, "DELETE")
}

func hasHeader(hs []header, name string) bool {
	for _, h := range hs {
		if textproto.CanonicalMIMEHeaderKey(h.name) == name {
			return true
		}
	}
	return false
}

func hasHeaderValue(hs []header, name, value string) bool {
	for _, h := range hs {
		if textproto.CanonicalMIMEHeaderKey(h.name) == name && strings.EqualFold(h.value, value) {
			return true
		}
	}
	return false
}

// stageData is the body: data (a Go template, which the CRS tests use
// only as {{ "x" | repeat N }}), or encoded_data decoded. Like go-ftw, a
// template that does not parse gives no body.
func stageData(in *ftwInput) ([]byte, error) {
	if in.Data != nil {
		t, err := template.New("data").Funcs(template.FuncMap{
			"repeat": func(n int, s string) string { return strings.Repeat(s, n) },
		}).Parse(*in.Data)
		if err != nil {
			return nil, nil
		}
		var b bytes.Buffer
		if err := t.Execute(&b, nil); err != nil {
			return nil, nil
		}
		return b.Bytes(), nil
	}
	if in.EncodedData != nil {
		d, err := base64.StdEncoding.DecodeString(*in.EncodedData)
		if err != nil {
			return nil, fmt.Errorf("encoded_data: %w", err)
		}
		return d, nil
	}
	return nil, nil
}

// formEncode encodes key=value pairs the way go-ftw does: only when the
// data is not encoded already (unescaping changes nothing), each key and
// value query-escaped, the separators kept, a trailing & dropped.
func formEncode(data []byte) []byte {
	s := string(data)
	if u, err := url.QueryUnescape(s); err != nil || u != s {
		return data
	}
	var b strings.Builder
	for rest := s; rest != ""; {
		tok, after, _ := strings.Cut(rest, "&")
		rest = after
		if k, v, ok := strings.Cut(tok, "="); ok {
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
		} else {
			b.WriteString(url.QueryEscape(tok))
		}
		b.WriteByte('&')
	}
	return []byte(strings.TrimSuffix(b.String(), "&"))
}
