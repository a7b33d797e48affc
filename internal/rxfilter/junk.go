package rxfilter

import (
	"regexp/syntax"
	"unicode/utf8"
)

// Many CRS expressions tolerate evasion: between the letters of a command
// name they allow quotes, backslashes, or a $VAR, so "b'u's'y'b'o'x" still
// matches. Such optional junk leaves only single letters as requirements.
// But a value without any of those junk bytes cannot contain them between
// the letters either: for it, the expression is the same with every part
// that needs a junk byte removed, and its requirement is whole words. So a
// filter has a second form, for values with none of its junk bytes.

// maxJunk bounds the junk set: the more bytes in it, the fewer values
// qualify for the strong form.
const maxJunk = 10

// junkBytes collects the bytes that optional parts of re need: each
// repetition that may be empty and whose every non-empty match contains one
// of a few punctuation bytes contributes those bytes.
func (a *analyzer) junkBytes(re *syntax.Regexp) byteSet {
	var junk byteSet
	var walk func(*syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		optional := re.Op == syntax.OpStar || re.Op == syntax.OpQuest || (re.Op == syntax.OpRepeat && re.Min == 0)
		if optional {
			if b, ok := a.punctuationClause(re.Sub[0]); ok && count(junk.union(b)) <= maxJunk {
				junk = junk.union(b)
			}
		}
		for _, s := range re.Sub {
			walk(s)
		}
	}
	walk(re)
	return junk
}

// punctuationClause is a clause of re's requirement made only of single
// ASCII punctuation bytes, as a set.
func (a *analyzer) punctuationClause(re *syntax.Regexp) (byteSet, bool) {
	req, ok := a.analyze(re).requirement()
	if !ok {
		return byteSet{}, false
	}
	for _, c := range req {
		var b byteSet
		ok := true
		for _, t := range c {
			if len(t.lits) != 1 || len(t.lits[0].s) != 1 || !punctuation(t.lits[0].s[0]) {
				ok = false
				break
			}
			b.add(t.lits[0].s[0])
		}
		if ok {
			return b, true
		}
	}
	return byteSet{}, false
}

func punctuation(c byte) bool {
	return c > ' ' && c < utf8.RuneSelf && !('0' <= c && c <= '9') && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z')
}

func count(b byteSet) int {
	n := 0
	for _, w := range b {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}

// without is re restricted to strings with none of the junk bytes (a
// superset of that language: any-character nodes are left as they are):
// literals and classes lose those bytes, a part that can no longer match
// makes its concatenation unable to match, drops out of its alternation,
// and leaves an optional repetition empty. The result is OpNoMatch when
// nothing remains.
func without(re *syntax.Regexp, junk byteSet) *syntax.Regexp {
	no := &syntax.Regexp{Op: syntax.OpNoMatch}
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r < utf8.RuneSelf && junk.has(byte(r)) {
				return no
			}
		}
		return re
	case syntax.OpCharClass:
		var kept []rune
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			start := lo
			for r := lo; r <= min(hi, utf8.RuneSelf-1); r++ {
				if junk.has(byte(r)) {
					if start < r {
						kept = append(kept, start, r-1)
					}
					start = r + 1
				}
			}
			if start <= hi {
				kept = append(kept, start, hi)
			}
		}
		if len(kept) == 0 {
			return no
		}
		c := *re
		c.Rune = kept
		return &c
	case syntax.OpStar, syntax.OpQuest, syntax.OpPlus, syntax.OpRepeat, syntax.OpCapture:
		sub := without(re.Sub[0], junk)
		if sub.Op == syntax.OpNoMatch {
			if re.Op == syntax.OpStar || re.Op == syntax.OpQuest || (re.Op == syntax.OpRepeat && re.Min == 0) {
				return &syntax.Regexp{Op: syntax.OpEmptyMatch}
			}
			return no
		}
		c := *re
		c.Sub = []*syntax.Regexp{sub}
		return &c
	case syntax.OpConcat:
		c := *re
		c.Sub = nil
		for _, s := range re.Sub {
			sub := without(s, junk)
			if sub.Op == syntax.OpNoMatch {
				return no
			}
			c.Sub = append(c.Sub, sub)
		}
		return &c
	case syntax.OpAlternate:
		c := *re
		c.Sub = nil
		for _, s := range re.Sub {
			if sub := without(s, junk); sub.Op != syntax.OpNoMatch {
				c.Sub = append(c.Sub, sub)
			}
		}
		switch len(c.Sub) {
		case 0:
			return no
		case 1:
			return c.Sub[0]
		}
		return &c
	}
	return re
}
