package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The decoder turns a YAML node tree into the schema structs strictly:
// unknown keys, duplicate keys and values of the wrong kind are errors that
// name the field and what was expected, with the node's line and column.
// It fills only the fields present in the file, so decoding into a struct
// that already holds the defaults keeps every default the file leaves out.
//
// yaml.v3's own Decode with KnownFields stops at the first problem and
// names Go types rather than fields; a configuration language for people
// needs better than that, so the walk is done here.

// scalarDecoder is implemented by types written as one scalar (Duration,
// ByteSize). expected describes the accepted form for error messages.
type scalarDecoder interface {
	decodeScalar(s string) error
	expected() string
}

// errExpected from decodeScalar means "not the expected form"; the decoder
// turns it into a message using expected().
var errExpected = errors.New("unexpected form")

// refusedKeys maps keys that are not part of a schema but are known to a
// reader, to the message explaining why they are refused. Tenant files use
// it for platform-only fields, so overstepping authority gets an answer
// that says so rather than "unknown field".
type refusedKeys map[string]string

type decoder struct {
	src     *source
	refused refusedKeys
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.src.pos[path] = pos{n.Line, n.Column}
	if n.Tag == "!!null" {
		return // "key:" with no value leaves the default
	}
	if sd, ok := v.Addr().Interface().(scalarDecoder); ok {
		d.scalar(n, sd, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Map:
		d.dict(n, v, path)
	case reflect.Slice:
		d.list(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!bool" {
			d.wrongKind(n, path, "a string")
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			d.wrongKind(n, path, "an integer")
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.wrongKind(n, path, "true or false")
			return
		}
		v.SetBool(n.Value == "true")
	default:
		panic(fmt.Sprintf("config: schema field %s has unsupported kind %s", path, v.Kind()))
	}
}

func (d *decoder) scalar(n *yaml.Node, sd scalarDecoder, path string) {
	if n.Kind != yaml.ScalarNode {
		d.wrongKind(n, path, sd.expected())
		return
	}
	if err := sd.decodeScalar(n.Value); err != nil {
		if errors.Is(err, errExpected) {
			d.src.errorf(path, "expected %s, got %q", sd.expected(), n.Value)
			return
		}
		d.src.errorf(path, "%v", err)
	}
}

// pairs calls fn for each key and value of mapping node n, reporting
// duplicate keys instead of passing them on.
func (d *decoder) pairs(n *yaml.Node, path string, fn func(k, val *yaml.Node, child string)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		child := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.src.errorAt(pos{k.Line, k.Column}, child, "duplicate key (first defined on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, val, child)
	}
}

// mapping decodes a YAML mapping into a struct, by the fields' yaml tags.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.wrongKind(n, path, "a mapping of "+strings.Join(fieldNames(v.Type()), ", "))
		return
	}
	d.pairs(n, path, func(k, val *yaml.Node, child string) {
		d.src.pos[child] = pos{k.Line, k.Column}
		f, ok := fieldByTag(v, k.Value)
		switch {
		case ok:
			d.decode(val, f, child)
		case d.refused[k.Value] != "" && path == "":
			d.src.errorf(child, "%s", d.refused[k.Value])
		default:
			names := fieldNames(v.Type())
			d.src.errorf(child, "unknown field%s; expected one of: %s", suggest(k.Value, names), strings.Join(names, ", "))
		}
	})
}

// dict decodes a YAML mapping into a map[string]T.
func (d *decoder) dict(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.wrongKind(n, path, "a mapping of names")
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	d.pairs(n, path, func(k, val *yaml.Node, child string) {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, child)
		d.src.pos[child] = pos{k.Line, k.Column}
		v.SetMapIndex(reflect.ValueOf(k.Value), elem)
	})
}

// list decodes a YAML sequence into a slice, replacing any default.
func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.wrongKind(n, path, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) wrongKind(n *yaml.Node, path, want string) {
	got := map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}[n.Kind]
	if got == "" {
		got = fmt.Sprintf("%q", n.Value)
	}
	d.src.errorf(path, "expected %s, got %s", want, got)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func fieldByTag(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" && name != "-" && name == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// suggest returns ` (did you mean "x"?)` for a near miss of a known name.
func suggest(key string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(key, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// parseFile parses one YAML document from data and decodes it into out,
// recording errors against src. A file must hold exactly one document, a
// mapping.
func parseFile(src *source, data []byte, out any, refused refusedKeys) {
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			src.errorf("", "file is empty; expected a mapping")
			return
		}
		src.errorAt(yamlErrPos(err), "", "invalid YAML: %s", yamlErrMsg(err))
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		src.errorAt(pos{extra.Line, extra.Column}, "", "more than one YAML document; expected exactly one")
		return
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		src.errorAt(pos{root.Line, root.Column}, "", "expected a mapping at the top of the file")
		return
	}
	d := &decoder{src: src, refused: refused}
	d.decode(root, reflect.ValueOf(out).Elem(), "")
}

// yamlErrPos and yamlErrMsg split yaml.v3's "yaml: line N: message" into a
// position and a message.
func yamlErrPos(err error) pos {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "line "); ok {
		if num, _, ok := strings.Cut(rest, ":"); ok {
			if n, err := strconv.Atoi(num); err == nil {
				return pos{n, 1}
			}
		}
	}
	return pos{}
}

func yamlErrMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(msg, "line "); i == 0 {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}
