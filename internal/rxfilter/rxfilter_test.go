package rxfilter_test

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"testing"
	"unicode"

	"github.com/bulwark-sec/bulwark/internal/rxfilter"
	"github.com/bulwark-sec/bulwark/internal/rxfilter/rxfiltertest"
)

func filter(t *testing.T, pattern string) (*rxfilter.Filter, *regexp.Regexp) {
	t.Helper()
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		t.Fatal(err)
	}
	return rxfilter.New(re), regexp.MustCompile(pattern)
}

func TestMayMatch(t *testing.T) {
	tests := []struct {
		pattern string
		in      string
		want    bool
	}{
		{`(?i)union\s+select`, "UNION   SELECT 1", true},
		{`(?i)union\s+select`, "Running shoe, blue", false},
		{`(?i)union\s+select`, "union only", false},
		// Under (?i), k and s also match the Kelvin sign and the long s.
		{`(?i)sk`, "\u017f\u212a", true},
		{`(?i)sk`, "\u017fk", true},
		{`(?i)sk`, "é sx", false},
		// Outside (?i) bytes are compared exactly, ASCII or not.
		{`café`, "un café noir", true},
		{`café`, "un cafe noir", false},
		// The exact strings of an alternation, joined across a concatenation.
		{`(?:se|de)lect`, "delect", true},
		{`(?:se|de)lect`, "se lect", false},
		// A class is its characters; letters in both cases fold.
		{`[Ss]leep\(`, "SLEEP(", true},
		{`[Ss]leep\(`, "sleep", false},
		// Anchors and boundaries require nothing but do not break runs.
		{`^/etc/passwd\b`, "/etc/passwd", true},
		{`^/etc/passwd\b`, "/etc/shadow", false},
		// A repetition that may be empty requires nothing; one that may
		// not requires its content.
		{`a(?:xyz)*b`, "ab", true},
		{`(?:xyz)+`, "xy z", false},
		{`(?:xyz){2}`, "xyzxyz", true},
		{`(?:xyz){2}`, "xyz", false},
		// Junk allowed between letters: a value without any of it must
		// hold the word whole; one with it, the letters.
		{`(?i)b["']*u["']*s["']*y\b`, "busy", true},
		{`(?i)b["']*u["']*s["']*y\b`, "yubs", false},
		{`(?i)b["']*u["']*s["']*y\b`, "b'u's'y", true},
		{`(?i)b["']*u["']*s["']*y\b`, "'yubs'", true}, // with junk, only the letters are required
		{`(?i)x["']+y`, "xy", false},                  // the junk is required: no match without it
		// Several clauses must all hold.
		{`while.*\(.*\)`, "while (x)", true},
		{`while.*\(.*\)`, "while x", false},
	}
	for _, tt := range tests {
		f, re := filter(t, tt.pattern)
		if f == nil {
			t.Errorf("%s: no filter", tt.pattern)
			continue
		}
		if got := f.MayMatch(tt.in); got != tt.want {
			t.Errorf("%s on %q: MayMatch = %v, want %v (filter %q)", tt.pattern, tt.in, got, tt.want, f.Strings())
		}
		if re.MatchString(tt.in) && !f.MayMatch(tt.in) {
			t.Errorf("%s on %q: the expression matches, the filter says it cannot", tt.pattern, tt.in)
		}
	}
}

// TestNoFilter: expressions with no requirement every match meets get no
// filter rather than a wrong one.
func TestNoFilter(t *testing.T) {
	for _, p := range []string{`.*`, `a*`, `(?:abc)?`, `^$`, `[^a]`, `(?i)é`, `a|b*`, "\uFFFD", `[\x{FFFD}]`} {
		if f, _ := filter(t, p); f != nil {
			t.Errorf("%s: filter %q, want none", p, f.Strings())
		}
	}
}

// TestOnlyKAndSFoldOutsideASCII backs the filter's one exception to ASCII
// case folding: the only non-ASCII runes whose simple folding orbit holds
// an ASCII letter are U+212A (k) and U+017F (s).
func TestOnlyKAndSFoldOutsideASCII(t *testing.T) {
	for r := rune('A'); r <= 'z'; r++ {
		if !unicode.IsLetter(r) {
			continue
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f >= 0x80 && !(f == '\u212a' && (r == 'k' || r == 'K')) && !(f == '\u017f' && (r == 's' || r == 'S')) {
				t.Errorf("%q folds to %U", r, f)
			}
		}
	}
}

// TestSound generates strings each expression matches, in random
// context, and requires the filter to let every one through.
func TestSound(t *testing.T) {
	patterns := []string{
		`(?i)(?:union|select|insert)\s+(?:all|distinct)?\s*\(`,
		`(?i)\b(?:s(?:leep|ystem)|exec)\s*\(`,
		`(?i)<script[^>]*>`,
		`(?:\.\./|\.\.\\)+(?:etc|windows)`,
		`(?i)[kK]elvin|\x{212A}`,
		`(?i)(?:b["'\\]*u["'\\]*s["'\\]*y)[\s&|;]`,
		`(?sm)^(?:get|post) /[^ ]* http/1\.[01]$`,
		`(?i)\$\{(?:jndi|env):`,
		`[à-ÿ]{2,}x`,
		`(?:a|b)(?:c|d)(?:e|f)(?:g|h)(?:i|j)(?:k|l)(?:m|n)`,
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, p := range patterns {
		if n := rxfiltertest.Sound(t, p, rnd, 2000); n <= 0 {
			t.Errorf("%s: %d generated strings matched; nothing was checked", p, n)
		}
	}
}
