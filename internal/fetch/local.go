package fetch

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// localRepo is a folder on this machine.
type localRepo struct{ root string }

func newLocalRepo(root string) *localRepo { return &localRepo{root: filepath.Clean(root)} }

func (r *localRepo) URI() string { return r.root }

func (r *localRepo) path(rel string) (string, error) {
	if err := safeRel(rel); err != nil {
		return "", err
	}
	return filepath.Join(r.root, filepath.FromSlash(rel)), nil
}

func (r *localRepo) List(_ context.Context, rel string) ([]Entry, error) {
	p, err := r.path(rel)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !st.IsDir()) {
		return nil, nil
	}
	des, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(des))
	for _, d := range des {
		e := Entry{Path: joinRel(rel, d.Name()), IsDir: d.IsDir(), Size: -1}
		if !d.IsDir() {
			if info, err := d.Info(); err == nil {
				e.Size = info.Size()
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func (r *localRepo) Open(_ context.Context, rel string) (io.ReadCloser, int64, error) {
	p, err := r.path(rel)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

func (r *localRepo) Put(_ context.Context, rel string, open func() (io.ReadCloser, error), _ int64) error {
	p, err := r.path(rel)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	src, err := open()
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, src); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p)
}

var _ Repo = (*localRepo)(nil)
