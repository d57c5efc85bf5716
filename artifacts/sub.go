package artifacts

import (
	"context"
	"io"
	"strings"
)

// Sub returns the part of r under prefix, a relative path checked like
// every other; the entries it lists are relative to prefix. It keeps r's
// RangeOpener.
func Sub(r Repo, prefix string) (Repo, error) {
	if err := checkRel(prefix); err != nil {
		return nil, storeErr(r.URI(), "open", prefix, err)
	}
	if prefix == "" {
		return r, nil
	}
	s := &sub{r: r, prefix: prefix}
	if ro, ok := r.(RangeOpener); ok {
		return &rangeSub{sub: s, ro: ro}, nil
	}
	return s, nil
}

type sub struct {
	r      Repo
	prefix string
}

func (s *sub) URI() string { return strings.TrimRight(s.r.URI(), "/") + "/" + s.prefix }

func (s *sub) path(op, rel string) (string, error) {
	if err := checkRel(rel); err != nil {
		return "", storeErr(s.URI(), op, rel, err)
	}
	return joinKey(s.prefix, rel), nil
}

func (s *sub) List(ctx context.Context, rel string) ([]Entry, error) {
	p, err := s.path("list", rel)
	if err != nil {
		return nil, err
	}
	es, err := s.r.List(ctx, p)
	for i := range es {
		es[i].Path = es[i].Path[min(len(es[i].Path), len(s.prefix)+1):]
	}
	return es, err
}

func (s *sub) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	p, err := s.path("open", rel)
	if err != nil {
		return nil, 0, err
	}
	return s.r.Open(ctx, p)
}

func (s *sub) Put(ctx context.Context, rel string, r io.Reader, size int64) error {
	p, err := s.path("put", rel)
	if err != nil {
		return err
	}
	return s.r.Put(ctx, p, r, size)
}

func (s *sub) Delete(ctx context.Context, rel string) error {
	p, err := s.path("delete", rel)
	if err != nil {
		return err
	}
	return s.r.Delete(ctx, p)
}

type rangeSub struct {
	*sub
	ro RangeOpener
}

func (s *rangeSub) OpenRange(ctx context.Context, rel string, off, n int64) (io.ReadCloser, error) {
	p, err := s.path("open", rel)
	if err != nil {
		return nil, err
	}
	return s.ro.OpenRange(ctx, p, off, n)
}
