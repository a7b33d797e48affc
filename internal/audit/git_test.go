package audit

import (
	"github.com/bulwark-sec/bulwark/internal/gittest"

	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// day0 is when the test repositories' history begins.
var day0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestOpenGitOutsideWorkTree(t *testing.T) {
	gittest.Isolate(t)
	if g := openGit(t.TempDir()); g != nil {
		t.Errorf("openGit of a plain directory = %+v, want nil", g)
	}
}

func TestGitState(t *testing.T) {
	g := gittest.New(t)
	g.Commit(day0, map[string]string{
		".gitignore": "build/\n*.local\n", "top.txt": "x",
		"sub/committed.yaml": "a", "sub/modified.yaml": "a", "sub/staged.yaml": "a", "sub/both.yaml": "a",
	})
	g.Write(map[string]string{
		"sub/modified.yaml": "b", "sub/staged.yaml": "b", "sub/both.yaml": "b",
		"sub/new/untracked.yaml": "a", "sub/build/out.yaml": "a", "sub/x.local": "a", "top-untracked.txt": "a",
	})
	g.Git(day0, "add", "sub/staged.yaml", "sub/both.yaml")
	g.Write(map[string]string{"sub/both.yaml": "c"})

	git := openGit(filepath.Join(g.Dir, "sub"))
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
	g := gittest.New(t)
	c1 := g.Commit(day0, map[string]string{"sub/a.yaml": "a1", "other.txt": "o"})
	g.Commit(day0.Add(time.Hour), map[string]string{"other.txt": "o2"})
	c3 := g.Commit(day0.Add(48*time.Hour), map[string]string{"sub/a.yaml": "a2", "sub/d/b.yaml": "b"})

	git := openGit(filepath.Join(g.Dir, "sub"))
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
	g := gittest.New(t)
	g.Write(map[string]string{"a.yaml": "a"})
	git := openGit(g.Dir)
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
	g := gittest.New(t)
	g.Commit(day0, map[string]string{"a": "1"})
	g.Commit(day0.Add(time.Hour), map[string]string{"a": "2"})
	clone := filepath.Join(t.TempDir(), "clone")
	g.Git(day0, "clone", "-q", "--depth", "1", "file://"+g.Dir, clone)
	if git := openGit(clone); git == nil || !git.Shallow() {
		t.Errorf("shallow clone: openGit = %+v, want Shallow", git)
	}
	if git := openGit(g.Dir); git == nil || git.Shallow() {
		t.Errorf("full repository: openGit = %+v, want not Shallow", git)
	}
}
