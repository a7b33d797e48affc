package waf

import (
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"rsc.io/binaryregexp"

	"github.com/bulwark-sec/bulwark/internal/rxfilter"
)

// The @rx operator, replacing Coraza's own with the same semantics plus a
// prefilter (package rxfilter) that rejects, before the expression runs,
// values it cannot match. Regular expressions are most of the CRS's cost
// on benign traffic, and most CRS expressions can only match text that
// contains one of a few words. Coraza's optional SecRxPreFilter is not
// used: it misses real matches (CRS tests 942220-2 and 932311-7).
//
// Semantics kept from Coraza 3.8 (internal/operators/rx.go, default build):
// the pattern is compiled as (?sm)PATTERN with Go's regexp; a pattern that
// names bytes which are not valid UTF-8 is compiled as given with
// rsc.io/binaryregexp; when the rule captures, groups 0 to 8 are stored
// (an unmatched group as ""). The filter only ever answers "no match" for
// values the expression cannot match, so a rule matches exactly when it
// did; the CRS regression suite (test/crs) and the filter's own tests over
// every CRS expression hold that.
func init() {
	plugins.RegisterOperator("rx", newRX)
}

type rx struct {
	re     *regexp.Regexp
	filter *rxfilter.Filter // nil: always run re
}

func newRX(opts plugintypes.OperatorOptions) (plugintypes.Operator, error) {
	pattern := "(?sm)" + opts.Arguments
	if !validUTF8Bytes(pattern) {
		return newBinaryRX(opts)
	}
	// The operator holds no per-rule state, so rules with the same
	// pattern share one.
	op, err := memoize(opts.Memoizer, "bulwark-rx:"+pattern, func() (any, error) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, err
		}
		parsed, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			return nil, err
		}
		return &rx{re: re, filter: rxfilter.New(parsed)}, nil
	})
	if err != nil {
		return nil, err
	}
	return op.(*rx), nil
}

func (o *rx) Evaluate(tx plugintypes.TransactionState, value string) bool {
	if o.filter != nil && !o.filter.MayMatch(value) {
		return false
	}
	if !tx.Capturing() {
		return o.re.MatchString(value)
	}
	m := o.re.FindStringSubmatchIndex(value)
	if m == nil {
		return false
	}
	for i := 0; i < len(m)/2 && i < 9; i++ {
		if m[2*i] >= 0 {
			tx.CaptureField(i, value[m[2*i]:m[2*i+1]])
		} else {
			tx.CaptureField(i, "")
		}
	}
	return true
}

// binaryRX matches arbitrary bytes, for patterns that name bytes outside
// UTF-8; no filter.
type binaryRX struct{ re *binaryregexp.Regexp }

func newBinaryRX(opts plugintypes.OperatorOptions) (plugintypes.Operator, error) {
	op, err := memoize(opts.Memoizer, "bulwark-rx-binary:"+opts.Arguments, func() (any, error) {
		re, err := binaryregexp.Compile(opts.Arguments)
		if err != nil {
			return nil, err
		}
		return &binaryRX{re: re}, nil
	})
	if err != nil {
		return nil, err
	}
	return op.(*binaryRX), nil
}

func (o *binaryRX) Evaluate(tx plugintypes.TransactionState, value string) bool {
	if !tx.Capturing() {
		return o.re.MatchString(value)
	}
	m := o.re.FindStringSubmatch(value)
	if len(m) == 0 {
		return false
	}
	for i := 0; i < len(m) && i < 9; i++ {
		tx.CaptureField(i, m[i])
	}
	return true
}

func memoize(m plugintypes.Memoizer, key string, build func() (any, error)) (any, error) {
	if m == nil {
		return build()
	}
	return m.Do(key, build)
}

// validUTF8Bytes decides, as Coraza does, whether a pattern is matched as
// UTF-8 text or byte-wise: a backslash followed by x and hex digits (two,
// or the first two inside braces) stands for that byte, everything else
// for itself, and the pattern is text when the bytes are valid UTF-8.
// Coraza's reading is kept even where it is loose (an escaped backslash
// before x is not recognized), so that every pattern goes to the same
// engine as before.
func validUTF8Bytes(pattern string) bool {
	b := make([]byte, 0, len(pattern))
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c != '\\':
			b = append(b, c)
			continue
		case i+3 >= len(pattern):
			b = append(b, pattern[i:]...)
			i = len(pattern)
			continue
		case pattern[i+1] != 'x':
			b = append(b, c)
			continue
		}
		esc, skip := pattern[i:], 3
		if len(esc) >= 6 && esc[2] == '{' {
			if end := strings.IndexByte(esc, '}'); end >= 0 {
				esc, skip = `\x`+esc[3:end], end
			}
		}
		v, multibyte, _, err := strconv.UnquoteChar(esc, 0)
		if err != nil || multibyte {
			b = append(b, c)
			continue
		}
		b = append(b, byte(v))
		i += skip
	}
	return utf8.Valid(b)
}
