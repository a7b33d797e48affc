package expect

import (
	"fmt"
	"io"
	"strings"
)

// Write renders results as a table, one row per expectation (PASS, FAIL
// or ERROR, the expectation, how many connections were checked), each
// failure followed by up to shown offending connections with the
// decisions that made them differ. It returns how many did not pass.
func Write(w io.Writer, results []Result, shown int) (failed int, err error) {
	width := len("EXPECTATION")
	for _, r := range results {
		width = max(width, len(r.Expectation.Name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %-*s  %s\n", "RESULT", width, "EXPECTATION", "CHECKED")
	for _, r := range results {
		status := "PASS"
		switch {
		case r.Err != nil:
			status = "ERROR"
		case len(r.Failures) > 0:
			status = "FAIL"
		}
		e := r.Expectation
		fmt.Fprintf(&b, "%-6s %-*s  %d\n", status, width, e.Name, r.Pairs)
		if r.Passed() {
			continue
		}
		failed++
		fmt.Fprintf(&b, "       %s:%d: %s -> %s port %s: expected %s\n", e.File, e.Line, e.From, e.To, e.Port, word(e.Allow))
		if r.Err != nil {
			fmt.Fprintf(&b, "       error: %v\n", r.Err)
		}
		for i, f := range r.Failures {
			if i == shown {
				fmt.Fprintf(&b, "       ... and %d more\n", len(r.Failures)-shown)
				break
			}
			fmt.Fprintf(&b, "       %s -> %s %s: %s\n", f.From, f.To, f.Port, word(f.Verdict.Allowed))
			for _, line := range f.Explain() {
				fmt.Fprintf(&b, "         %s\n", line)
			}
		}
	}
	fmt.Fprintf(&b, "\n%d of %d expectations passed\n", len(results)-failed, len(results))
	_, err = io.WriteString(w, b.String())
	return failed, err
}

func word(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}
