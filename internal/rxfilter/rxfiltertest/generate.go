// Package rxfiltertest generates strings an expression matches, to test
// that a filter never rejects one: for every node of the parsed
// expression it picks a string of that node's language at random, with
// the spellings case folding allows (the Kelvin sign and the long s
// included) and characters outside ASCII where the expression allows any.
package rxfiltertest

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/bulwark-sec/bulwark/internal/rxfilter"
)

// Sound generates n strings from pattern (compiled as given), in random
// context, and fails t if the filter rejects one the expression matches.
// It returns how many matched — the strings actually checked; a caller
// must not count a pattern none matched as tested. An expression without
// a filter has nothing to check (-1).
func Sound(t testing.TB, pattern string, rnd *rand.Rand, n int) int {
	t.Helper()
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		t.Fatal(err)
	}
	f := rxfilter.New(parsed)
	if f == nil {
		return -1
	}
	re := regexp.MustCompile(pattern)
	simple := parsed.Simplify()
	matched := 0
	for range n {
		s := Context(Generate(simple, rnd), rnd)
		if !re.MatchString(s) {
			continue
		}
		matched++
		if !f.MayMatch(s) {
			t.Fatalf("%s matches %q, the filter rejects it (filter %q)", pattern, s, f.Strings())
		}
	}
	return matched
}

// Generate returns a string built from re's structure. Empty-width
// assertions (^, $, \b) are not enforced, so the caller keeps only the
// strings the compiled expression actually matches.
func Generate(re *syntax.Regexp, rnd *rand.Rand) string {
	var b strings.Builder
	gen(&b, re, rnd, 0)
	return b.String()
}

// Context wraps s in a random prefix and suffix: ASCII text, separators,
// bytes outside ASCII and invalid UTF-8.
func Context(s string, rnd *rand.Rand) string {
	pieces := []string{"", "", "", "", " ", "a", "Z9", "é", "\u212a", "\u017f", "\xff", "\n", ";", "x=1&", "ſelect", "<", "/"}
	return pieces[rnd.IntN(len(pieces))] + s + pieces[rnd.IntN(len(pieces))]
}

func gen(b *strings.Builder, re *syntax.Regexp, rnd *rand.Rand, depth int) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				r = foldVariant(r, rnd)
			}
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		b.WriteRune(classRune(re.Rune, rnd))
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		any := []rune{'a', 'Q', '7', ' ', '-', 'é', '\u212a', '\u017f', '中', '\t'}
		b.WriteRune(any[rnd.IntN(len(any))])
	case syntax.OpCapture:
		gen(b, re.Sub[0], rnd, depth)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := repeatBounds(re, depth)
		for range lo + rnd.IntN(hi-lo+1) {
			gen(b, re.Sub[0], rnd, depth+1)
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			gen(b, s, rnd, depth+1)
		}
	case syntax.OpAlternate:
		gen(b, re.Sub[rnd.IntN(len(re.Sub))], rnd, depth+1)
	}
	// Empty-width operators and OpEmptyMatch add nothing.
}

// repeatBounds picks how many copies a repetition may produce, fewer
// deep in the tree so the strings stay short.
func repeatBounds(re *syntax.Regexp, depth int) (int, int) {
	hi := 3
	if depth > 6 {
		hi = 1
	}
	switch re.Op {
	case syntax.OpStar:
		return 0, hi
	case syntax.OpPlus:
		return 1, max(1, hi)
	case syntax.OpQuest:
		return 0, 1
	}
	lo := re.Min
	top := re.Max
	if top < 0 || top > lo+hi {
		top = lo + hi
	}
	return lo, top
}

// foldVariant is r or another rune of its simple case-folding orbit.
func foldVariant(r rune, rnd *rand.Rand) rune {
	orbit := []rune{r}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		orbit = append(orbit, f)
	}
	return orbit[rnd.IntN(len(orbit))]
}

// classRune picks a rune of a class, preferring the ends of its ranges
// and the runes near them.
func classRune(ranges []rune, rnd *rand.Rand) rune {
	if len(ranges) == 0 {
		return 'x'
	}
	i := 2 * rnd.IntN(len(ranges)/2)
	lo, hi := ranges[i], ranges[i+1]
	var r rune
	switch rnd.IntN(3) {
	case 0:
		r = lo
	case 1:
		r = hi
	default:
		r = lo + rune(rnd.Int64N(int64(hi-lo)+1))
	}
	if !utf8.ValidRune(r) {
		return lo
	}
	return r
}
