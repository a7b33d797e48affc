package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one configuration problem, located as precisely as the source
// allows: file, line and column, and the dotted path of the field.
type Error struct {
	File  string
	Line  int
	Col   int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one load, sorted by file and position,
// so a user fixes them all in one pass rather than one per reload.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// pos is a position in a source file.
type pos struct{ line, col int }

// source is one configuration file being loaded: its name for messages and
// the position of every field the decoder saw, so validation that runs
// after decoding can still point at the right line.
type source struct {
	name string // as shown in messages: the directory joined with rel
	rel  string // relative to the configuration directory
	pos  map[string]pos
	errs *Errors
}

func newSource(name, rel string, errs *Errors) *source {
	return &source{name: name, rel: rel, pos: map[string]pos{}, errs: errs}
}

// errorf records a problem with field. The position is the field's own, or
// that of its nearest parent the decoder saw (a missing field is reported
// where its parent is).
func (s *source) errorf(field, format string, args ...any) {
	p := s.lookup(field)
	*s.errs = append(*s.errs, &Error{File: s.name, Line: p.line, Col: p.col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (s *source) errorAt(p pos, field, format string, args ...any) {
	*s.errs = append(*s.errs, &Error{File: s.name, Line: p.line, Col: p.col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (s *source) lookup(field string) pos {
	if p, ok := s.nearest(field); ok {
		return p
	}
	return s.pos[""]
}

// nearest is the position of field or of its nearest parent the file
// sets, not counting the document itself.
func (s *source) nearest(field string) (pos, bool) {
	for f := field; f != ""; {
		if p, ok := s.pos[f]; ok {
			return p, true
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return pos{}, false
}
