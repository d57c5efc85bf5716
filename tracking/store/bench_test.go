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

// BenchmarkLogBatch100 logs batches of 100 metrics (100 keys at one
// step) to one run; cpu-ms/op is the process CPU time per batch.
func BenchmarkLogBatch100(b *testing.B) { onEachBackend(b, benchLogBatch100) }

func benchLogBatch100(b *testing.B, s *store.Store) {
	ctx := context.Background()
	r, err := s.CreateRun(ctx, store.CreateRunInput{})
	if err != nil {
		b.Fatal(err)
	}
	ms := make([]store.Metric, 100)
	before := cpuTime()
	for i := 0; b.Loop(); i++ {
		for k := range ms {
			ms[k] = store.Metric{Key: fmt.Sprintf("m%d", k), Value: float64(i), Timestamp: int64(i), Step: int64(i)}
		}
		if err := s.LogBatch(ctx, r.Info.RunID, ms, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-before)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
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
func BenchmarkBulkIntervalDense(b *testing.B) { onEachBackend(b, benchBulkIntervalDense) }

// onEachBackend runs fn on a fresh store of each backend (PostgreSQL when
// MLGATE_TEST_POSTGRES_DSN names a server).
func onEachBackend(b *testing.B, fn func(b *testing.B, s *store.Store)) {
	for _, be := range dbtest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			if be.Name == "postgres" && os.Getenv("MLGATE_TEST_POSTGRES_DSN") == "" {
				b.Skip("MLGATE_TEST_POSTGRES_DSN not set")
			}
			s, err := store.Open(context.Background(), dbtest.Open(b, be), store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
			if err != nil {
				b.Fatal(err)
			}
			fn(b, s)
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
	// A window (a chart zoomed in) counts each run's rows and steps in
	// it and reads the sampled steps.
	b.Run("k=100/window", func(b *testing.B) {
		from, to := int64(2000), int64(7999)
		before := cpuTime()
		for b.Loop() {
			got, err := s.GetMetricHistoryBulkInterval(ctx, ids, "loss", &from, &to, 100)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != 100*100 {
				b.Fatalf("%d points, want %d", len(got), 100*100)
			}
		}
		b.ReportMetric(float64(cpuTime()-before)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	})
	// get-history-bulk: every run's history in run and time order, cut
	// at 25,000 values (the first runs').
	b.Run("bulk-history", func(b *testing.B) {
		before := cpuTime()
		for b.Loop() {
			got, err := s.GetMetricHistoryBulk(ctx, ids, "loss", 25000)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != 25000 {
				b.Fatalf("%d points, want 25000", len(got))
			}
		}
		b.ReportMetric(float64(cpuTime()-before)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	})
}

// BenchmarkGetHistoryLong reads the history of one metric of 100,000
// steps (get-history, in timestamp order) whole, its first page of 1,000
// values, and in pages of 25,000 as the mlflow client reads it.
func BenchmarkGetHistoryLong(b *testing.B) { onEachBackend(b, benchGetHistoryLong) }

func benchGetHistoryLong(b *testing.B, s *store.Store) {
	ctx := context.Background()
	const n = 100000
	run, err := s.CreateRun(ctx, store.CreateRunInput{})
	if err != nil {
		b.Fatal(err)
	}
	ms := make([]store.Metric, 1000)
	for i := 0; i < n; i += len(ms) {
		for j := range ms {
			ms[j] = store.Metric{Key: "loss", Value: 1 / float64(i+j+1), Timestamp: 1700000000000 + int64(i+j)*7, Step: int64(i + j)}
		}
		if err := s.LogBatch(ctx, run.Info.RunID, ms, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name        string
		page, pages int
	}{{"whole", 0, 0}, {"first-page", 1000, 1}, {"pages", 25000, 0}} {
		b.Run(tc.name, func(b *testing.B) {
			want := n
			if tc.pages > 0 {
				want = tc.page * tc.pages
			}
			before := cpuTime()
			for b.Loop() {
				got, page := 0, store.Page{MaxResults: tc.page}
				for i := 0; tc.pages == 0 || i < tc.pages; i++ {
					ms, next, err := s.GetMetricHistory(ctx, run.Info.RunID, "loss", page)
					if err != nil {
						b.Fatal(err)
					}
					got += len(ms)
					if page.Token = next; next == "" {
						break
					}
				}
				if got != want {
					b.Fatalf("%d values, want %d", got, want)
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
