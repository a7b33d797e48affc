package audit

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// day0 is when the test repositories' history begins.
var day0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// gitRepo is a temporary Git repository whose commits carry chosen dates,
// built with the git binary the audit itself runs.
type gitRepo struct {
	t   *testing.T
	dir string
}

// newGitRepo starts an empty repository, with the user's and the
// system's Git configuration kept out.
func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	isolateGit(t)
	g := &gitRepo{t: t, dir: t.TempDir()}
	g.git(day0, "init", "-q", "-b", "main")
	return g
}

func isolateGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	for k, v := range map[string]string{
		"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
		"GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
	} {
		t.Setenv(k, v)
	}
}

// git runs a git command in the repository, dated at.
func (g *gitRepo) git(at time.Time, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = g.dir
	d := at.Format(time.RFC3339)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+d, "GIT_COMMITTER_DATE="+d)
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// write writes files (slash paths relative to the repository); an empty
// content removes the file.
func (g *gitRepo) write(files map[string]string) {
	g.t.Helper()
	keep := map[string]string{}
	for name, content := range files {
		if content != "" {
			keep[name] = content
		} else if err := os.Remove(filepath.Join(g.dir, filepath.FromSlash(name))); err != nil {
			g.t.Fatal(err)
		}
	}
	writeTree(g.t, g.dir, keep)
}

// commit writes files and commits everything at at, returning the short
// hash.
func (g *gitRepo) commit(at time.Time, files map[string]string) string {
	g.t.Helper()
	g.write(files)
	g.git(at, "add", "-A")
	g.git(at, "commit", "-q", "--allow-empty", "-m", "change")
	return g.git(at, "rev-parse", "--short=7", "HEAD")
}

func TestOpenGitOutsideWorkTree(t *testing.T) {
	isolateGit(t)
	if g := openGit(t.TempDir()); g != nil {
		t.Errorf("openGit of a plain directory = %+v, want nil", g)
	}
}

func TestGitState(t *testing.T) {
	g := newGitRepo(t)
	g.commit(day0, map[string]string{
		".gitignore": "build/\n*.local\n", "top.txt": "x",
		"sub/committed.yaml": "a", "sub/modified.yaml": "a", "sub/staged.yaml": "a", "sub/both.yaml": "a",
	})
	g.write(map[string]string{
		"sub/modified.yaml": "b", "sub/staged.yaml": "b", "sub/both.yaml": "b",
		"sub/new/untracked.yaml": "a", "sub/build/out.yaml": "a", "sub/x.local": "a", "top-untracked.txt": "a",
	})
	g.git(day0, "add", "sub/staged.yaml", "sub/both.yaml")
	g.write(map[string]string{"sub/both.yaml": "c"})

	git := openGit(filepath.Join(g.dir, "sub"))
	if git == nil {
		t.Fatal("openGit = nil in a work tree")
	}
	tests := []struct {
		file string
		want FileState
	}{
		{"committed.yaml", Committed},
		{"modified.yaml", Modified},
		{"staged.yaml", Staged},
		{"both.yaml", Modified},
		{"new/untracked.yaml", Untracked},
		{"build/out.yaml", Ignored},
		{"x.local", Ignored},
		{"absent.yaml", Committed},
	}
	for _, tt := range tests {
		if got := git.State(tt.file); got != tt.want {
			t.Errorf("State(%s) = %s, want %s", tt.file, got.describe(), tt.want.describe())
		}
	}
	if len(git.states) != 6 {
		t.Errorf("states = %v: files outside the audited directory leaked in", git.states)
	}
}

func TestGitLogAndReadFiles(t *testing.T) {
	g := newGitRepo(t)
	c1 := g.commit(day0, map[string]string{"sub/a.yaml": "a1", "other.txt": "o"})
	g.commit(day0.Add(time.Hour), map[string]string{"other.txt": "o2"})
	c3 := g.commit(day0.Add(48*time.Hour), map[string]string{"sub/a.yaml": "a2", "sub/d/b.yaml": "b"})

	git := openGit(filepath.Join(g.dir, "sub"))
	commits, err := git.Log()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range commits {
		got = append(got, c.Short()+" "+c.Time.Format(time.RFC3339)+" "+strings.Join(c.Files, ","))
	}
	want := []string{
		c1 + " 2025-01-01T00:00:00Z a.yaml",
		c3 + " 2025-01-03T00:00:00Z a.yaml,d/b.yaml",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Log() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if only, err := git.Log("d"); err != nil || len(only) != 1 || only[0].Short() != c3 {
		t.Errorf("Log(d) = %v, %v; want commit %s alone", only, err, c3)
	}

	files, err := git.ReadFiles(commits[0].Hash, "a.yaml", "d")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(files, map[string][]byte{"a.yaml": []byte("a1")}) {
		t.Errorf("ReadFiles(first) = %q", files)
	}
	files, err = git.ReadFiles(commits[1].Hash, "d")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(files, map[string][]byte{"d/b.yaml": []byte("b")}) {
		t.Errorf("ReadFiles(second, d) = %q", files)
	}
}

func TestGitLogBeforeFirstCommit(t *testing.T) {
	g := newGitRepo(t)
	g.write(map[string]string{"a.yaml": "a"})
	git := openGit(g.dir)
	if git == nil {
		t.Fatal("openGit = nil in a work tree without commits")
	}
	if commits, err := git.Log(); err != nil || commits != nil {
		t.Errorf("Log() = %v, %v; want nothing", commits, err)
	}
	if s := git.State("a.yaml"); s != Untracked {
		t.Errorf("State = %s, want untracked", s.describe())
	}
}

func TestGitShallow(t *testing.T) {
	g := newGitRepo(t)
	g.commit(day0, map[string]string{"a": "1"})
	g.commit(day0.Add(time.Hour), map[string]string{"a": "2"})
	clone := filepath.Join(t.TempDir(), "clone")
	g.git(day0, "clone", "-q", "--depth", "1", "file://"+g.dir, clone)
	if git := openGit(clone); git == nil || !git.Shallow() {
		t.Errorf("shallow clone: openGit = %+v, want Shallow", git)
	}
	if git := openGit(g.dir); git == nil || git.Shallow() {
		t.Errorf("full repository: openGit = %+v, want not Shallow", git)
	}
}
