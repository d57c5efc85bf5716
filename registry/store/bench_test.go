package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/registry/store"
)

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	d, err := db.Open(context.Background(), "sqlite:///"+filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	s, err := store.New(context.Background(), d, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.CreateRegisteredModel(ctx, "m", nil, ""); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := s.CreateModelVersion(ctx, store.CreateVersion{Name: "m", Source: "s3://b/m"}); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.SetRegisteredModelAlias(ctx, "m", "champ", "7"); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkModelChangeSeq(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.ModelChangeSeq(ctx, "m"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetModelVersionByAlias(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.GetModelVersionByAlias(ctx, "m", "champ"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateModelVersion(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.CreateModelVersion(ctx, store.CreateVersion{Name: "m", Source: "s3://b/m"}); err != nil {
			b.Fatal(err)
		}
	}
}
