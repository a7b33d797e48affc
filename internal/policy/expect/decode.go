package expect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// Expectation is one promise about reachability.
type Expectation struct {
	Name     string
	From, To Selector
	Port     PortSpec
	// Allow is true for "expect: allow", false for "expect: deny".
	Allow bool
	// File and Line locate the expectation, for reports.
	File string
	Line int
}

// SelectorKind says how a Selector picks endpoints.
type SelectorKind string

// The selector kinds, named by their YAML key.
const (
	ByTenant     SelectorKind = "tenant"
	AllTenants   SelectorKind = "tenants"
	ByNamespace  SelectorKind = "namespace"
	ByPod        SelectorKind = "pod"
	ByExternalIP SelectorKind = "external"
)

// Selector is one side of an expectation: a set of endpoints.
type Selector struct {
	Kind  SelectorKind
	Value string     // as written: tenant, "all", namespace, NS/NAME or address
	IP    netip.Addr // for ByExternalIP
}

// String renders the selector as written: {tenant: shop}.
func (s Selector) String() string { return "{" + string(s.Kind) + ": " + s.Value + "}" }

// PortSpec is a destination port, or every port the destination declares.
type PortSpec struct {
	Any  bool
	Port netpol.Port
}

// String renders "any" or "TCP/80".
func (p PortSpec) String() string {
	if p.Any {
		return "any"
	}
	return p.Port.String()
}

// Error is a problem in an expectations file, located by line and field.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// ReadFile reads and parses an expectations file.
func ReadFile(path string) ([]Expectation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("expectations: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes an expectations file strictly (see the package doc). The
// error, if any, joins an *Error for every problem found; name is the file
// name used in them.
func Parse(name string, data []byte) ([]Expectation, error) {
	d := decoder{file: name}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Line: 1, Msg: "empty file: expected an expectations list"}
		}
		return nil, &Error{File: name, Line: 1, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: name, Line: 1, Msg: "empty file: expected an expectations list"}
	}
	var out []Expectation
	fields := d.mapping(doc.Content[0], "", map[string]bool{"expectations": true})
	list, ok := fields["expectations"]
	switch {
	case !ok:
		d.errorf(doc.Content[0], "", "missing expectations")
	case list.Kind != yaml.SequenceNode || len(list.Content) == 0:
		d.errorf(list, "expectations", "expected a non-empty list of expectations")
	default:
		for i, n := range list.Content {
			if e, ok := d.expectation(n, fmt.Sprintf("expectations[%d]", i)); ok {
				out = append(out, e)
			}
		}
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return out, nil
}

// decoder collects every problem rather than stopping at the first.
type decoder struct {
	file string
	errs []error
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// mapping returns n's keys and values, refusing keys not in known and
// repeated keys.
func (d *decoder) mapping(n *yaml.Node, field string, known map[string]bool) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, field, "expected a mapping")
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !known[k.Value]:
			d.errorf(k, field, "unknown field %q", k.Value)
		case out[k.Value] != nil:
			d.errorf(k, field, "field %q given twice", k.Value)
		default:
			out[k.Value] = v
		}
	}
	return out
}

var expectationFields = map[string]bool{"name": true, "from": true, "to": true, "port": true, "expect": true}

func (d *decoder) expectation(n *yaml.Node, field string) (Expectation, bool) {
	before := len(d.errs)
	e := Expectation{File: d.file, Line: n.Line}
	f := d.mapping(n, field, expectationFields)
	if n.Kind != yaml.MappingNode {
		return e, false
	}
	for _, k := range []string{"name", "from", "to", "port", "expect"} {
		if f[k] == nil {
			d.errorf(n, field, "missing %s", k)
		}
	}
	if v := f["name"]; v != nil {
		e.Name = d.scalar(v, field+".name")
	}
	if v := f["from"]; v != nil {
		e.From = d.selector(v, field+".from")
	}
	if v := f["to"]; v != nil {
		e.To = d.selector(v, field+".to")
	}
	if v := f["port"]; v != nil {
		e.Port = d.port(v, field+".port")
	}
	if v := f["expect"]; v != nil {
		switch d.scalar(v, field+".expect") {
		case "allow":
			e.Allow = true
		case "deny":
		default:
			d.errorf(v, field+".expect", "expected allow or deny, got %q", v.Value)
		}
	}
	if len(d.errs) > before {
		return e, false
	}
	switch {
	case e.From.Kind == ByExternalIP && e.To.Kind == ByExternalIP:
		d.errorf(n, field, "from and to are both external: at least one side must be pods")
	case e.Port.Any && e.To.Kind == ByExternalIP:
		d.errorf(f["port"], field+".port", "\"any\" means the ports the destination pods declare; an external destination declares none: name the port")
	}
	return e, len(d.errs) == before
}

func (d *decoder) scalar(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		d.errorf(n, field, "expected a non-empty string")
		return ""
	}
	return n.Value
}

var selectorFields = map[string]bool{
	string(ByTenant): true, string(AllTenants): true, string(ByNamespace): true, string(ByPod): true, string(ByExternalIP): true,
}

func (d *decoder) selector(n *yaml.Node, field string) Selector {
	f := d.mapping(n, field, selectorFields)
	if n.Kind != yaml.MappingNode {
		return Selector{}
	}
	if len(f) != 1 || len(n.Content) != 2 {
		d.errorf(n, field, "expected exactly one of tenant, tenants, namespace, pod, external")
		return Selector{}
	}
	k := n.Content[0].Value
	s := Selector{Kind: SelectorKind(k), Value: d.scalar(n.Content[1], field+"."+k)}
	v := n.Content[1]
	switch s.Kind {
	case AllTenants:
		if s.Value != "all" {
			d.errorf(v, field+".tenants", "expected all (name one tenant with tenant:), got %q", s.Value)
		}
	case ByPod:
		ns, name, ok := strings.Cut(s.Value, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			d.errorf(v, field+".pod", "expected NAMESPACE/NAME, got %q", s.Value)
		}
	case ByExternalIP:
		ip, err := netip.ParseAddr(s.Value)
		if err != nil {
			d.errorf(v, field+".external", "expected an IP address, got %q", s.Value)
		}
		s.IP = ip.Unmap()
	}
	return s
}

func (d *decoder) port(n *yaml.Node, field string) PortSpec {
	s := d.scalar(n, field)
	if s == "" {
		return PortSpec{}
	}
	if s == "any" {
		return PortSpec{Any: true}
	}
	num, proto, _ := strings.Cut(s, "/")
	p := netpol.Port{Protocol: corev1.ProtocolTCP}
	if proto != "" {
		p.Protocol = corev1.Protocol(strings.ToUpper(proto))
	}
	switch p.Protocol {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
	default:
		d.errorf(n, field, "protocol %q: expected tcp, udp or sctp", proto)
	}
	v, err := strconv.Atoi(num)
	if err != nil || v < 1 || v > 65535 {
		d.errorf(n, field, "expected any, PORT or PORT/PROTO with PORT from 1 to 65535, got %q", s)
	}
	p.Port = int32(v)
	return PortSpec{Port: p}
}
