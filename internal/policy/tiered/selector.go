package tiered

import (
	"fmt"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/labels"
)

// selector is a parsed Calico selector expression.
type selector interface {
	matches(labels.Set) bool
}

type (
	allSel    struct{}
	globalSel struct{} // non-namespaced endpoints: none exist in this model
	notSel    struct{ x selector }
	andSel    struct{ a, b selector }
	orSel     struct{ a, b selector }
	hasSel    struct{ key string }
	// cmpSel compares a label: present and test(value) holds; negate
	// turns it into "absent, or test fails" (!=, not in).
	cmpSel struct {
		key    string
		test   func(string) bool
		negate bool
	}
)

func (allSel) matches(labels.Set) bool     { return true }
func (globalSel) matches(labels.Set) bool  { return false }
func (s notSel) matches(l labels.Set) bool { return !s.x.matches(l) }
func (s andSel) matches(l labels.Set) bool { return s.a.matches(l) && s.b.matches(l) }
func (s orSel) matches(l labels.Set) bool  { return s.a.matches(l) || s.b.matches(l) }
func (s hasSel) matches(l labels.Set) bool { return l.Has(s.key) }
func (s cmpSel) matches(l labels.Set) bool {
	v, ok := l[s.key]
	return (ok && s.test(v)) != s.negate
}

// parseSelector parses Calico's selector syntax; "" selects everything.
func parseSelector(src string) (selector, error) {
	p := &selParser{src: src}
	if p.skip(); p.pos == len(p.src) {
		return allSel{}, nil
	}
	s, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("selector %q: %w", src, err)
	}
	if p.skip(); p.pos != len(p.src) {
		return nil, fmt.Errorf("selector %q: unexpected %q at offset %d", src, p.src[p.pos:], p.pos)
	}
	return s, nil
}

type selParser struct {
	src string
	pos int
}

func (p *selParser) skip() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

// eat consumes tok (after spaces) if it is next.
func (p *selParser) eat(tok string) bool {
	p.skip()
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

// word consumes keyword w only when it is not the start of a longer name.
func (p *selParser) word(w string) bool {
	p.skip()
	rest := p.src[p.pos:]
	if !strings.HasPrefix(rest, w) || (len(rest) > len(w) && isKeyChar(rest[len(w)])) {
		return false
	}
	p.pos += len(w)
	return true
}

func (p *selParser) or() (selector, error) {
	a, err := p.and()
	for err == nil && p.eat("||") {
		var b selector
		if b, err = p.and(); err == nil {
			a = orSel{a, b}
		}
	}
	return a, err
}

func (p *selParser) and() (selector, error) {
	a, err := p.unary()
	for err == nil && p.eat("&&") {
		var b selector
		if b, err = p.unary(); err == nil {
			a = andSel{a, b}
		}
	}
	return a, err
}

func (p *selParser) unary() (selector, error) {
	switch {
	case p.eat("!"):
		x, err := p.unary()
		return notSel{x}, err
	case p.eat("("):
		x, err := p.or()
		if err == nil && !p.eat(")") {
			err = fmt.Errorf("missing ) at offset %d", p.pos)
		}
		return x, err
	case p.word("all") && p.eat("(") && p.eat(")"):
		return allSel{}, nil
	case p.word("global") && p.eat("(") && p.eat(")"):
		return globalSel{}, nil
	case p.word("has") && p.eat("("):
		k := p.key()
		if k == "" || !p.eat(")") {
			return nil, fmt.Errorf("has(): want a label key and ) at offset %d", p.pos)
		}
		return hasSel{k}, nil
	}
	k := p.key()
	if k == "" {
		return nil, fmt.Errorf("want a label key at offset %d", p.pos)
	}
	return p.comparison(k)
}

func (p *selParser) comparison(k string) (selector, error) {
	var s cmpSel
	s.key = k
	var op func(v, want string) bool
	switch {
	case p.eat("=="):
		op = func(v, w string) bool { return v == w }
	case p.eat("!="):
		op, s.negate = func(v, w string) bool { return v == w }, true
	case p.word("contains"):
		op = strings.Contains
	case p.word("starts") && p.word("with"):
		op = strings.HasPrefix
	case p.word("ends") && p.word("with"):
		op = strings.HasSuffix
	case p.word("in"):
		set, err := p.set()
		s.test = func(v string) bool { return set[v] }
		return s, err
	case p.word("not") && p.word("in"):
		set, err := p.set()
		s.test, s.negate = func(v string) bool { return set[v] }, true
		return s, err
	default:
		return nil, fmt.Errorf("label %q: want an operator at offset %d", k, p.pos)
	}
	want, err := p.literal()
	s.test = func(v string) bool { return op(v, want) }
	return s, err
}

func (p *selParser) set() (map[string]bool, error) {
	set := map[string]bool{}
	if !p.eat("{") {
		return nil, fmt.Errorf("want { at offset %d", p.pos)
	}
	if p.eat("}") {
		return set, nil
	}
	for {
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		set[v] = true
		if p.eat("}") {
			return set, nil
		}
		if !p.eat(",") {
			return nil, fmt.Errorf("want , or } at offset %d", p.pos)
		}
	}
}

func (p *selParser) literal() (string, error) {
	p.skip()
	if p.pos >= len(p.src) || (p.src[p.pos] != '\'' && p.src[p.pos] != '"') {
		return "", fmt.Errorf("want a quoted value at offset %d", p.pos)
	}
	q := p.src[p.pos]
	end := strings.IndexByte(p.src[p.pos+1:], q)
	if end < 0 {
		return "", fmt.Errorf("unterminated string at offset %d", p.pos)
	}
	v := p.src[p.pos+1 : p.pos+1+end]
	p.pos += end + 2
	return v, nil
}

func (p *selParser) key() string {
	p.skip()
	start := p.pos
	for p.pos < len(p.src) && isKeyChar(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func isKeyChar(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '/' ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
