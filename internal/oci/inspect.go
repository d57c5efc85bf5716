package oci

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Image is go-containerregistry's image, for packages that hold images
// without importing it.
type Image = v1.Image

// Platform is go-containerregistry's OS and architecture of an image.
type Platform = v1.Platform

// File is one object of an image's file system.
type File struct {
	// Type is the tar type flag (tar.TypeReg, tar.TypeSymlink, ...).
	Type byte
	// Link is the target of a symbolic or hard link.
	Link string
	// Mode is the permission bits.
	Mode int64
}

// Files lists the file system a container of img sees: every path
// (absolute and clean) of its layers, upper layers and whiteouts applied.
// It reads every layer once, without writing anything.
func Files(img v1.Image) (map[string]File, error) {
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	files := map[string]File{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the image's layers: %w", err)
		}
		p := path.Clean("/" + h.Name)
		files[p] = File{Type: h.Typeflag, Link: h.Linkname, Mode: h.Mode}
	}
}

// resolve follows symbolic links from p inside files and returns the
// path of the object it ends at, or false when it ends nowhere.
func resolve(files map[string]File, p string) (string, bool) {
	for range 16 {
		f, ok := files[p]
		if !ok {
			return "", false
		}
		if f.Type != tar.TypeSymlink {
			return p, true
		}
		target := f.Link
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = path.Clean(target)
	}
	return "", false
}

// ErrNoPython means an image holds no Python interpreter on its PATH.
var ErrNoPython = errors.New("no Python")

// Python is the interpreter of an image.
type Python struct {
	// Path is the interpreter's absolute path in the image, e.g.
	// /usr/local/bin/python3.11.
	Path string
	// Version is its major.minor version, e.g. 3.11.
	Version string
}

var pythonName = regexp.MustCompile(`^python3\.([0-9]+)$`)

// DefaultPath is the PATH of an image whose config sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// FindPython finds the Python 3 interpreter of an image from its files,
// without running it: in the first folder of the config's PATH that holds
// an executable python3.N, the one python3 links to, else the highest N.
func FindPython(img v1.Image, files map[string]File) (Python, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return Python{}, fmt.Errorf("read config: %w", err)
	}
	dirs := searchPath(cf.Config.Env)
	for _, dir := range dirs {
		var minors []int
		for p, f := range files {
			m := pythonName.FindStringSubmatch(path.Base(p))
			if m == nil || path.Dir(p) != dir || f.Type == tar.TypeDir {
				continue
			}
			if real, ok := resolve(files, p); !ok || files[real].Mode&0o111 == 0 {
				continue
			}
			n, err := strconv.Atoi(m[1])
			if err == nil {
				minors = append(minors, n)
			}
		}
		if len(minors) == 0 {
			continue
		}
		slices.Sort(minors)
		pick := minors[len(minors)-1]
		if real, ok := resolve(files, path.Join(dir, "python3")); ok {
			if m := pythonName.FindStringSubmatch(path.Base(real)); m != nil {
				if n, _ := strconv.Atoi(m[1]); slices.Contains(minors, n) {
					pick = n
				}
			}
		}
		v := "3." + strconv.Itoa(pick)
		return Python{Path: path.Join(dir, "python"+v), Version: v}, nil
	}
	return Python{}, fmt.Errorf("%w: no executable python3.N in %s (the PATH of its config)", ErrNoPython, strings.Join(dirs, ", "))
}

// searchPath returns the absolute folders of PATH in env (DefaultPath
// when unset).
func searchPath(env []string) []string {
	p := DefaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			p = v
		}
	}
	var dirs []string
	for _, d := range strings.Split(p, ":") {
		if path.IsAbs(d) && !slices.Contains(dirs, path.Clean(d)) {
			dirs = append(dirs, path.Clean(d))
		}
	}
	return dirs
}

// EnvValue returns the value of KEY in an image config's environment.
func EnvValue(img v1.Image, key string) (string, bool, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return "", false, err
	}
	for _, kv := range cf.Config.Env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true, nil
		}
	}
	return "", false, nil
}

// LayersByHistory returns the layers of img whose history line starts
// with prefix, in image order, as layers for a new build (with their
// history line as Comment).
func LayersByHistory(img v1.Image, prefix string) ([]LayerSpec, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	var hist []v1.History
	for _, h := range cf.History {
		if !h.EmptyLayer {
			hist = append(hist, h)
		}
	}
	if len(hist) != len(layers) {
		return nil, fmt.Errorf("its history has %d layer entries for %d layers", len(hist), len(layers))
	}
	var out []LayerSpec
	for i, h := range hist {
		if strings.HasPrefix(h.CreatedBy, prefix) {
			out = append(out, LayerSpec{Layer: layers[i], Comment: h.CreatedBy})
		}
	}
	return out, nil
}
