// Package rxfilter tells, in a few nanoseconds, that a regular expression
// cannot match a string, so the expression need not run. It is what makes
// the CRS affordable on request bodies: most CRS patterns can only match
// text containing certain words or characters ("select", "<script", a
// shell separator before a command name), and most values of a benign
// request contain none of them.
//
// The analysis walks the parsed expression (regexp/syntax) and derives a
// requirement every match meets: clauses that must all hold, each a choice
// of terms, each term a set of strings the match contains. It is
// conservative by construction: wherever the language of a node is not
// understood exactly (any character, large classes, repetition that may be
// empty), the node contributes no requirement; a clause, term or string
// the analysis cannot afford is dropped, which only weakens the filter;
// and an expression with no requirement gets no filter. MayMatch(s) is
// therefore false only if the expression cannot match s.
//
// Case folding follows Go's regexp (simple folding): under (?i) the ASCII
// letters k and s also match the Kelvin sign U+212A and the long s U+017F,
// the only non-ASCII characters that fold to ASCII ones. In a value that
// holds either, a case-insensitive string with that letter is taken as
// present.
package rxfilter

import (
	"fmt"
	"math/bits"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Filter rejects strings an expression cannot match: a string may match
// only if it meets every clause, the strongest checked first. A string
// with none of the junk bytes is judged by clean instead (see junk.go).
type Filter struct {
	clauses []clause
	junk    byteSet
	clean   *Filter // nil: no stronger form
	never   bool    // the expression cannot match (clean form only)
}

// clause is a disjunction: a match meets one of its terms. The terms are
// grouped by a key byte each needs (its rarest), so a value is only
// checked against the terms whose key it contains.
type clause struct {
	terms []term
	keys  byteSet
	start [257]uint16 // terms[start[b]:start[b+1]] have key b
}

// term is a conjunction: strings a match contains all of.
type term struct {
	lits []lit
	mask byteSet // the bytes of all lits
	key  byte
}

// lit is a string a match contains.
type lit struct {
	s    string // lower-case when fold
	fold bool   // compared ignoring ASCII case
	mask byteSet
}

// byteSet is a set of bytes, ASCII letters counted as lower case.
type byteSet [4]uint64

func (b *byteSet) add(c byte) {
	c = lower(c)
	b[c>>6] |= 1 << (c & 63)
}

func (b byteSet) has(c byte) bool { return b[c>>6]&(1<<(c&63)) != 0 }

func (b byteSet) within(o byteSet) bool {
	return b[0]&^o[0] == 0 && b[1]&^o[1] == 0 && b[2]&^o[2] == 0 && b[3]&^o[3] == 0
}

func (b byteSet) union(o byteSet) byteSet {
	return byteSet{b[0] | o[0], b[1] | o[1], b[2] | o[2], b[3] | o[3]}
}

func (b byteSet) intersect(o byteSet) byteSet {
	return byteSet{b[0] & o[0], b[1] & o[1], b[2] & o[2], b[3] & o[3]}
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func newLit(s string, fold bool) lit {
	l := lit{s: s, fold: fold}
	if fold {
		l.s = strings.ToLower(s)
	}
	for i := 0; i < len(s); i++ {
		l.mask.add(s[i])
	}
	return l
}

// Limits keep the analysis and the filter small: a set of strings larger
// than maxSet stops being tracked as a node's exact language, a clause of
// more than maxTerms terms is dropped, a term keeps at most maxTermLits
// strings, a requirement at most maxClauses clauses, and longer strings
// are not built by concatenation. Dropping only ever weakens a filter.
const (
	maxSet      = 64
	maxTerms    = 2048
	maxTermLits = 12
	maxClauses  = 4
	maxLitLen   = 32
)

// A clause's index counts its terms in uint16: this fails to compile if
// maxTerms outgrows it.
const _ uint16 = maxTerms

// New returns the filter of a parsed expression, or nil when the analysis
// finds no requirement every match meets (the expression must always run).
func New(re *syntax.Regexp) *Filter {
	re = re.Simplify()
	a := newAnalyzer()
	f := a.build(re)
	junk := a.junkBytes(re)
	if junk == (byteSet{}) {
		return f
	}
	var clean *Filter
	if rest := without(re, junk); rest.Op == syntax.OpNoMatch {
		clean = &Filter{never: true}
	} else if clean = a.build(rest); clean == nil {
		return f
	}
	if f == nil {
		f = &Filter{} // no clause: every value with junk bytes may match
	}
	f.junk, f.clean = junk, clean
	return f
}

// build is the filter of an expression's requirement, nil if it has none.
func (a *analyzer) build(re *syntax.Regexp) *Filter {
	cnf, ok := a.analyze(re).requirement()
	if !ok {
		return nil
	}
	f := &Filter{}
	for _, terms := range cnf {
		f.clauses = append(f.clauses, index(terms))
	}
	return f
}

// index groups a clause's terms by key byte.
func index(terms []term) clause {
	c := clause{terms: slices.Clone(terms)}
	for i := range c.terms {
		c.terms[i].key = rarest(c.terms[i].mask)
		c.keys.add(c.terms[i].key)
	}
	slices.SortStableFunc(c.terms, func(a, b term) int { return int(a.key) - int(b.key) })
	for b, i := 0, 0; b <= 256; b++ {
		for i < len(c.terms) && int(c.terms[i].key) < b {
			i++
		}
		c.start[b] = uint16(i)
	}
	return c
}

// MayMatch reports whether the expression may match s; false means it
// cannot.
func (f *Filter) MayMatch(s string) bool {
	var have byteSet
	ascii := true
	for i := 0; i < len(s); i++ {
		have.add(s[i])
		ascii = ascii && s[i] < utf8.RuneSelf
	}
	var folds byteSet // k and s, when present only as U+212A or U+017F
	if !ascii {
		if strings.Contains(s, "\u212a") {
			folds.add('k')
		}
		if strings.Contains(s, "\u017f") {
			folds.add('s')
		}
		have = have.union(folds)
	}
	if f.clean != nil && have.intersect(f.junk) == (byteSet{}) {
		f = f.clean
	}
	if f.never {
		return false
	}
	for i := range f.clauses {
		if !f.clauses[i].met(s, have, folds) {
			return false
		}
	}
	return true
}

// met reports whether s meets one of the clause's terms.
func (c *clause) met(s string, have, folds byteSet) bool {
	keys := c.keys.intersect(have)
	for w, word := range keys {
		for ; word != 0; word &= word - 1 {
			b := w*64 + bits.TrailingZeros64(word)
			for _, t := range c.terms[c.start[b]:c.start[b+1]] {
				if t.mask.within(have) && t.contained(s, folds) {
					return true
				}
			}
		}
	}
	return false
}

func (t term) contained(s string, folds byteSet) bool {
	for _, l := range t.lits {
		if l.fold && l.mask.intersect(folds) != (byteSet{}) {
			continue // may be spelt with U+212A or U+017F: taken as present
		}
		if len(l.s) == 1 && (l.fold || lower(l.s[0]) == l.s[0] && !('a' <= l.s[0] && l.s[0] <= 'z')) {
			continue // one byte whose case does not matter: the mask has it
		}
		if l.fold {
			if !indexFold(s, l.s) {
				return false
			}
		} else if !strings.Contains(s, l.s) {
			return false
		}
	}
	return true
}

// Strings lists the filter's clauses, for tests and diagnostics: terms
// separated by " | ", a term's strings by " & ", a case-insensitive string
// prefixed with (?i).
func (f *Filter) Strings() []string {
	out := clauseStrings(f.clauses)
	if f.clean != nil {
		out = append(out, "without junk "+fmt.Sprintf("%q", bytesOf(f.junk))+": "+strings.Join(f.clean.Strings(), " ; "))
	}
	if f.never {
		out = append(out, "never")
	}
	return out
}

func bytesOf(b byteSet) string {
	var out []byte
	for c := 0; c < 256; c++ {
		if b.has(byte(c)) {
			out = append(out, byte(c))
		}
	}
	return string(out)
}

func clauseStrings(v []clause) []string {
	var out []string
	for _, c := range v {
		var terms []string
		for _, t := range c.terms {
			parts := make([]string, len(t.lits))
			for j, l := range t.lits {
				parts[j] = l.s
				if l.fold {
					parts[j] = "(?i)" + l.s
				}
			}
			terms = append(terms, strings.Join(parts, " & "))
		}
		out = append(out, strings.Join(terms, " | "))
	}
	return out
}

// indexFold reports whether s contains sub ignoring ASCII case; sub is
// lower case.
func indexFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n && lower(s[i+j]) == sub[j]; j++ {
		}
		if j == n {
			return true
		}
	}
	return false
}

// common ranks bytes by how often they appear in benign request values
// (English text, identifiers, numbers), most common first; bytes not
// listed are rarer than all of these.
const common = " etaoinsrhldcumfpgwybvkxjqz0123456789.-_/=,:"

// weight is how much a byte tells: rare bytes reject more values.
func weight(c byte) int {
	if i := strings.IndexByte(common, lower(c)); i >= 0 {
		return 1 + i/8
	}
	return 8
}

// rarest is the byte of a set with the highest weight.
func rarest(m byteSet) byte {
	best, bw := byte(0), -1
	for w, word := range m {
		for ; word != 0; word &= word - 1 {
			b := byte(w*64 + bits.TrailingZeros64(word))
			if wt := weight(b); wt > bw {
				best, bw = b, wt
			}
		}
	}
	return best
}
