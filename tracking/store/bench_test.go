package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/db/dbtest"
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

// BenchmarkBulkIntervalDense samples one metric of 100 runs of 10,000
// steps each (one value per step) at 2,500 and at 100 points a run, the
// calls a chart and a comparison of many runs make; cpu-ms/op is the
// process CPU time per call (user+system), which other work on the
// machine does not inflate.
func BenchmarkBulkIntervalDense(b *testing.B) {
	for _, be := range dbtest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			if be.Name == "postgres" && os.Getenv("MLGATE_TEST_POSTGRES_DSN") == "" {
				b.Skip("MLGATE_TEST_POSTGRES_DSN not set")
			}
			s, err := store.Open(context.Background(), dbtest.Open(b, be), store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
			if err != nil {
				b.Fatal(err)
			}
			benchBulkIntervalDense(b, s)
		})
	}
}

func benchBulkIntervalDense(b *testing.B, s *store.Store) {
	ctx := context.Background()
	ids := make([]string, 100)
	ms := make([]store.Metric, 10000)
	for r := range ids {
		run, err := s.CreateRun(ctx, store.CreateRunInput{})
		if err != nil {
			b.Fatal(err)
		}
		ids[r] = run.Info.RunID
		for i := range ms {
			ms[i] = store.Metric{Key: "loss", Value: float64(r + i), Timestamp: int64(i), Step: int64(i)}
		}
		for i := 0; i < len(ms); i += 1000 {
			if err := s.LogBatch(ctx, ids[r], ms[i:i+1000], nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, k := range []int{2500, 100} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			before := cpuTime()
			for b.Loop() {
				got, err := s.GetMetricHistoryBulkInterval(ctx, ids, "loss", nil, nil, k)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != 100*k {
					b.Fatalf("%d points, want %d", len(got), 100*k)
				}
			}
			b.ReportMetric(float64(cpuTime()-before)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
