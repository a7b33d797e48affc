// Package manifest loads Kubernetes manifests from files and directories:
// multi-document YAML (rendered Helm or kustomize output included), JSON,
// and List objects, each object with the file and line it came from. A
// document that cannot be read is an error naming its file and line, and
// loading goes on with the rest: the policy simulator and the auditor both
// report on a whole repository, not on its first broken file.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Object is one Kubernetes object.
type Object struct {
	// File and Line locate the start of the object's document.
	File string
	Line int

	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// JSON is the object, for Decode.
	JSON []byte
}

// String names the object for messages: kind namespace/name (file:line).
func (o Object) String() string {
	id := o.Name
	if o.Namespace != "" {
		id = o.Namespace + "/" + o.Name
	}
	return fmt.Sprintf("%s %s (%s:%d)", o.Kind, id, o.File, o.Line)
}

// Decode unmarshals the object into v, refusing fields v does not have:
// a typo in a manifest must not silently drop a rule.
func (o Object) Decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(o.JSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{File: o.File, Line: o.Line, Msg: fmt.Sprintf("%s %s: %v", o.Kind, o.Name, err)}
	}
	return nil
}

// Error is a document that could not be read.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Load reads every manifest under paths (files, or directories walked for
// *.yaml, *.yml and *.json, in name order). It returns the objects it
// could read and an error for each document it could not.
func Load(paths ...string) ([]Object, []error) {
	var objs []Object
	var errs []error
	for _, p := range paths {
		files, err := manifestFiles(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, &Error{File: f, Msg: err.Error()})
				continue
			}
			o, e := Parse(f, data)
			objs = append(objs, o...)
			errs = append(errs, e...)
		}
	}
	return objs, errs
}

func manifestFiles(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, &Error{File: p, Msg: unwrapPath(err).Error()}
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != p {
			return filepath.SkipDir // .git and the like
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads the objects of one file's content; name is used in errors.
func Parse(name string, data []byte) ([]Object, []error) {
	var objs []Object
	var errs []error
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The YAML stream cannot be resynchronized after a syntax
			// error; report it and give up on the rest of this file.
			errs = append(errs, &Error{File: name, Line: errLine(err), Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
			break
		}
		o, e := fromNode(name, &doc)
		objs = append(objs, o...)
		errs = append(errs, e...)
	}
	return objs, errs
}

// fromNode turns one document into objects: itself, or the items of a
// List.
func fromNode(file string, doc *yaml.Node) ([]Object, []error) {
	line := doc.Line
	if len(doc.Content) == 1 {
		line = doc.Content[0].Line
	}
	var v any
	if err := doc.Decode(&v); err != nil {
		return nil, []error{&Error{File: file, Line: line, Msg: err.Error()}}
	}
	if v == nil {
		return nil, nil // an empty document, as between "---" separators
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, []error{&Error{File: file, Line: line, Msg: "expected a Kubernetes object (a mapping with apiVersion and kind)"}}
	}
	kind, _ := m["kind"].(string)
	if strings.HasSuffix(kind, "List") {
		if items, ok := m["items"].([]any); ok {
			var objs []Object
			var errs []error
			for _, it := range items {
				o, err := object(file, line, it)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				objs = append(objs, o)
			}
			return objs, errs
		}
	}
	o, err := object(file, line, m)
	if err != nil {
		return nil, []error{err}
	}
	return []Object{o}, nil
}

func object(file string, line int, v any) (Object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Object{}, &Error{File: file, Line: line, Msg: "expected a Kubernetes object (a mapping with apiVersion and kind)"}
	}
	o := Object{File: file, Line: line}
	o.APIVersion, _ = m["apiVersion"].(string)
	o.Kind, _ = m["kind"].(string)
	if o.APIVersion == "" || o.Kind == "" {
		return Object{}, &Error{File: file, Line: line, Msg: "missing apiVersion or kind"}
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		o.Name, _ = md["name"].(string)
		o.Namespace, _ = md["namespace"].(string)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return Object{}, &Error{File: file, Line: line, Msg: err.Error()}
	}
	o.JSON = data
	return o, nil
}

// errLine extracts the line from yaml.v3's "yaml: line N: ..." errors.
func errLine(err error) int {
	var n int
	if _, e := fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: "), "line %d:", &n); e == nil {
		return n
	}
	return 0
}

// FieldLine finds the line of a field in the object whose document starts
// at docLine of a file's content (Object.Line), path being mapping keys
// and, for sequences, decimal indexes. It returns the line of the deepest
// part of the path the document has, so a missing field is reported where
// its parent is, and docLine when the document is not found. Objects are
// parsed without positions to keep memory low over large repositories;
// a report looks up the few fields it points at after the fact.
func FieldLine(data []byte, docLine int, path []string) int {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return docLine
		}
		if len(doc.Content) != 1 || doc.Content[0].Line != docLine {
			continue
		}
		line, n := docLine, doc.Content[0]
		for _, key := range path {
			n = child(n, key)
			if n == nil {
				break
			}
			line = n.Line
		}
		return line
	}
}

// child is the value under key of a mapping node, or the element at
// index key of a sequence node; for a mapping, the value's line is the
// key's, where an editor would look.
func child(n *yaml.Node, key string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				v := *n.Content[i+1]
				v.Line = n.Content[i].Line
				return &v
			}
		}
	case yaml.SequenceNode:
		var i int
		if _, err := fmt.Sscanf(key, "%d", &i); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}
