package artifacts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// localRepo is a folder on this machine. Every access goes through
// os.Root, so a symlink inside the folder that leads out of it is refused,
// and a Put writes a temporary file that is renamed into place, so a failed
// Put leaves nothing at its path.
type localRepo struct{ dir string }

func openLocal(dir string) (Repo, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, storeErr(dir, "open", "", err)
	}
	return &localRepo{dir: abs}, nil
}

func (l *localRepo) URI() string { return l.dir }

func (l *localRepo) root(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(l.dir, 0o755); err != nil {
			return nil, err
		}
	}
	return os.OpenRoot(l.dir)
}

// mapLocal turns file system errors into the package's sentinels.
func mapLocal(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	case strings.Contains(err.Error(), "path escapes from parent"):
		return fmt.Errorf("%w: it leads out of the store", ErrBadPath)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

func (l *localRepo) fail(op, rel string, err error) error {
	return storeErr(l.dir, op, rel, mapLocal(err))
}

// Put implements Repo.
func (l *localRepo) Put(_ context.Context, rel string, r io.Reader, size int64) error {
	if err := checkRel(rel); err != nil {
		return l.fail("put", rel, err)
	}
	if rel == "" {
		return l.fail("put", rel, badPath(rel))
	}
	root, err := l.root(true)
	if err != nil {
		return l.fail("put", rel, err)
	}
	defer func() { _ = root.Close() }()
	if dir := path.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return l.fail("put", rel, err)
		}
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	tmp := path.Join(path.Dir(rel), ".mlgate-upload-"+hex.EncodeToString(nonce[:]))
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return l.fail("put", rel, err)
	}
	n, err := io.Copy(f, r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("got %d bytes, expected %d", n, size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return l.fail("put", rel, err)
	}
	return nil
}

// Open implements Repo.
func (l *localRepo) Open(_ context.Context, rel string) (rc io.ReadCloser, size int64, err error) {
	if err := checkRel(rel); err != nil {
		return nil, 0, l.fail("open", rel, err)
	}
	var f *os.File
	if rel == "" {
		// The root itself, when the URI names a file.
		f, err = os.Open(l.dir)
	} else {
		var root *os.Root
		if root, err = l.root(false); err == nil {
			f, err = root.Open(rel)
			_ = root.Close()
		}
	}
	if err != nil {
		return nil, 0, l.fail("open", rel, err)
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		_ = f.Close()
		return nil, 0, l.fail("open", rel, fmt.Errorf("%w: not a file", ErrNotFound))
	}
	return f, st.Size(), nil
}

// OpenRange implements RangeOpener.
func (l *localRepo) OpenRange(ctx context.Context, rel string, off, n int64) (io.ReadCloser, error) {
	rc, _, err := l.Open(ctx, rel)
	if err != nil {
		return nil, err
	}
	f := rc.(*os.File)
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, n), f}, nil
}

// List implements Repo.
func (l *localRepo) List(_ context.Context, rel string) ([]Entry, error) {
	if err := checkRel(rel); err != nil {
		return nil, l.fail("list", rel, err)
	}
	root, err := l.root(false)
	if err != nil {
		return nil, nil // a missing root lists empty, as in MLflow
	}
	defer func() { _ = root.Close() }()
	name := rel
	if name == "" {
		name = "."
	}
	st, err := root.Stat(name)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !st.IsDir() {
		return nil, nil
	}
	if err != nil {
		return nil, l.fail("list", rel, err)
	}
	d, err := root.Open(name)
	if err != nil {
		return nil, l.fail("list", rel, err)
	}
	defer func() { _ = d.Close() }()
	des, err := d.ReadDir(-1)
	if err != nil {
		return nil, l.fail("list", rel, err)
	}
	out := make([]Entry, 0, len(des))
	for _, de := range des {
		e := Entry{Path: joinKey(rel, de.Name()), IsDir: de.IsDir()}
		if !e.IsDir {
			info, err := de.Info()
			if err != nil {
				continue // removed meanwhile
			}
			e.Size = info.Size()
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out, nil
}

// Delete implements Repo. The root itself is never deleted.
func (l *localRepo) Delete(_ context.Context, rel string) error {
	if err := checkRel(rel); err != nil {
		return l.fail("delete", rel, err)
	}
	if rel == "" {
		return l.fail("delete", rel, badPath(rel))
	}
	root, err := l.root(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return l.fail("delete", rel, err)
	}
	defer func() { _ = root.Close() }()
	if _, err := root.Lstat(rel); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return l.fail("delete", rel, err)
	}
	return l.fail("delete", rel, root.RemoveAll(rel))
}

func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Path < es[j].Path })
}

var (
	_ Repo        = (*localRepo)(nil)
	_ RangeOpener = (*localRepo)(nil)
)
