package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/tracking/store"
)

func benchStore(b *testing.B) *store.Store {
	d, err := db.Open(context.Background(), "sqlite:///"+filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	s, err := store.Open(context.Background(), d, store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkLogBatch100(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	r, err := s.CreateRun(ctx, store.CreateRunInput{})
	if err != nil {
		b.Fatal(err)
	}
	ms := make([]store.Metric, 100)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for k := range ms {
			ms[k] = store.Metric{Key: fmt.Sprintf("m%d", k), Value: float64(i), Timestamp: int64(i), Step: int64(i)}
		}
		if err := s.LogBatch(ctx, r.Info.RunID, ms, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateRun(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.CreateRun(ctx, store.CreateRunInput{Tags: []store.Tag{{Key: "a", Value: "b"}}}); err != nil {
			b.Fatal(err)
		}
	}
}
