package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Git is the Git work tree holding the audited path, read through the git
// binary rather than a Go library: the audit then sees exactly what the
// user's Git sees (its .gitignore rules, its shallow boundary). Paths in
// and out are relative to the audited directory, which may be a
// subdirectory of the work tree (examples/gitops inside a larger
// repository). Nothing here writes to the repository: status runs without
// optional locks, so it does not even refresh the index.
type Git struct {
	top    string // the work tree's top level
	prefix string // the audited directory relative to top: "" or "dir/sub/"
	// shallow is set in a shallow clone, whose history is cut.
	shallow bool
	// head is false before the first commit.
	head bool
	// states holds every file of the audited directory that is not
	// committed as it is; ignored directories are keys ending in "/".
	states map[string]FileState
}

// FileState is how the work tree holds a file compared with Git.
type FileState int

// File states, from "what Git has" to the ways a file differs from it.
const (
	// Committed is a tracked file unchanged since the last commit (or a
	// file that exists in neither).
	Committed FileState = iota
	Untracked
	Ignored
	Modified
	Staged
)

// describe says what the state means for a file's content in Git.
func (s FileState) describe() string {
	switch s {
	case Untracked:
		return "untracked: this file is not in Git"
	case Ignored:
		return "ignored by .gitignore: this file is not in Git"
	case Modified:
		return "modified in the work tree: Git does not hold this version"
	case Staged:
		return "staged but not committed: Git does not hold this version"
	}
	return "committed"
}

// advice is how to make the file's content the committed one.
func (s FileState) advice() string {
	switch s {
	case Untracked:
		return "commit the file (git add, git commit)"
	case Ignored:
		return "stop ignoring the file in .gitignore, and commit it"
	}
	return "commit the change, or revert it (git restore)"
}

// Commit is one commit of the audited directory's history.
type Commit struct {
	Hash string
	// Time is the committer date: when the change landed on the branch,
	// which is when a GitOps controller can first have applied it.
	Time time.Time
	// Files are the changed files under the audited directory, relative
	// to it.
	Files []string
}

// Short is the abbreviated hash, as people quote commits.
func (c Commit) Short() string {
	if len(c.Hash) > 7 {
		return c.Hash[:7]
	}
	return c.Hash
}

// openGit returns the work tree holding root (a directory, or a file whose
// directory is used), or nil when root is not in one, git is not
// installed, or git cannot read it: the checks that need Git then say so.
func openGit(root string) *Git {
	dir := root
	if info, err := os.Stat(root); err == nil && !info.IsDir() {
		dir = filepath.Dir(root)
	}
	out, err := runGit(dir, nil, "rev-parse", "--show-toplevel", "--show-prefix", "--is-shallow-repository")
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 3 {
		return nil
	}
	g := &Git{top: lines[0], prefix: lines[1], shallow: lines[2] == "true"}
	_, err = g.run(nil, "rev-parse", "-q", "--verify", "HEAD")
	g.head = err == nil
	if g.states, err = g.status(); err != nil {
		return nil
	}
	return g
}

// status reads the state of every file under the audited directory that
// differs from the last commit. Ignored directories are listed whole
// (--ignored=matching), not file by file.
func (g *Git) status() (map[string]FileState, error) {
	out, err := g.run(nil, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--", g.pathspec(""))
	if err != nil {
		return nil, err
	}
	states := map[string]FileState{}
	fields := strings.Split(string(out), "\x00")
	for i := 0; i < len(fields); i++ {
		e := fields[i]
		if len(e) < 4 {
			continue
		}
		x, y, name := e[0], e[1], e[3:]
		if x == 'R' || x == 'C' {
			i++ // the source of a rename or copy follows
		}
		states[strings.TrimPrefix(name, g.prefix)] = porcelainState(x, y)
	}
	return states, nil
}

// porcelainState reads the XY code of git status --porcelain=v1: X is the
// index against HEAD, Y the work tree against the index.
func porcelainState(x, y byte) FileState {
	switch {
	case x == '?':
		return Untracked
	case x == '!':
		return Ignored
	case y != ' ':
		return Modified
	}
	return Staged
}

// State is how the work tree holds rel (relative to the audited
// directory).
func (g *Git) State(rel string) FileState {
	if s, ok := g.states[rel]; ok {
		return s
	}
	for dir := path.Dir(rel); ; dir = path.Dir(dir) {
		key := dir + "/"
		if dir == "." {
			key = "" // the audited directory itself
		}
		if g.states[key] == Ignored {
			return Ignored
		}
		if dir == "." || dir == "/" {
			return Committed
		}
	}
}

// Shallow reports a shallow clone: the history stops before the first
// commit, so what happened earlier cannot be known.
func (g *Git) Shallow() bool { return g.shallow }

// Log returns the commits of the current branch's first-parent history
// that changed paths (relative to the audited directory; none means all of
// it), oldest first. First parents are what was deployed: commits of a
// merged branch reach the branch together, at the merge.
func (g *Git) Log(paths ...string) ([]Commit, error) {
	if !g.head {
		return nil, nil
	}
	args := []string{"log", "--first-parent", "--reverse", "--no-renames", "--format=%x1e%H %ct", "--name-only", "-z", "--"}
	args = append(args, g.pathspecs(paths)...)
	out, err := g.run(nil, args...)
	if err != nil {
		return nil, err
	}
	var commits []Commit
	for _, rec := range strings.Split(string(out), "\x1e")[1:] {
		c, err := g.parseCommit(rec)
		if err != nil {
			return nil, fmt.Errorf("git log: %w", err)
		}
		commits = append(commits, c)
	}
	return commits, nil
}

// parseCommit reads one record of Log's output: "hash time\0" and the
// changed files, each ending in \0.
func (g *Git) parseCommit(rec string) (Commit, error) {
	fields := strings.Split(rec, "\x00")
	hash, secs, ok := strings.Cut(fields[0], " ")
	t, err := strconv.ParseInt(secs, 10, 64)
	if !ok || err != nil {
		return Commit{}, fmt.Errorf("unexpected record %q", fields[0])
	}
	c := Commit{Hash: hash, Time: time.Unix(t, 0).UTC()}
	for _, f := range fields[1:] {
		if f = strings.TrimPrefix(f, "\n"); f != "" {
			c.Files = append(c.Files, strings.TrimPrefix(f, g.prefix))
		}
	}
	return c, nil
}

// ReadFiles returns the content at commit of the files at or under paths
// (relative to the audited directory), keyed by their path relative to it.
// Paths the commit does not have are left out; symbolic links and
// submodules are too, having no content of their own.
func (g *Git) ReadFiles(commit string, paths ...string) (map[string][]byte, error) {
	args := append([]string{"ls-tree", "-r", "-z", "--full-tree", commit, "--"}, g.pathspecs(paths)...)
	out, err := g.run(nil, args...)
	if err != nil {
		return nil, err
	}
	var names, blobs []string
	for _, e := range strings.Split(string(out), "\x00") {
		meta, name, ok := strings.Cut(e, "\t")
		if f := strings.Fields(meta); ok && len(f) == 3 && f[0] != "120000" && f[1] == "blob" {
			names = append(names, strings.TrimPrefix(name, g.prefix))
			blobs = append(blobs, f[2])
		}
	}
	if len(blobs) == 0 {
		return map[string][]byte{}, nil
	}
	out, err = g.run(strings.NewReader(strings.Join(blobs, "\n")+"\n"), "cat-file", "--batch")
	if err != nil {
		return nil, err
	}
	return readBatch(out, names)
}

// readBatch splits git cat-file --batch output, "<hash> blob <size>\n",
// the content and "\n" per object, into names' contents.
func readBatch(out []byte, names []string) (map[string][]byte, error) {
	files := make(map[string][]byte, len(names))
	rd := bufio.NewReader(bytes.NewReader(out))
	for _, name := range names {
		header, err := rd.ReadString('\n')
		f := strings.Fields(header)
		if err != nil || len(f) != 3 {
			return nil, fmt.Errorf("git cat-file: unexpected header %q for %s", header, name)
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("git cat-file: unexpected header %q for %s", header, name)
		}
		data := make([]byte, size+1)
		if _, err := io.ReadFull(rd, data); err != nil {
			return nil, fmt.Errorf("git cat-file: %s: %w", name, err)
		}
		files[name] = data[:size]
	}
	return files, nil
}

// pathspecs turns paths relative to the audited directory into literal
// pathspecs relative to the top level, where every command runs.
func (g *Git) pathspecs(paths []string) []string {
	if len(paths) == 0 {
		return []string{g.pathspec("")}
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = g.pathspec(p)
	}
	sort.Strings(out)
	return out
}

func (g *Git) pathspec(rel string) string {
	p := path.Clean(g.prefix + rel)
	if p == "" || p == "." {
		return "."
	}
	return p
}

func (g *Git) run(stdin io.Reader, args ...string) ([]byte, error) {
	return runGit(g.top, stdin, args...)
}

// runGit runs git in dir. Pathspecs are literal (a file name with * in it
// is that file); optional locks are off so that reading never writes the
// index; paths are printed raw, not quoted.
func runGit(dir string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", dir, "--literal-pathspecs", "--no-optional-locks", "-c", "core.quotePath=false"}, args...)...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if errors.Is(err, exec.ErrNotFound) || msg == "" {
			return nil, fmt.Errorf("git %s: %w", args[0], err)
		}
		return nil, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out, nil
}

// Revision names what was audited for reports: the commit checked out,
// marked when audited files differ from it; "" before the first commit.
func (g *Git) Revision() string {
	if g == nil || !g.head {
		return ""
	}
	out, err := g.run(nil, "rev-parse", "HEAD")
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	for _, s := range g.states {
		if s != Committed && s != Ignored {
			return rev + " with uncommitted changes"
		}
	}
	return rev
}
