package waf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Ledger is the record INV-4 rests on: for each route, when each rule set
// (by fingerprint) started serving in detection, and which rule set the
// route last enforced, with its directives so it can be compiled again
// after a restart. It lives in the state directory as JSON, written
// atomically. A corrupt ledger is an error, never a silent reset: a reset
// would restart every detection clock, or worse, forget what was enforced.
type Ledger struct {
	path string
	mu   sync.Mutex
	data ledgerFile
}

type ledgerFile struct {
	Version int                     `json:"version"`
	Routes  map[string]*routeLedger `json:"routes"`
}

type routeLedger struct {
	// Detection maps a fingerprint to when it first served in detection.
	Detection map[string]time.Time `json:"detection"`
	Enforced  *EnforcedSet         `json:"enforced,omitempty"`
}

// EnforcedSet is the rule set a route enforces.
type EnforcedSet struct {
	Fingerprint string    `json:"fingerprint"`
	Since       time.Time `json:"since"`
	CRSVersion  string    `json:"crs_version"`
	Directives  string    `json:"directives"`
}

const ledgerVersion = 1

// LedgerFile is the ledger's name in the state directory.
const LedgerFile = "waf-ledger.json"

// OpenLedger reads the ledger in dir, or starts an empty one if there is
// none yet.
func OpenLedger(dir string) (*Ledger, error) {
	l := &Ledger{path: filepath.Join(dir, LedgerFile), data: ledgerFile{Version: ledgerVersion, Routes: map[string]*routeLedger{}}}
	data, err := os.ReadFile(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("waf ledger %s: %w", l.path, err)
	}
	var read ledgerFile
	if err := json.Unmarshal(data, &read); err != nil || read.Version != ledgerVersion || read.Routes == nil {
		if err == nil {
			err = fmt.Errorf("version %d with routes %v, expected version %d with routes", read.Version, read.Routes != nil, ledgerVersion)
		}
		return nil, fmt.Errorf("waf ledger %s is corrupt (%v); it records the INV-4 detection periods, so it is not reset silently: restore it from a backup, or remove it to restart every detection clock (routes in block mode then need waf.enforce_now)", l.path, err)
	}
	l.data = read
	return l, nil
}

// Path is the ledger's file.
func (l *Ledger) Path() string { return l.path }

func (l *Ledger) detectionSince(route, fp string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rl := l.data.Routes[route]; rl != nil {
		t, ok := rl.Detection[fp]
		return t, ok
	}
	return time.Time{}, false
}

func (l *Ledger) enforced(route string) *EnforcedSet {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rl := l.data.Routes[route]; rl != nil && rl.Enforced != nil {
		e := *rl.Enforced
		return &e
	}
	return nil
}

// LedgerChange is what a configuration will record once it serves.
type LedgerChange struct {
	Route string
	// DetectionStart records that Fingerprint serves in detection from At,
	// unless an earlier start is already recorded.
	DetectionStart string
	// Enforce records that the route enforces this rule set.
	Enforce *EnforcedSet
	At      time.Time
}

// Commit applies changes and writes the ledger. It is called before the
// configuration that needs the changes goes live; if it fails, the
// configuration is refused.
func (l *Ledger) Commit(changes []LedgerChange) error {
	if len(changes) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	next := cloneLedger(l.data)
	dirty := false
	for _, c := range changes {
		rl := next.Routes[c.Route]
		if rl == nil {
			rl = &routeLedger{Detection: map[string]time.Time{}}
			next.Routes[c.Route] = rl
		}
		if c.DetectionStart != "" {
			if _, ok := rl.Detection[c.DetectionStart]; !ok {
				rl.Detection[c.DetectionStart] = c.At.UTC()
				dirty = true
			}
		}
		if c.Enforce != nil && (rl.Enforced == nil || rl.Enforced.Fingerprint != c.Enforce.Fingerprint) {
			e := *c.Enforce
			e.Since = c.At.UTC()
			rl.Enforced = &e
			dirty = true
		}
	}
	if !dirty {
		return nil
	}
	if err := writeLedger(l.path, next); err != nil {
		return err
	}
	l.data = next
	return nil
}

func cloneLedger(d ledgerFile) ledgerFile {
	out := ledgerFile{Version: d.Version, Routes: map[string]*routeLedger{}}
	for k, rl := range d.Routes {
		c := &routeLedger{Detection: map[string]time.Time{}, Enforced: rl.Enforced}
		for fp, t := range rl.Detection {
			c.Detection[fp] = t
		}
		out.Routes[k] = c
	}
	return out
}

func writeLedger(path string, d ledgerFile) error {
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("waf ledger: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("waf ledger: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("waf ledger: %w", err)
	}
	return nil
}
