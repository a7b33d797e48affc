package reputation

import (
	"fmt"
	"net/netip"
	"strings"
)

// namedSet is one allow or deny list: the inline list or one file. The
// name goes into the cause of a decision, so the log says which list
// matched.
type namedSet struct {
	name string
	set  *prefixSet
}

// lists are the static allow or deny lists of one configuration.
type lists []namedSet

// match returns the name of the first list that holds a.
func (l lists) match(a netip.Addr) (string, bool) {
	for _, n := range l {
		if n.set.contains(a) {
			return n.name, true
		}
	}
	return "", false
}

// buildLists reads an inline list (field names it, e.g. reputation.deny)
// and list files through read. Errors name the file and line.
func buildLists(field string, inline, files []string, read func(string) ([]byte, error)) (lists, error) {
	var out lists
	if len(inline) > 0 {
		set, err := parseList(field, []byte(strings.Join(inline, "\n")), true)
		if err != nil {
			return nil, err
		}
		out = append(out, namedSet{field, set})
	}
	for _, f := range files {
		if read == nil {
			return nil, fmt.Errorf("%s: %s: no way to read list files", field, f)
		}
		data, err := read(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		set, err := parseList(f, data, true)
		if err != nil {
			return nil, err
		}
		out = append(out, namedSet{f, set})
	}
	return out, nil
}
