// Package ortlib finds the ONNX Runtime shared library on disk. It does not
// load it (only flavors/onnx imports onnxruntime_go); it only decides which
// file to use, so that the search order is the same in every binary and test.
//
// Order: an explicit path (the --onnxruntime-lib flag), then the
// ONNXRUNTIME_LIB environment variable (read by cmd, passed in), then the
// project cache folder filled by `make onnxruntime`, then the system loader
// path.
package ortlib

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Version is the ONNX Runtime release mlgate is built and tested against.
const Version = "1.24.1"

// FileName is the shared library's file name.
const FileName = "libonnxruntime.so.1"

// ErrNotFound is returned when no candidate holds the library.
var ErrNotFound = errors.New("ONNX Runtime library " + FileName + " (" + Version +
	") not found: pass --onnxruntime-lib or set ONNXRUNTIME_LIB, or run `make onnxruntime`")

// Options are the places to look.
type Options struct {
	Flag     string   // --onnxruntime-lib
	Env      string   // $ONNXRUNTIME_LIB
	CacheDir string   // e.g. $XDG_CACHE_HOME/mlgate/onnxruntime-1.24.1
	System   []string // loader path folders, e.g. from $LD_LIBRARY_PATH plus /usr/lib
}

// DefaultCacheDir is the folder `make onnxruntime` fills: under
// $MLGATE_CACHE, else the user's cache folder.
func DefaultCacheDir(mlgateCache, userCache string) string {
	base := mlgateCache
	if base == "" {
		base = filepath.Join(userCache, "mlgate")
	}
	return filepath.Join(base, "onnxruntime-"+Version)
}

// SystemDirs returns the loader path folders to try: those of
// LD_LIBRARY_PATH (passed in) and the usual system folders.
func SystemDirs(ldLibraryPath string) []string {
	var dirs []string
	for _, d := range strings.Split(ldLibraryPath, ":") {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return append(dirs, "/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu")
}

// Find returns the first existing library file in the search order. An
// explicit flag or env path that does not exist is an error of its own, so
// that a typo is not silently replaced by another library.
func Find(o Options) (string, error) {
	for _, p := range []struct{ what, path string }{{"--onnxruntime-lib", o.Flag}, {"ONNXRUNTIME_LIB", o.Env}} {
		if p.path == "" {
			continue
		}
		if _, err := os.Stat(p.path); err != nil {
			return "", fmt.Errorf("%s=%q: %w", p.what, p.path, err)
		}
		return p.path, nil
	}
	dirs := append([]string{}, o.System...)
	if o.CacheDir != "" {
		dirs = append([]string{o.CacheDir}, dirs...)
	}
	for _, d := range dirs {
		p := filepath.Join(d, FileName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotFound
}
