// Package gittest builds Git repositories for tests: commits carry the
// dates a test chooses, so history-based checks (INV-4's detection period)
// are tested against a calendar rather than the clock, and the hashes are
// the same on every run. It drives the git binary the audit itself runs,
// with the user's and the system's Git configuration kept out.
package gittest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Repo is a temporary Git repository.
type Repo struct {
	t   testing.TB
	Dir string
}

// New starts an empty repository on branch main in a temporary directory.
// git must be installed: a test that needs it fails without it rather
// than skipping, so a missing tool never passes for a passing test.
func New(t testing.TB) *Repo {
	t.Helper()
	Isolate(t)
	g := &Repo{t: t, Dir: t.TempDir()}
	g.Git(time.Unix(0, 0), "init", "-q", "-b", "main")
	return g
}

// Isolate keeps the user's and the system's Git configuration (signing,
// hooks, default branch, identity) out of the test's git commands.
func Isolate(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is required: %v", err)
	}
	for k, v := range map[string]string{
		"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
		"GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
	} {
		t.Setenv(k, v)
	}
}

// Git runs a git command in the repository, dated at, and returns its
// trimmed output.
func (g *Repo) Git(at time.Time, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = g.Dir
	d := at.Format(time.RFC3339)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+d, "GIT_COMMITTER_DATE="+d)
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Write writes files (slash paths relative to the repository); an empty
// content removes the file.
func (g *Repo) Write(files map[string]string) {
	g.t.Helper()
	keep := map[string]string{}
	for name, content := range files {
		if content != "" {
			keep[name] = content
		} else if err := os.Remove(filepath.Join(g.Dir, filepath.FromSlash(name))); err != nil {
			g.t.Fatal(err)
		}
	}
	WriteFiles(g.t, g.Dir, keep)
}

// Commit writes files and commits everything at at, returning the short
// hash.
func (g *Repo) Commit(at time.Time, files map[string]string) string {
	g.t.Helper()
	g.Write(files)
	g.Git(at, "add", "-A")
	g.Git(at, "commit", "-q", "--allow-empty", "-m", "change")
	return g.Git(at, "rev-parse", "--short=7", "HEAD")
}

// WriteFiles writes files (slash paths) under dir.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ReadDir reads every file under dir, keyed by slash path relative to it,
// skipping Go files: an example directory's content without its tests.
func ReadDir(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) == ".go" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
