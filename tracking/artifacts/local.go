package artifacts

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Local is a Repo in a local folder. All access goes through os.Root, so
// a symlink inside the folder that points outside it is refused.
type Local struct {
	dir string
}

// NewLocal returns a Repo for dir (created on first write).
func NewLocal(dir string) *Local { return &Local{dir: dir} }

func (l *Local) root(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(l.dir, 0o755); err != nil {
			return nil, err
		}
	}
	return os.OpenRoot(l.dir)
}

func mapErr(rel string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &notFoundError{msg: "No such file or directory: '" + rel + "'"}
	}
	if err != nil && strings.Contains(err.Error(), "path escapes from parent") {
		return badPath(rel)
	}
	return err
}

// Put implements Repo.
func (l *Local) Put(_ context.Context, rel string, r io.Reader, _ int64) error {
	if rel == "" {
		return badPath(rel)
	}
	root, err := l.root(true)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	if dir := path.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return mapErr(rel, err)
		}
	}
	tmp := rel + ".mlgate-upload"
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return mapErr(rel, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		_ = root.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		_ = root.Remove(tmp)
		return err
	}
	if err := root.Rename(tmp, rel); err != nil {
		_ = root.Remove(tmp)
		return mapErr(rel, err)
	}
	return nil
}

// Open implements Repo.
func (l *Local) Open(_ context.Context, rel string) (io.ReadCloser, int64, error) {
	root, err := l.root(false)
	if err != nil {
		return nil, 0, mapErr(rel, err)
	}
	defer func() { _ = root.Close() }()
	f, err := root.Open(rel)
	if err != nil {
		return nil, 0, mapErr(rel, err)
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		_ = f.Close()
		return nil, 0, &notFoundError{msg: "Not a file: '" + rel + "'"}
	}
	return f, st.Size(), nil
}

// List implements Repo.
func (l *Local) List(_ context.Context, rel string) ([]FileInfo, error) {
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
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, mapErr(rel, err)
	}
	if !st.IsDir() {
		return nil, nil
	}
	d, err := root.Open(name)
	if err != nil {
		return nil, mapErr(rel, err)
	}
	defer func() { _ = d.Close() }()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]FileInfo, 0, len(ents))
	for _, e := range ents {
		fi := FileInfo{Path: Join(rel, e.Name()), IsDir: e.IsDir()}
		if !fi.IsDir {
			info, err := e.Info()
			if err != nil {
				continue
			}
			fi.Size = info.Size()
		}
		out = append(out, fi)
	}
	sortInfos(out)
	return out, nil
}

// Delete implements Repo.
func (l *Local) Delete(_ context.Context, rel string) error {
	if rel == "" {
		return badPath(rel)
	}
	root, err := l.root(false)
	if err != nil {
		return mapErr(rel, err)
	}
	defer func() { _ = root.Close() }()
	if _, err := root.Lstat(rel); err != nil {
		return mapErr(rel, err)
	}
	return mapErr(rel, root.RemoveAll(rel))
}

var _ Repo = (*Local)(nil)
