// Package golden compares test output with a golden file, rewriting the
// file instead when the test runs with its package's -update flag.
package golden

import (
	"bytes"
	"os"
	"testing"
)

// Check fails t when got differs from the file at path; with update it
// writes got there first. The failure shows got and how to accept it.
func Check(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update to accept it):\n%s", path, got)
	}
}
