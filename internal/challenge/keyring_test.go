package challenge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// A pass signed before a rotation is accepted for KeyOverlap after the
// rotation and refused after; the ring, and with it the passes, survive a
// new Challenger on the same state directory.
func TestKeyRotationOverlapAndRestart(t *testing.T) {
	p := testPolicy()
	p.PassTTL = config.Duration(72 * time.Hour) // outlives the keys, so only the keys decide
	e := newEnv(t, p)
	start := e.clock.Now()
	old := e.pass("/", "127.0.0.1")
	// Just before the rotation is due the first key still signs.
	e.clock.Advance(24*time.Hour - time.Second)
	if same := e.pass("/", "127.0.0.1"); keyID(same.Value) != keyID(old.Value) {
		t.Fatalf("rotated early: %s then %s", keyID(old.Value), keyID(same.Value))
	}
	// Rotation (24h) plus half the overlap: a new key signs, the old verifies.
	e.clock.Advance(30*time.Minute + time.Second)
	fresh := e.pass("/", "127.0.0.1")
	if keyID(fresh.Value) == keyID(old.Value) {
		t.Fatalf("no rotation after key_rotation: still key %s", keyID(old.Value))
	}
	e.expectPass(old, true, "old pass within the overlap")
	e.expectPass(fresh, true, "new pass")

	// A new Challenger on the same state directory (a restart) knows both keys.
	e.restart(p)
	e.expectPass(old, true, "old pass after restart, within the overlap")
	e.expectPass(fresh, true, "new pass after restart")
	info, err := os.Stat(filepath.Join(e.dir, KeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v, want 0600", err, info.Mode().Perm())
	}

	// Past rotation + overlap the old key is gone.
	e.clock.Advance(start.Add(25 * time.Hour).Sub(e.clock.Now()))
	e.expectPass(old, false, "old pass after the overlap")
	e.expectPass(fresh, true, "new pass after the overlap")

	// Another state directory means another ring: the pass means nothing there.
	e.dir = t.TempDir()
	e.restart(p)
	e.expectPass(fresh, false, "pass on a gateway with another key ring")
}

func TestCorruptKeyRingIsAnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFile)
	for name, content := range map[string]string{
		"not JSON":      "{",
		"wrong version": `{"version":2,"keys":[]}`,
		"short secret":  `{"version":1,"keys":[{"id":"k1","secret":"AAAA","created":"2030-01-01T00:00:00Z"}]}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(Options{Policy: testPolicy(), StateDir: dir})
		if err == nil || !strings.Contains(err.Error(), KeyFile) {
			t.Errorf("%s: err %v, want an error naming the file", name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%s: the corrupt file was replaced", name)
		}
	}
	if _, err := New(Options{Policy: testPolicy()}); err == nil {
		t.Error("no state directory accepted")
	}
}

func keyID(token string) string { id, _, _ := strings.Cut(token, "."); return id }
