package artifacts

import (
	"context"
	"io"
	"sort"
)

// FileInfo describes one entry of a listing. Path is the entry's name
// relative to the listed folder's repo root.
type FileInfo struct {
	Path  string
	IsDir bool
	Size  int64
}

// Repo is a folder of artifacts addressed by cleaned relative paths.
// Implementations are safe for concurrent use.
type Repo interface {
	// Put stores r at rel (creating parent folders), streaming it.
	Put(ctx context.Context, rel string, r io.Reader, size int64) error
	// Open returns the file's content and size; ErrNotFound when missing.
	Open(ctx context.Context, rel string) (io.ReadCloser, int64, error)
	// List returns the direct children of folder rel sorted by path, with
	// paths relative to the repo root; a missing folder or a file lists empty.
	List(ctx context.Context, rel string) ([]FileInfo, error)
	// Delete removes a file or a folder tree.
	Delete(ctx context.Context, rel string) error
}

// sub is a Repo restricted to a prefix of another.
type sub struct {
	r      Repo
	prefix string
}

// Sub returns the part of r under prefix (already cleaned); listed paths
// stay relative to the returned repo.
func Sub(r Repo, prefix string) Repo {
	if prefix == "" {
		return r
	}
	return &sub{r: r, prefix: prefix}
}

func (s *sub) Put(ctx context.Context, rel string, r io.Reader, size int64) error {
	return s.r.Put(ctx, Join(s.prefix, rel), r, size)
}

func (s *sub) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	return s.r.Open(ctx, Join(s.prefix, rel))
}

func (s *sub) List(ctx context.Context, rel string) ([]FileInfo, error) {
	fs, err := s.r.List(ctx, Join(s.prefix, rel))
	for i := range fs {
		fs[i].Path = fs[i].Path[min(len(fs[i].Path), len(s.prefix)+1):]
	}
	return fs, err
}

func (s *sub) Delete(ctx context.Context, rel string) error {
	return s.r.Delete(ctx, Join(s.prefix, rel))
}

func sortInfos(fs []FileInfo) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
}
