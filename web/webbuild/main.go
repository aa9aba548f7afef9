// Command webbuild builds the web UI for a CDN. It bundles and minifies the scripts and style sheets that
// web/index.html references under src/ with esbuild, writes them under <out>/assets/ with a content hash in
// their names (main.3QWZ4X7T.js), and writes <out>/index.html referencing those names. The assets can then be
// cached forever and only index.html revalidated: a changed file gets a new name.
//
//	go run ./web/webbuild -src web -out web/dist
//
// web/ itself stays servable without a build (browsers load the ES modules directly), which is what `make up`
// falls back to when web/dist/ is missing.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "webbuild: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("webbuild", flag.ContinueOnError)
	fs.SetOutput(stdout)
	src := fs.String("src", "web", "directory holding index.html and the sources it references under src/")
	out := fs.String("out", "web/dist", "directory to write; replaced if it holds an earlier build")
	if err := fs.Parse(args); err != nil {
		return err
	}
	assets, err := build(*src, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %s with %s\n", filepath.Join(*out, "index.html"), strings.Join(assets, ", "))
	return nil
}

// sourceRef matches the scripts and style sheets index.html loads from src/.
var sourceRef = regexp.MustCompile(`(?:src|href)="(src/[^"]+\.(?:js|css))"`)

// build writes the built UI to outDir and returns the asset paths index.html references, relative to outDir.
func build(srcDir, outDir string) ([]string, error) {
	absSrc, err := filepath.Abs(srcDir)
	if err != nil {
		return nil, fmt.Errorf("source directory: %w", err)
	}
	absOut, err := filepath.Abs(outDir)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if err := checkReplaceable(absSrc, absOut); err != nil {
		return nil, err
	}
	index, err := os.ReadFile(filepath.Join(absSrc, "index.html"))
	if err != nil {
		return nil, fmt.Errorf("read index.html: %w", err)
	}
	var entries []string
	for _, m := range sourceRef.FindAllStringSubmatch(string(index), -1) {
		if !slices.Contains(entries, m[1]) {
			entries = append(entries, m[1])
		}
	}
	if len(entries) == 0 {
		return nil, errors.New("index.html references no src/*.js or src/*.css file")
	}

	// Build next to the output directory, then swap it in, so a failed build leaves the last good one.
	if err := os.MkdirAll(filepath.Dir(absOut), 0o755); err != nil {
		return nil, fmt.Errorf("create output parent: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(absOut), ".webbuild-")
	if err != nil {
		return nil, fmt.Errorf("create build directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	res := api.Build(api.BuildOptions{
		AbsWorkingDir:     absSrc,
		EntryPoints:       entries,
		Bundle:            true,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Format:            api.FormatESModule,
		Target:            api.ES2020,
		Charset:           api.CharsetUTF8,
		LegalComments:     api.LegalCommentsNone,
		Outdir:            filepath.Join(tmp, "assets"),
		EntryNames:        "[name].[hash]",
		AssetNames:        "[name].[hash]",
		Metafile:          true,
		Write:             true,
		LogLevel:          api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, fmt.Errorf("esbuild:\n%s", strings.Join(msgs, ""))
	}
	built, err := outputsByEntry(res.Metafile, absSrc, tmp)
	if err != nil {
		return nil, err
	}
	html := string(index)
	var assets []string
	for _, entry := range entries {
		asset, ok := built[entry]
		if !ok {
			return nil, fmt.Errorf("esbuild wrote no output for %s", entry)
		}
		html = strings.ReplaceAll(html, `"`+entry+`"`, `"`+asset+`"`)
		assets = append(assets, asset)
	}
	if err := os.WriteFile(filepath.Join(tmp, "index.html"), []byte(html), 0o644); err != nil {
		return nil, fmt.Errorf("write index.html: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("build directory: %w", err)
	}
	if err := os.RemoveAll(absOut); err != nil {
		return nil, fmt.Errorf("remove the earlier build: %w", err)
	}
	if err := os.Rename(tmp, absOut); err != nil {
		return nil, fmt.Errorf("move the build into place: %w", err)
	}
	return assets, nil
}

// outputsByEntry maps each entry point to its output file, relative to the build directory, from esbuild's
// metafile (whose paths are relative to the working directory).
func outputsByEntry(metafile, workDir, buildDir string) (map[string]string, error) {
	var meta struct {
		Outputs map[string]struct {
			EntryPoint string `json:"entryPoint"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(metafile), &meta); err != nil {
		return nil, fmt.Errorf("read esbuild metafile: %w", err)
	}
	out := map[string]string{}
	for path, o := range meta.Outputs {
		if o.EntryPoint == "" {
			continue
		}
		rel, err := filepath.Rel(buildDir, filepath.Join(workDir, path))
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", path, err)
		}
		out[o.EntryPoint] = filepath.ToSlash(rel)
	}
	return out, nil
}

// checkReplaceable refuses an output directory that the build could not safely replace: the sources
// themselves, a directory holding them, or an existing directory that is not an earlier build.
func checkReplaceable(src, out string) error {
	if out == src || strings.HasPrefix(src+string(filepath.Separator), out+string(filepath.Separator)) {
		return fmt.Errorf("output directory %s would replace the sources in %s", out, src)
	}
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("output directory: %w", err)
	case len(entries) == 0:
		return nil
	}
	if _, err := os.Stat(filepath.Join(out, "index.html")); err != nil {
		return fmt.Errorf("output directory %s is not empty and holds no earlier build (no index.html); refusing to replace it", out)
	}
	return nil
}
