package waf

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"

	"github.com/bulwark-sec/bulwark/internal/rxfilter/rxfiltertest"
)

// crsPatterns compiles the embedded CRS with a recording @rx operator and
// returns every pattern Coraza hands to it, in order, without repeats.
func crsPatterns(t *testing.T) []string {
	t.Helper()
	var mu sync.Mutex
	var patterns []string
	plugins.RegisterOperator("rx", func(o plugintypes.OperatorOptions) (plugintypes.Operator, error) {
		mu.Lock()
		patterns = append(patterns, o.Arguments)
		mu.Unlock()
		return newRX(o)
	})
	defer plugins.RegisterOperator("rx", newRX)
	rs := RuleSet{CRSVersion: CRSVersion, Paranoia: 4, InboundThreshold: 5, OutboundThreshold: 4, BodyLimit: 1 << 20, ResponseBodyLimit: 512 << 10, ResponseBody: true}
	if _, err := compile(rs); err != nil {
		t.Fatal(err)
	}
	slices.Sort(patterns)
	return slices.Compact(patterns)
}

// TestRXFilterSoundOverCRS: for every @rx expression of the CRS, strings
// generated from the expression itself, in random context (ASCII,
// non-ASCII, invalid UTF-8, the Kelvin sign and the long s), are never
// rejected by the filter when the expression matches them. Expressions
// none of whose generated strings match (anchored ones in context, those
// with lookaround-like constraints the generator ignores) are counted and
// must stay rare.
func TestRXFilterSoundOverCRS(t *testing.T) {
	patterns := crsPatterns(t)
	if len(patterns) < 250 {
		t.Fatalf("%d @rx expressions recorded; the CRS has more than 250", len(patterns))
	}
	rnd := rand.New(rand.NewPCG(6, 6))
	filtered, checked, strings := 0, 0, 0
	var untested []string
	for _, p := range patterns {
		n := rxfiltertest.Sound(t, "(?sm)"+p, rnd, 300)
		switch {
		case n < 0:
			continue // no filter: the expression always runs
		case n == 0:
			untested = append(untested, p)
		default:
			checked++
			strings += n
		}
		filtered++
	}
	t.Logf("%d expressions, %d with a filter, %d checked with %d matching strings; untested: %d", len(patterns), filtered, checked, strings, len(untested))
	if len(untested)*20 > filtered {
		t.Errorf("%d of %d filtered expressions got no matching string: %q", len(untested), filtered, untested)
	}
}

// TestRXSemantics: the operator keeps Coraza's: (?sm) prepended, groups 0
// to 8 captured, binary patterns matched byte-wise.
func TestRXSemantics(t *testing.T) {
	op, err := newRX(plugintypes.OperatorOptions{Arguments: `^a(b)(c)(d)(e)(f)(g)(h)(i)(j)$`})
	if err != nil {
		t.Fatal(err)
	}
	tx := &captures{capturing: true}
	if !op.Evaluate(tx, "x\nabcdefghij") {
		t.Fatal("multi-line ^ and $ did not match after a newline")
	}
	if want := []string{"abcdefghij", "b", "c", "d", "e", "f", "g", "h", "i"}; !slices.Equal(tx.fields, want) {
		t.Errorf("captures %q, want %q", tx.fields, want)
	}
	if op.Evaluate(&captures{}, "abcdefghi") {
		t.Error("matched a shorter string")
	}
	bin, err := newRX(plugintypes.OperatorOptions{Arguments: `\xff\xfe`})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bin.(*binaryRX); !ok {
		t.Fatalf("%T for a pattern of invalid UTF-8 bytes, want the byte-wise matcher", bin)
	}
	if !bin.Evaluate(&captures{}, "a\xff\xfeb") || bin.Evaluate(&captures{}, "\u00ff\u00fe") {
		t.Error("byte-wise matching wrong")
	}
	dot, _ := newRX(plugintypes.OperatorOptions{Arguments: `a.b`})
	if !dot.Evaluate(&captures{}, "a\nb") {
		t.Error("(?s) not applied: . did not match a newline")
	}
	if _, err := regexp.Compile(`(?sm)` + `\xff\xfe`); err != nil {
		t.Fatal(err)
	}
}

func TestValidUTF8Bytes(t *testing.T) {
	for p, want := range map[string]bool{
		`abc`:          true,
		`\xff`:         false,
		`\x{ff}`:       false,
		`\xc3\xa9`:     true, // é, as bytes
		`\x41\x42`:     true,
		`\\x80`:        false, // Coraza reads the escape after an escaped backslash too
		`\x{212a}`:     true,  // only the first two digits are read: \x21
		`[\x00-\x7f]`:  true,
		`[\x80-\xff]+`: false,
	} {
		if got := validUTF8Bytes(p); got != want {
			t.Errorf("validUTF8Bytes(%s) = %v, want %v", p, got, want)
		}
	}
}

// captures is the part of a transaction the operator uses.
type captures struct {
	plugintypes.TransactionState
	capturing bool
	fields    []string
}

func (c *captures) Capturing() bool { return c.capturing }

func (c *captures) CaptureField(i int, v string) {
	for len(c.fields) <= i {
		c.fields = append(c.fields, "")
	}
	c.fields[i] = v
}
