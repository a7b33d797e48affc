package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/bad/*.txtar and the README reference")

// archiveFS turns a txtar archive into a configuration directory. The
// section named "want" is not a file: it is the exact error Load must give.
func archiveFS(t *testing.T, path string) (fstest.MapFS, *txtar.Archive, string) {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	want := ""
	for _, f := range a.Files {
		if f.Name == "want" {
			want = string(f.Data)
			continue
		}
		fsys[f.Name] = &fstest.MapFile{Data: f.Data}
	}
	return fsys, a, want
}

// TestBadConfigs loads every testdata/bad/*.txtar and requires the exact
// error text its want section holds: file, line, column, field, message.
func TestBadConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.txtar")
	if len(files) < 25 && !*update {
		t.Fatalf("found %d bad-config cases, want at least 25", len(files))
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			fsys, a, want := archiveFS(t, path)
			if want == "" && !*update {
				t.Fatalf("%s has no want section", path)
			}
			_, err := Load(fsys, "cfg")
			if err == nil {
				t.Fatalf("Load succeeded; want error:\n%s", want)
			}
			got := err.Error() + "\n"
			if *update {
				rewriteWant(t, path, a, got)
				return
			}
			if got != want {
				t.Errorf("error mismatch\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func rewriteWant(t *testing.T, path string, a *txtar.Archive, got string) {
	t.Helper()
	var files []txtar.File
	for _, f := range a.Files {
		if f.Name != "want" {
			files = append(files, f)
		}
	}
	a.Files = append(files, txtar.File{Name: "want", Data: []byte(got)})
	if err := os.WriteFile(path, txtar.Format(a), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoodConfigs loads every testdata/good/*.txtar; its want section, if
// any, is the route table Load must produce.
func TestGoodConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.txtar")
	if len(files) == 0 {
		t.Fatal("no good-config cases")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			fsys, a, want := archiveFS(t, path)
			c, err := Load(fsys, "cfg")
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if *update {
				rewriteWant(t, path, a, c.Summary())
				return
			}
			if want != "" {
				if got := c.Summary(); got != want {
					t.Errorf("summary mismatch\n got:\n%s\nwant:\n%s", got, want)
				}
			}
		})
	}
}

func TestQuickstartLoads(t *testing.T) {
	if _, err := LoadDir("../../examples/quickstart"); err != nil {
		t.Fatal(err)
	}
}

// TestReadmeReference keeps the configuration reference in README.md
// identical to the one generated from the schema (go test -update rewrites
// it).
func TestReadmeReference(t *testing.T) {
	const begin, end = "<!-- config-reference:begin -->\n", "<!-- config-reference:end -->"
	readme := "../../README.md"
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", begin, end)
	}
	got, want := s[i+len(begin):j], Reference()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(readme, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md configuration reference is out of date; run go test ./internal/config -update\n got:\n%s\nwant:\n%s", got, want)
}
