package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/manifest"
)

// Repo is a repository loaded once for every check.
type Repo struct {
	// Root is the audited path as given.
	Root string
	// Objects are the Kubernetes objects, File relative to Root.
	Objects []Object
	// Config is Bulwark's configuration when Root has a platform.yaml
	// that loads; nil otherwise.
	Config *config.Config
	// LoadFindings are the files and documents that could not be read.
	LoadFindings []Finding
	// Git is the work tree holding Root; nil when Root is not in one.
	Git *Git

	base    string            // the directory File names are relative to
	sources map[string][]byte // file contents read by locate

	networkOnce sync.Once
	network     *network // the simulation INV-5…8 share
}

// Object is a manifest with its content decoded loosely: checks read the
// fields they need and ignore the rest.
type Object struct {
	manifest.Object
	Fields map[string]any
}

// Ref is kind namespace/name, as findings name objects.
func (o Object) Ref() string { return objectName(o.Kind, o.Namespace, o.Object.Name) }

// finding locates a finding at o.
func (o Object) finding(check string, sev Severity, msg, fix string) Finding {
	return Finding{Check: check, Severity: sev, File: o.File, Line: o.Line, Object: o.Ref(), Message: msg, Remediation: fix}
}

// ErrUnreadable is returned when the path itself cannot be read.
var ErrUnreadable = errors.New("unreadable")

// Load reads the repository at root: every *.yaml, *.yml and *.json file
// outside dot-directories as Kubernetes manifests, except Bulwark's own
// platform.yaml and tenants/ when root has a platform.yaml, which are
// loaded as Bulwark configuration instead. Only an unreadable root is an
// error; every other problem is a LOAD finding.
func Load(root string) (*Repo, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("audit: %w: %v", ErrUnreadable, err)
	}
	r := &Repo{Root: root, Git: openGit(root), base: root}
	if !info.IsDir() {
		r.base = filepath.Dir(root)
	}
	base := r.base
	hasConfig := info.IsDir() && fileExists(filepath.Join(root, config.PlatformFile))
	if hasConfig {
		r.loadConfig()
	}
	files, err := manifestFiles(root, hasConfig)
	if err != nil {
		return nil, fmt.Errorf("audit: %w: %v", ErrUnreadable, err)
	}
	for _, f := range files {
		rel := relSlash(base, f)
		data, err := os.ReadFile(f)
		if err != nil {
			r.LoadFindings = append(r.LoadFindings, Finding{Check: LoadID, Severity: Error, File: rel, Message: "cannot read: " + err.Error()})
			continue
		}
		objs, errs := manifest.Parse(rel, data)
		for _, e := range errs {
			r.LoadFindings = append(r.LoadFindings, loadFinding(rel, e))
		}
		for _, o := range objs {
			var m map[string]any
			if err := json.Unmarshal(o.JSON, &m); err != nil {
				r.LoadFindings = append(r.LoadFindings, Finding{Check: LoadID, Severity: Error, File: rel, Line: o.Line, Message: err.Error()})
				continue
			}
			r.Objects = append(r.Objects, Object{Object: o, Fields: m})
		}
	}
	return r, nil
}

// loadFinding turns a manifest error into a finding. YAML that is not a
// Kubernetes object (a values file, an expectations file) is only a note:
// it is not audited, but nothing in it is broken.
func loadFinding(rel string, err error) Finding {
	f := Finding{Check: LoadID, Severity: Error, File: rel, Message: err.Error(),
		Remediation: "fix the file's syntax so it can be audited"}
	var me *manifest.Error
	if errors.As(err, &me) {
		f.Line, f.Message = me.Line, me.Msg
		if strings.HasPrefix(me.Msg, "missing apiVersion or kind") || strings.HasPrefix(me.Msg, "expected a Kubernetes object") {
			f.Severity = Note
			f.Message = "not a Kubernetes object, not audited: " + me.Msg
			f.Remediation = ""
		}
	}
	return f
}

func (r *Repo) loadConfig() {
	cfg, err := config.LoadDir(r.Root)
	if err == nil {
		r.Config = cfg
		return
	}
	var errs config.Errors
	if !errors.As(err, &errs) {
		r.LoadFindings = append(r.LoadFindings, Finding{Check: LoadID, Severity: Error, File: config.PlatformFile, Message: err.Error()})
		return
	}
	for _, e := range errs {
		msg := e.Msg
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
		r.LoadFindings = append(r.LoadFindings, Finding{Check: LoadID, Severity: Error, File: relSlash(r.Root, e.File), Line: e.Line,
			Message: "Bulwark configuration: " + msg, Remediation: "run 'bulwark config check' and fix the configuration"})
	}
}

// manifestFiles lists the manifest files under root in name order,
// skipping dot-directories and, with skipConfig, Bulwark's configuration.
func manifestFiles(root string, skipConfig bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := relSlash(root, p)
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || (skipConfig && rel == config.TenantDir)) {
				return filepath.SkipDir
			}
			return nil
		}
		if skipConfig && rel == config.PlatformFile {
			return nil
		}
		switch filepath.Ext(p) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// relSlash is p relative to base with forward slashes, or p itself when it
// is not under base.
func relSlash(base, p string) string {
	if rel, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}

// Kind returns the objects of one kind, in load order.
func (r *Repo) Kind(kind string) []Object {
	var out []Object
	for _, o := range r.Objects {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// field walks o's content along keys, returning nil where the path ends.
func field(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := field(v, keys...).(string)
	return s
}

func list(v any, keys ...string) []any {
	l, _ := field(v, keys...).([]any)
	return l
}

func mapping(v any, keys ...string) map[string]any {
	m, _ := field(v, keys...).(map[string]any)
	return m
}

// files lists the files holding objects of the given kinds.
func (r *Repo) files(kinds ...string) []string {
	var out []string
	for _, o := range r.Objects {
		if slices.Contains(kinds, o.Kind) {
			out = append(out, o.File)
		}
	}
	return out
}

// evidence is files(kinds...) plus Bulwark's configuration files when the
// repository has them: the checks that read both cite both.
func (r *Repo) evidence(kinds ...string) []string {
	out := r.files(kinds...)
	if r.Config != nil {
		out = append(out, r.ConfigFiles()...)
	}
	return out
}

// ConfigFiles are Bulwark's configuration files: platform.yaml and the
// tenant files, relative to Root.
func (r *Repo) ConfigFiles() []string {
	if r.Config == nil {
		return nil
	}
	return r.Config.Files()
}

// workloadKinds are the kinds INV-1 reads: the ways in and the pods.
var workloadKinds = []string{"Ingress", "Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute", "Service", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}

// locate moves each finding with a Field from its object's first line to
// the field's line, reading each file once.
func (r *Repo) locate(fs []Finding) {
	for i, f := range fs {
		if f.Field == "" || f.Line == 0 {
			continue
		}
		data, ok := r.sources[f.File]
		if !ok {
			data, _ = os.ReadFile(filepath.Join(r.base, filepath.FromSlash(f.File)))
			if r.sources == nil {
				r.sources = map[string][]byte{}
			}
			r.sources[f.File] = data
		}
		fs[i].Line = manifest.FieldLine(data, f.Line, fieldPath(f.Field))
	}
}

// fieldPath splits spec.tls[0].secretName or
// metadata.annotations[example.com/key] into its keys.
func fieldPath(field string) []string {
	var out []string
	for field != "" {
		switch field[0] {
		case '.':
			field = field[1:]
		case '[':
			end := strings.IndexByte(field, ']')
			if end < 0 {
				return append(out, field[1:])
			}
			out = append(out, field[1:end])
			field = field[end+1:]
		default:
			end := strings.IndexAny(field, ".[")
			if end < 0 {
				end = len(field)
			}
			out = append(out, field[:end])
			field = field[end:]
		}
	}
	return out
}
