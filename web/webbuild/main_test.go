package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// hashedAsset is the name of a built asset: the source's base name, a content hash, and its extension.
var hashedAsset = regexp.MustCompile(`^assets/(main|styles)\.[A-Z0-9]{8}\.(js|css)$`)

func TestBuildTheUI(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dist")
	assets, err := build("..", out)
	if err != nil {
		t.Fatal(err)
	}
	if len(assets) != 2 {
		t.Fatalf("build(web) = %v; want a script and a style sheet", assets)
	}
	index := readFile(t, filepath.Join(out, "index.html"))
	for _, a := range assets {
		if !hashedAsset.MatchString(a) {
			t.Errorf("asset %q; want assets/<name>.<hash>.<ext>", a)
		}
		if !strings.Contains(index, `"`+a+`"`) {
			t.Errorf("index.html does not reference %s", a)
		}
		body := readFile(t, filepath.Join(out, a))
		if strings.HasSuffix(a, ".js") && regexp.MustCompile(`from\s*"\./`).MatchString(body) {
			t.Errorf("%s imports a relative module; want one bundle", a)
		}
	}
	if strings.Contains(index, `"src/`) {
		t.Errorf("index.html still references the sources:\n%s", index)
	}

	// The same sources build to the same names, and an earlier build is replaced.
	again, err := build("..", out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, assets) {
		t.Errorf("second build = %v; want the same names %v", again, assets)
	}
	files, _ := filepath.Glob(filepath.Join(out, "assets", "*"))
	if len(files) != len(assets) {
		t.Errorf("assets after a rebuild = %v; want only %v", files, assets)
	}
}

func TestBuildNamesChangeWithContent(t *testing.T) {
	src := t.TempDir()
	copyDir(t, "..", src, "index.html", "src")
	before, err := build(src, filepath.Join(t.TempDir(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	css := filepath.Join(src, "src", "styles.css")
	if err := os.WriteFile(css, []byte(readFile(t, css)+"\nbody { color: #000000; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := build(src, filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		changed := before[i] != after[i]
		if want := strings.HasSuffix(before[i], ".css"); changed != want {
			t.Errorf("after editing the style sheet: %s -> %s; want a new name only for the style sheet", before[i], after[i])
		}
	}
}

func TestBuildRefusesOutputItCannotReplace(t *testing.T) {
	notABuild := t.TempDir()
	if err := os.WriteFile(filepath.Join(notABuild, "notes.txt"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A copy of the sources, so that a broken check could only ever destroy the copy.
	parent := t.TempDir()
	src := filepath.Join(parent, "web")
	copyDir(t, "..", src, "index.html", "src")
	tests := []struct {
		name string
		out  string
	}{
		{"the sources", src},
		{"a directory holding the sources", parent},
		{"a directory that is not a build", notABuild},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := build(src, tt.out); err == nil {
				t.Errorf("build(%s, %s) = nil; want an error", src, tt.out)
			}
			if _, err := os.Stat(filepath.Join(src, "src", "main.js")); err != nil {
				t.Errorf("after a refused build: %v; want the sources untouched", err)
			}
		})
	}
	if got := readFile(t, filepath.Join(notABuild, "notes.txt")); got != "keep me" {
		t.Errorf("notes.txt = %q after a refused build; want it untouched", got)
	}
}

func TestRunReportsTheBuild(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dist")
	var sb strings.Builder
	if err := run([]string{"-src", "..", "-out", out}, &sb); err != nil {
		t.Fatal(err)
	}
	if got := sb.String(); !strings.Contains(got, "assets/main.") || !strings.Contains(got, "assets/styles.") {
		t.Errorf("run output = %q; want the built assets named", got)
	}
	if err := run([]string{"-src", t.TempDir(), "-out", out}, io.Discard); err == nil {
		t.Errorf("run with a source directory lacking index.html = nil; want an error")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// copyDir copies the named entries of from into to.
func copyDir(t *testing.T, from, to string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		err := filepath.WalkDir(filepath.Join(from, name), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(from, path)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(to, rel), 0o755)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(to, rel), b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
