// Package bundle builds the web UI's bundle (ui/dist) from its sources
// (ui/web) with esbuild's Go API: one minified JS and one CSS file named by
// their content hash, each with a gzip twin, and index.html pointing at
// them. Node is needed only for `npm ci` (the pinned dependencies), not to
// build.
package bundle

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// AssetPrefix is where index.html loads the assets from, relative to the
// page so the UI works behind a path prefix (package ui serves them there).
const AssetPrefix = "static-files/"

// license credits the bundled dependency (uPlot's own header is not a
// comment esbuild keeps when minifying).
const license = "/*! mlgate web UI. Includes uPlot (https://github.com/leeoniya/uPlot), Copyright (c) Leon Sorokin, MIT License. */"

// Files are a built bundle: file name to content (gzip twins excluded).
type Files map[string][]byte

// Build bundles src (the ui/web folder) in memory. assetPrefix is the URL
// folder the page loads the assets from.
func Build(src, assetPrefix string) (Files, error) {
	if _, err := os.Stat(filepath.Join(src, "node_modules", "uplot")); err != nil {
		return nil, fmt.Errorf("%s/node_modules is missing: run scripts/ui-deps.sh (npm ci) first", src)
	}
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{filepath.Join(mustAbs(src), "src", "main.js")},
		Bundle:            true,
		Write:             false,
		Outdir:            "out",
		EntryNames:        "app-[hash]",
		AssetNames:        "asset-[hash]",
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Format:            api.FormatIIFE,
		Target:            api.ES2020,
		Platform:          api.PlatformBrowser,
		LegalComments:     api.LegalCommentsEndOfFile,
		Banner:            map[string]string{"js": license},
		AbsWorkingDir:     mustAbs(src),
		LogLevel:          api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, errors.New(strings.Join(msgs, "\n"))
	}
	files := Files{}
	var js, css string
	for _, f := range res.OutputFiles {
		name := filepath.Base(f.Path)
		files[name] = f.Contents
		switch filepath.Ext(name) {
		case ".js":
			js = name
		case ".css":
			css = name
		}
	}
	if js == "" || css == "" {
		return nil, errors.New("esbuild wrote no JS or no CSS")
	}
	tmpl, err := os.ReadFile(filepath.Join(src, "index.html"))
	if err != nil {
		return nil, err
	}
	icon, err := os.ReadFile(filepath.Join(src, "favicon.svg"))
	if err != nil {
		return nil, err
	}
	files["favicon.svg"] = icon
	page := strings.NewReplacer("{{js}}", assetPrefix+js, "{{css}}", assetPrefix+css, "{{favicon}}", assetPrefix+"favicon.svg").Replace(string(tmpl))
	files["index.html"] = []byte(page)
	return files, nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// Compressed is the gzip form the server sends for an asset.
func Compressed(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// Write replaces the bundle in out with files (and gzip twins of the JS
// and CSS).
func Write(out string, files Files) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	old, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	for _, e := range old {
		if err := os.Remove(filepath.Join(out, e.Name())); err != nil {
			return err
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return err
		}
		if ext := filepath.Ext(name); ext == ".js" || ext == ".css" {
			if err := os.WriteFile(filepath.Join(out, name+".gz"), Compressed(b), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// Diff compares files with the bundle in out and describes each
// difference (a gzip twin must hold the same bytes as its file).
func Diff(out string, files Files) ([]string, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	var diffs []string
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			return nil, err
		}
		if base, ok := strings.CutSuffix(name, ".gz"); ok {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				diffs = append(diffs, name+": not gzip")
				continue
			}
			plain, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(plain, files[base]) {
				diffs = append(diffs, name+": does not hold "+base)
			}
			continue
		}
		seen[name] = true
		want, ok := files[name]
		switch {
		case !ok:
			diffs = append(diffs, name+": stale (not built from the sources)")
		case !bytes.Equal(want, b):
			diffs = append(diffs, name+": differs from a fresh build")
		}
	}
	for name := range files {
		if !seen[name] {
			diffs = append(diffs, name+": missing")
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}

// Size is the total gzip-compressed size of the JS and CSS in files.
func Size(files Files) int {
	n := 0
	for name, b := range files {
		if ext := filepath.Ext(name); ext == ".js" || ext == ".css" {
			n += len(Compressed(b))
		}
	}
	return n
}
