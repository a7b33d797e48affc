package waf

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental"
)

// Engine is a compiled rule set. It is safe for concurrent use; every
// request gets its own transaction.
type Engine struct {
	Fingerprint string
	waf         coraza.WAF
	refs        int
}

// Engines compiles rule sets and shares the result among every user of
// the same fingerprint: routes of one generation, and successive
// generations across reloads, so a reload compiles only what changed.
// Compiling the CRS takes a noticeable fraction of a second and tens of
// megabytes, so this matters.
type Engines struct {
	mu   sync.Mutex
	byFP map[string]*Engine
	idle []*Engine // released engines kept for reuse, oldest first
}

// maxIdle is how many unreferenced engines are kept compiled, so that a
// reload back to a recent rule set, or the next gateway in a test
// process, does not compile again.
const maxIdle = 3

// NewEngines returns an empty engine cache.
func NewEngines() *Engines { return &Engines{byFP: map[string]*Engine{}} }

// Shared is the process's engine cache.
var Shared = NewEngines()

// Acquire returns the engine for rs, compiling it if no one holds it, and
// counts a reference; Release gives the reference back.
func (es *Engines) Acquire(rs RuleSet) (*Engine, error) {
	fp := rs.Fingerprint()
	es.mu.Lock()
	defer es.mu.Unlock()
	if e, ok := es.byFP[fp]; ok {
		e.refs++
		return e, nil
	}
	for i, e := range es.idle {
		if e.Fingerprint == fp {
			es.idle = append(es.idle[:i], es.idle[i+1:]...)
			e.refs = 1
			es.byFP[fp] = e
			return e, nil
		}
	}
	w, err := compile(rs)
	if err != nil {
		return nil, err
	}
	e := &Engine{Fingerprint: fp, waf: w, refs: 1}
	es.byFP[fp] = e
	return e, nil
}

// Release drops a reference. An engine no one uses is kept idle for a
// while, then closed.
func (es *Engines) Release(e *Engine) {
	es.mu.Lock()
	defer es.mu.Unlock()
	e.refs--
	if e.refs > 0 {
		return
	}
	delete(es.byFP, e.Fingerprint)
	es.idle = append(es.idle, e)
	if len(es.idle) > maxIdle {
		old := es.idle[0]
		es.idle = es.idle[1:]
		if c, ok := old.waf.(experimental.WAFCloser); ok {
			_ = c.Close()
		}
	}
}

// Len is the number of compiled engines in use, for metrics and tests.
func (es *Engines) Len() int {
	es.mu.Lock()
	defer es.mu.Unlock()
	return len(es.byFP)
}

func compile(rs RuleSet) (coraza.WAF, error) {
	root := coreruleset.FS
	if rs.RulesDir != nil {
		root = rulesOverlay{crs: coreruleset.FS, rules: rs.RulesDir}
	}
	w, err := coraza.NewWAF(coraza.NewWAFConfig().WithRootFS(root).WithDirectives(rs.Directives()))
	if err != nil {
		return nil, fmt.Errorf("compile WAF rule set: %w", err)
	}
	return w, nil
}

// rulesOverlay serves "@owasp_crs/..." from a candidate rules directory and
// everything else (the Coraza and CRS setup files) from the embedded CRS.
type rulesOverlay struct {
	crs, rules fs.FS
}

const crsPrefix = "@owasp_crs/"

func (o rulesOverlay) pick(name string) (fs.FS, string) {
	if i := strings.Index(name, crsPrefix); i >= 0 {
		return o.rules, path.Clean(name[i+len(crsPrefix):])
	}
	return o.crs, name
}

func (o rulesOverlay) Open(name string) (fs.File, error) {
	f, n := o.pick(name)
	return f.Open(n)
}

func (o rulesOverlay) ReadFile(name string) ([]byte, error) {
	f, n := o.pick(name)
	return fs.ReadFile(f, n)
}

func (o rulesOverlay) Glob(pattern string) ([]string, error) {
	f, n := o.pick(pattern)
	if f == o.crs {
		return fs.Glob(f, n)
	}
	matches, err := fs.Glob(f, n)
	for i, m := range matches {
		matches[i] = crsPrefix + m
	}
	return matches, err
}
