package oci

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the file and image time of a build when SOURCE_DATE_EPOCH is not
// given: a fixed time keeps digests reproducible.
var Epoch = time.Unix(0, 0).UTC()

// Tree is one local folder placed into a layer.
type Tree struct {
	// Src is the local folder (or single file) to copy.
	Src string
	// Dest is the absolute path in the image where Src lands, e.g.
	// /opt/ml/model.
	Dest string
	// Owners maps image paths (absolute, e.g. /home/mlgate) to a uid:gid
	// owner; every other entry is owned by root.
	Owners map[string]Owner
	// Modes maps image paths to permission bits (with setuid, setgid and
	// sticky, e.g. 01777 for /tmp); every other file is 0644 (0755 when
	// executable) and every folder 0755.
	Modes map[string]int64
	// Links allows symbolic links whose target stays inside the image's
	// file system (base images need them; a model folder has none).
	Links bool
}

// Owner is a numeric file owner in an image.
type Owner struct{ UID, GID int }

// entry is one file system object of a layer, in the order it is written.
type entry struct {
	name  string // slash path without leading slash, e.g. opt/ml/model/MLmodel
	src   string // local path ("" for a parent folder that only exists in the image)
	mode  fs.FileMode
	perm  int64 // tar permission bits when Modes overrides them, else 0
	size  int64
	link  string
	owner Owner
}

// Layer returns a layer holding the trees, with every parent folder,
// sorted by path, owned by root unless Owners says otherwise, with
// normalised modes and the time mtime. The files are read again each time
// the layer is streamed, so the layer does not hold them in memory.
func Layer(mtime time.Time, trees ...Tree) (v1.Layer, error) {
	entries, err := collect(trees)
	if err != nil {
		return nil, err
	}
	opener := func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeTar(pw, entries, mtime)) }()
		return pr, nil
	}
	return tarball.LayerFromOpener(opener, tarball.WithMediaType(types.OCILayer))
}

// collect walks the trees into a sorted list of entries, rejecting what an
// image cannot hold safely.
func collect(trees []Tree) ([]entry, error) {
	byName := map[string]entry{}
	for _, t := range trees {
		dest, err := cleanDest(t.Dest)
		if err != nil {
			return nil, err
		}
		for p := path.Dir(dest); p != "." && p != "/"; p = path.Dir(p) {
			name := strings.TrimPrefix(p, "/")
			if _, ok := byName[name]; !ok {
				byName[name] = entry{name: name, mode: fs.ModeDir | 0o755, owner: t.Owners[p]}
			}
		}
		err = filepath.WalkDir(t.Src, func(local string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(t.Src, local)
			if err != nil {
				return err
			}
			img := dest
			if rel != "." {
				img = path.Join(dest, filepath.ToSlash(rel))
			}
			if img == "/" {
				return nil
			}
			e, err := makeEntry(local, img, d, t)
			if err != nil {
				return err
			}
			if prev, ok := byName[e.name]; ok && (!prev.mode.IsDir() || !e.mode.IsDir()) {
				return fmt.Errorf("%s: two sources place files at %s", t.Src, img)
			}
			byName[e.name] = e
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]entry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// cleanDest checks that an image path is absolute and clean.
func cleanDest(p string) (string, error) {
	if !path.IsAbs(p) || path.Clean(p) != p {
		return "", fmt.Errorf("image path %q must be absolute and clean", p)
	}
	return p, nil
}

func makeEntry(local, img string, d fs.DirEntry, t Tree) (entry, error) {
	e := entry{name: strings.TrimPrefix(img, "/"), src: local, owner: t.Owners[img], perm: t.Modes[img]}
	info, err := d.Info()
	if err != nil {
		return e, err
	}
	switch {
	case d.IsDir():
		e.mode = fs.ModeDir | 0o755
	case d.Type().IsRegular():
		e.mode, e.size = 0o644, info.Size()
		if info.Mode()&0o111 != 0 {
			e.mode = 0o755
		}
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(local)
		if err != nil {
			return e, err
		}
		if !t.Links {
			return e, fmt.Errorf("%s is a symbolic link; a model folder for an image must hold only files and folders", local)
		}
		if !linkInside(img, target) {
			return e, fmt.Errorf("%s links to %q, outside the image's file system", local, target)
		}
		e.mode, e.link = fs.ModeSymlink|0o777, target
	default:
		return e, fmt.Errorf("%s is not a file, folder or link (%s)", local, d.Type())
	}
	return e, nil
}

// linkInside reports whether a link at img pointing at target resolves
// inside the image root without climbing above it.
func linkInside(img, target string) bool {
	if target == "" {
		return false
	}
	depth := 0
	if dir := path.Dir(img); dir != "/" && !path.IsAbs(target) {
		depth = strings.Count(dir, "/")
	}
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "..":
			depth--
			if depth < 0 {
				return false
			}
		case ".", "":
		default:
			depth++
		}
	}
	return true
}

// writeTar writes entries as a tar stream with fixed metadata.
func writeTar(w io.Writer, entries []entry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		perm := int64(e.mode.Perm())
		if e.perm != 0 {
			perm = e.perm
		}
		h := &tar.Header{
			Name: e.name, Mode: perm, ModTime: mtime,
			Uid: e.owner.UID, Gid: e.owner.GID,
		}
		switch {
		case e.mode.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, e.name+"/"
		case e.mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if err := copyFile(tw, e.src, e.size); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// copyFile copies exactly size bytes of a file: a file that changed size
// since it was listed fails the layer instead of corrupting it.
func copyFile(w io.Writer, src string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err == nil && n != size {
		err = errors.New("file shrank while the layer was written")
	}
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return nil
}
