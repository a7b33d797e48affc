package challenge

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// KeyFile is the key ring's file in the state directory.
const KeyFile = "challenge-keys.json"

const secretLen = 32

// signingKey is one HMAC-SHA256 key of the ring. It signs from Created for
// the rotation period and verifies for the overlap after that.
type signingKey struct {
	ID      string    `json:"id"`
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
}

type keyFile struct {
	Version int          `json:"version"`
	Keys    []signingKey `json:"keys"`
}

// keyRing is the set of keys that seal challenges and passes, newest
// first. Rotation is lazy: the first signature after the current key's
// period creates the next key. Validity is computed from Created, so a
// key's cookies end KeyOverlap after its period whether or not the ring
// rotated in time (a gateway that was down rotates on its first request).
type keyRing struct {
	mu   sync.Mutex
	path string
	keys []signingKey
	log  *slog.Logger
}

// openKeyRing loads the ring from dir, or starts one. A file that cannot
// be read or parsed is an error, never silently replaced: replacing it
// would invalidate every pass out there without anyone deciding so.
func openKeyRing(dir string, now time.Time, rotation, overlap time.Duration, log *slog.Logger) (*keyRing, error) {
	if dir == "" {
		return nil, errors.New("no state directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	k := &keyRing{path: filepath.Join(dir, KeyFile), log: log}
	data, err := os.ReadFile(k.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if k.keys, err = parseKeys(data); err != nil {
			return nil, fmt.Errorf("%s: %w (move it away to start a new ring; outstanding passes become invalid)", k.path, err)
		}
		if fi, err := os.Stat(k.path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("challenge key ring was readable by others; mode set to 0600", "file", k.path)
			if err := os.Chmod(k.path, 0o600); err != nil {
				return nil, err
			}
		}
	}
	k.prune(now, rotation, overlap)
	if len(k.keys) == 0 || !now.Before(k.keys[0].Created.Add(rotation)) {
		k.rotate(now, rotation, overlap)
		if err := k.save(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func parseKeys(data []byte) ([]signingKey, error) {
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("corrupt key ring: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("key ring version %d, expected 1", f.Version)
	}
	for _, key := range f.Keys {
		if key.ID == "" || len(key.Secret) != secretLen || key.Created.IsZero() {
			return nil, fmt.Errorf("corrupt key ring: key %q", key.ID)
		}
	}
	slices.SortFunc(f.Keys, func(a, b signingKey) int { return b.Created.Compare(a.Created) })
	return f.Keys, nil
}

// signing returns the key that signs now, rotating first if its period
// is over. A failure to persist a rotation is logged: the ring keeps
// working, but a restart before the next successful save would refuse
// the passes signed meanwhile.
func (k *keyRing) signing(now time.Time, rotation, overlap time.Duration) signingKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !now.Before(k.keys[0].Created.Add(rotation)) {
		k.rotate(now, rotation, overlap)
		if err := k.save(); err != nil {
			k.log.Error("challenge key ring not saved; passes signed now will not survive a restart", "file", k.path, "error", err)
		}
	}
	return k.keys[0]
}

// verifying returns the key with id if it still verifies at now.
func (k *keyRing) verifying(id string, now time.Time, rotation, overlap time.Duration) (signingKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range k.keys {
		if key.ID == id {
			return key, now.Before(key.Created.Add(rotation + overlap))
		}
	}
	return signingKey{}, false
}

// rotate adds a new current key and drops keys past their overlap.
func (k *keyRing) rotate(now time.Time, rotation, overlap time.Duration) {
	key := signingKey{Secret: make([]byte, secretLen), Created: now}
	rand.Read(key.Secret)
	for key.ID == "" || slices.ContainsFunc(k.keys, func(o signingKey) bool { return o.ID == key.ID }) {
		var id [4]byte
		rand.Read(id[:])
		key.ID = hex.EncodeToString(id[:])
	}
	k.keys = append([]signingKey{key}, k.keys...)
	k.prune(now, rotation, overlap)
	k.log.Info("challenge signing key rotated", "key", key.ID, "keys", len(k.keys))
}

// prune drops keys that no longer verify.
func (k *keyRing) prune(now time.Time, rotation, overlap time.Duration) {
	k.keys = slices.DeleteFunc(k.keys, func(key signingKey) bool {
		return !now.Before(key.Created.Add(rotation + overlap))
	})
}

// save writes the ring atomically (temporary file, then rename), 0600.
func (k *keyRing) save() error {
	data, err := json.MarshalIndent(keyFile{Version: 1, Keys: k.keys}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(k.path), ".challenge-keys-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, a no-op
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), k.path)
}
