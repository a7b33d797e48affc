package rxfilter

import (
	"math/bits"
	"regexp/syntax"
	"slices"
	"unicode/utf8"
)

// info is what the analysis knows of a node's language.
type info struct {
	// exact, when exactOK, is the node's whole language: it matches
	// exactly these strings ("" among them when it can match empty).
	exact   []lit
	exactOK bool
	// req is a requirement every match meets: every clause holds, a
	// clause being one of its terms, a term a set of strings the match
	// contains. Empty: no requirement known.
	req []dnf
}

// dnf is a clause under analysis: terms, one of which holds.
type dnf []term

var unknown = info{}

func exactly(lits ...lit) info { return info{exact: lits, exactOK: true} }

func newTerm(lits ...lit) term {
	t := term{lits: lits}
	for _, l := range lits {
		for i := range t.mask {
			t.mask[i] |= l.mask[i]
		}
	}
	return t
}

// requirement is the node's requirement: req, with its exact strings as
// one more clause when none of them is empty.
func (in info) requirement() ([]dnf, bool) {
	req := in.req
	if c, ok := exactClause(in); ok {
		req = best(append(slices.Clone(req), c))
	}
	return req, len(req) > 0
}

// exactClause is the node's exact language as a clause: one term per
// string, unless it can match empty.
func exactClause(in info) (dnf, bool) {
	if !in.exactOK || len(in.exact) == 0 || hasEmpty(in.exact) {
		return nil, false
	}
	c := make(dnf, len(in.exact))
	for i, l := range in.exact {
		c[i] = newTerm(l)
	}
	return prune(c), true
}

// best keeps the strongest maxClauses clauses, strongest first.
func best(cs []dnf) []dnf {
	slices.SortStableFunc(cs, func(a, b dnf) int { return score(b) - score(a) })
	if len(cs) > maxClauses {
		cs = cs[:maxClauses]
	}
	return cs
}

// collapse turns a requirement into one clause, for a branch of an
// alternation: the product of its two strongest clauses when small
// enough, else its strongest.
func collapse(req []dnf) (dnf, bool) {
	switch {
	case len(req) == 0:
		return nil, false
	case len(req) == 1 || len(req[0])*len(req[1]) > maxSet:
		return req[0], true
	}
	return and(req[0], req[1]), true
}

func hasEmpty(ls []lit) bool {
	return slices.ContainsFunc(ls, func(l lit) bool { return l.s == "" })
}

// score ranks clauses by their weakest term: the rarer the bytes a term
// needs and the longer its strings, the more values it rejects; then by
// fewer terms to check.
func score(c dnf) int {
	if len(c) == 0 {
		return -1 << 30
	}
	weakest := 1 << 20
	for _, t := range c {
		n := 0
		for _, l := range t.lits {
			n += 2 * (len(l.s) - 1)
		}
		for w, word := range t.mask {
			for ; word != 0; word &= word - 1 {
				n += weight(byte(w*64 + bits.TrailingZeros64(word)))
			}
		}
		weakest = min(weakest, n)
	}
	return weakest*10000 - min(len(c), 9999)
}

// and is a clause met by matches that meet both a and b: every pair of
// their terms, merged. Callers keep the product small.
func and(a, b dnf) dnf {
	out := make(dnf, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			lits := append(slices.Clone(x.lits), y.lits...)
			if len(lits) > maxTermLits {
				// Keep the longest: dropping a string weakens the
				// term, never makes it wrong.
				slices.SortStableFunc(lits, func(p, q lit) int { return len(q.s) - len(p.s) })
				lits = lits[:maxTermLits]
			}
			out = append(out, newTerm(lits...))
		}
	}
	return prune(out)
}

// prune drops terms that need everything another term needs and more: in
// a disjunction the weaker one already admits them.
func prune(ts dnf) dnf {
	if singles(ts) {
		// One string each: a term implies another only when they are
		// the same, so pruning is removing repeats.
		seen := make(map[lit]bool, len(ts))
		out := ts[:0:0]
		for _, t := range ts {
			if l := t.lits[0]; !seen[l] {
				seen[l] = true
				out = append(out, t)
			}
		}
		return out
	}
	if len(ts) > 256 {
		return ts // quadratic beyond this; redundant terms cost time, not truth
	}
	out := ts[:0:0]
	for i, t := range ts {
		redundant := false
		for j, u := range ts {
			if i != j && implies(t, u) && (!implies(u, t) || j < i) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, t)
		}
	}
	return out
}

func singles(ts dnf) bool {
	for _, t := range ts {
		if len(t.lits) != 1 {
			return false
		}
	}
	return true
}

// implies reports whether meeting t means meeting u: each of u's strings
// is one of t's.
func implies(t, u term) bool {
	if !u.mask.within(t.mask) {
		return false
	}
	for _, l := range u.lits {
		if !slices.Contains(t.lits, l) {
			return false
		}
	}
	return true
}

// analyzer analyzes the nodes of one expression, each once: the junk
// analysis and the analysis of the expression without junk revisit the
// same subtrees.
type analyzer struct {
	memo map[*syntax.Regexp]info
}

func newAnalyzer() *analyzer { return &analyzer{memo: map[*syntax.Regexp]info{}} }

// analyze returns what is known of re's language. The result is shared:
// callers copy before they modify.
func (a *analyzer) analyze(re *syntax.Regexp) info {
	if in, ok := a.memo[re]; ok {
		return in
	}
	in := a.compute(re)
	a.memo[re] = in
	return in
}

func (a *analyzer) compute(re *syntax.Regexp) info {
	switch re.Op {
	case syntax.OpLiteral:
		return literal(re.Rune, re.Flags&syntax.FoldCase != 0)
	case syntax.OpCharClass:
		return charClass(re.Rune)
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return exactly(newLit("", false))
	case syntax.OpCapture:
		return a.analyze(re.Sub[0])
	case syntax.OpQuest:
		sub := a.analyze(re.Sub[0])
		if sub.exactOK && len(sub.exact) < maxSet {
			return exactly(append(slices.Clone(sub.exact), newLit("", false))...)
		}
		return unknown
	case syntax.OpPlus:
		req, _ := a.analyze(re.Sub[0]).requirement()
		return info{req: req}
	case syntax.OpRepeat:
		return a.repeat(re)
	case syntax.OpConcat:
		return a.concat(re.Sub)
	case syntax.OpAlternate:
		return a.alternate(re.Sub)
	}
	// OpAnyChar, OpAnyCharNotNL, OpStar, OpNoMatch and anything newer:
	// no claim.
	return unknown
}

// literal is a run of runes. Case-insensitive strings are kept only when
// ASCII (the filter knows the two non-ASCII characters that fold to ASCII
// ones, see the package comment, not the others' orbits); U+FFFD is never
// kept, since the regexp matches it against invalid UTF-8 that does not
// contain its encoding.
func literal(runes []rune, fold bool) info {
	for _, r := range runes {
		if r == utf8.RuneError || (fold && r >= utf8.RuneSelf) {
			return unknown
		}
	}
	return exactly(newLit(string(runes), fold))
}

// charClass turns a small class into its characters: an ASCII letter
// present in both cases becomes one case-insensitive string.
func charClass(ranges []rune) info {
	var runes []rune
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i+1]-ranges[i] >= maxSet {
			return unknown
		}
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			if r == utf8.RuneError || len(runes) == maxSet {
				return unknown
			}
			runes = append(runes, r)
		}
	}
	var out []lit
	for _, r := range runes {
		switch {
		case 'a' <= r && r <= 'z' && slices.Contains(runes, r-'a'+'A'):
			out = append(out, newLit(string(r), true))
		case 'A' <= r && r <= 'Z' && slices.Contains(runes, r-'A'+'a'):
			// counted with its lower case
		default:
			out = append(out, newLit(string(r), false))
		}
	}
	if len(out) == 0 {
		return unknown // matches nothing: no claim rather than a vacuous one
	}
	return exactly(out...)
}

// repeat is x{min,max}: at least one copy when min ≥ 1, and an exact
// language when the count is fixed and small.
func (a *analyzer) repeat(re *syntax.Regexp) info {
	sub := a.analyze(re.Sub[0])
	var out info
	if re.Min >= 1 {
		out.req, _ = sub.requirement()
	}
	if sub.exactOK && re.Min == re.Max && re.Min <= 4 {
		set := []lit{newLit("", false)}
		ok := true
		for range re.Min {
			if set, ok = product(set, sub.exact); !ok {
				break
			}
		}
		if ok {
			out.exact, out.exactOK = set, true
		}
	}
	return out
}

// product is every a followed by every b, unless it grows beyond the
// limits.
func product(a, b []lit) ([]lit, bool) {
	if len(a)*len(b) > maxSet {
		return nil, false
	}
	out := make([]lit, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			if len(x.s)+len(y.s) > maxLitLen {
				return nil, false
			}
			out = append(out, newLit(x.s+y.s, x.fold || y.fold))
		}
	}
	return out, true
}

// concat: a match is a match of every part, one after the other, so it
// meets every part's requirement at once; runs of parts with exact
// languages join into longer strings, which reject more than their
// characters apart.
func (a *analyzer) concat(subs []*syntax.Regexp) info {
	var req []dnf
	run := []lit{newLit("", false)}
	all := true
	flush := func() {
		if c, ok := exactClause(exactly(run...)); ok {
			req = append(req, c)
		}
		run = []lit{newLit("", false)}
	}
	for _, s := range subs {
		p := a.analyze(s)
		if !p.exactOK {
			flush()
			all = false
			r, _ := p.requirement()
			req = append(req, r...)
			continue
		}
		next, ok := product(run, p.exact)
		if !ok {
			flush()
			all = false
			next = slices.Clone(p.exact)
		}
		run = next
	}
	out := info{}
	if all {
		out.exact, out.exactOK = run, true
	}
	flush()
	out.req = best(req)
	return out
}

// alternate: a match is a match of one branch, so it meets one branch's
// requirement: each branch's collapsed to one clause, and their union is
// the alternation's. Every branch must have one.
func (a *analyzer) alternate(subs []*syntax.Regexp) info {
	out := info{exactOK: true}
	var union dnf
	reqOK := true
	for _, s := range subs {
		in := a.analyze(s)
		if out.exactOK && in.exactOK && len(out.exact)+len(in.exact) <= maxSet {
			out.exact = append(out.exact, in.exact...)
		} else {
			out.exact, out.exactOK = nil, false
		}
		if reqOK {
			req, _ := in.requirement()
			c, ok := collapse(req)
			if ok && len(union)+len(c) <= maxTerms {
				union = append(union, c...)
			} else {
				union, reqOK = nil, false
			}
		}
	}
	if reqOK {
		out.req = []dnf{prune(union)}
	}
	return out
}
