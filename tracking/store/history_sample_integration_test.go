//go:build integration

package store

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
)

// bulkIntervalByReadingAll is the implementation before history_sample.go:
// every row of the runs read, then sampled. The new one must answer the same.
func bulkIntervalByReadingAll(ctx context.Context, s *Store, runIDs []string, key string, startStep, endStep *int64, k int) ([]Metric, error) {
	args := []any{key}
	for _, id := range runIDs {
		args = append(args, id)
	}
	q := `SELECT ` + metricCols + ` FROM metrics WHERE key = ? AND run_uuid IN (` + placeholders(len(runIDs)) + `)`
	if startStep != nil {
		q += ` AND step >= ? AND step <= ?`
		args = append(args, *startStep, *endStep)
	}
	ms, err := collectMetrics(s.db.QueryContext(ctx, s.q.r(q+` ORDER BY run_uuid, step, timestamp, value, is_nan, model_id`), args...))
	if err != nil {
		return nil, err
	}
	byRun := map[string][]Metric{}
	for _, m := range ms {
		byRun[m.RunID] = append(byRun[m.RunID], m)
	}
	var out []Metric
	for _, id := range runIDs {
		out = append(out, sampleRows(byRun[id], k)...)
	}
	return out, nil
}

// TestBulkIntervalSamplesAsBefore compares the sampled answer with the
// one read whole, on runs of every shape: one value per step from 0, from
// a negative step, with gaps, several values at a step, NaN and infinite
// values, rows naming a dataset, fewer rows than asked, none; whole and
// in windows; several sizes; a run named twice and a missing run.
func TestBulkIntervalSamplesAsBefore(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		shapes := map[string]func(i int) (step int64, ts int64, v float64, keep bool){
			"dense": func(i int) (int64, int64, float64, bool) { return int64(i), int64(1000 + i), float64(i % 17), true },
			"negative": func(i int) (int64, int64, float64, bool) {
				return int64(i - 300), int64(5000 - i), math.Sin(float64(i)), true
			},
			"gaps":  func(i int) (int64, int64, float64, bool) { return int64(i * 3), int64(i), float64(i), true },
			"holes": func(i int) (int64, int64, float64, bool) { return int64(i), int64(i), float64(i), i%97 != 5 },
			"dupes": func(i int) (int64, int64, float64, bool) { return int64(i / 3), int64(i % 3), float64(-i), true },
			// As many rows as steps spanned, one step twice and one
			// missing between: rows 101..900 sit one step lower.
			"shifted": func(i int) (int64, int64, float64, bool) {
				if i > 100 && i <= 900 {
					return int64(i - 1), int64(i), float64(i), true
				}
				return int64(i), int64(i), float64(i), true
			},
			"special": func(i int) (int64, int64, float64, bool) {
				v := float64(i)
				switch i % 5 {
				case 1:
					v = math.NaN()
				case 2:
					v = math.Inf(-1)
				}
				return int64(i), 7, v, true
			},
			"short": func(i int) (int64, int64, float64, bool) { return int64(i), int64(i), 1, i < 9 },
			"zero":  func(i int) (int64, int64, float64, bool) { return 0, int64(i), float64(i), true },
		}
		denseRows := map[string]int{"dense": 1000, "negative": 1000, "special": 1000, "short": 9}
		var ids []string
		for name, f := range shapes {
			r, err := s.CreateRun(ctx, CreateRunInput{ExperimentID: "0", RunName: name, StartTime: 1})
			if err != nil {
				t.Fatal(err)
			}
			var ms []Metric
			for i := 0; i < 1000; i++ {
				step, ts, v, keep := f(i)
				if keep {
					ms = append(ms, Metric{Key: "m", Value: v, Timestamp: ts, Step: step})
				}
				if len(ms) == 1000 || (i == 999 && len(ms) > 0) {
					if err := s.LogBatch(ctx, r.Info.RunID, ms, nil, nil); err != nil {
						t.Fatal(err)
					}
					ms = ms[:0]
				}
			}
			ids = append(ids, r.Info.RunID)
		}
		// One value per step, every step, naming a dataset: sampled the
		// older way, the dataset kept in the answer.
		named, err := s.CreateRun(ctx, CreateRunInput{ExperimentID: "0", RunName: "named", StartTime: 1})
		if err != nil {
			t.Fatal(err)
		}
		var ms []Metric
		for i := range 1000 {
			ms = append(ms, Metric{Key: "m", Value: float64(i), Timestamp: int64(i), Step: int64(i), DatasetName: "eval", DatasetDigest: "d1"})
		}
		if err := s.LogBatch(ctx, named.Info.RunID, ms, nil, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, named.Info.RunID, ids[0], "0123456789abcdef0123456789abcdef")
		i64 := func(v int64) *int64 { return &v }
		windows := [][2]*int64{{nil, nil}, {i64(0), i64(999)}, {i64(10), i64(500)}, {i64(-100), i64(50)}, {i64(333), i64(333)}, {i64(2000), i64(3000)}}
		for _, k := range []int{1, 2, 7, 100, 333, 999, 1000, 2500} {
			for _, w := range windows {
				name := fmt.Sprintf("k=%d window=%v", k, w)
				if w[0] != nil {
					name = fmt.Sprintf("k=%d window=%d..%d", k, *w[0], *w[1])
				}
				want, err := bulkIntervalByReadingAll(ctx, s, ids, "m", w[0], w[1], k)
				if err != nil {
					t.Fatal(err)
				}
				fast := s.denseSampled.Load()
				got, err := s.GetMetricHistoryBulkInterval(ctx, ids, "m", w[0], w[1], k)
				if err != nil {
					t.Fatal(err)
				}
				// The runs of one value per step, every step, are
				// sampled from their summaries when the whole history
				// is asked and holds more than k rows.
				wantFast := int64(0)
				for _, n := range denseRows {
					if n > k {
						wantFast++
					}
				}
				if fast := s.denseSampled.Load() - fast; w[0] == nil && fast != wantFast {
					t.Fatalf("%s: %d runs sampled from their summary, want %d", name, fast, wantFast)
				}
				if !sameMetrics(got, want) {
					t.Fatalf("%s: %d rows, want %d:\n got %v\nwant %v", name, len(got), len(want), got, want)
				}
			}
		}
	})
}

// sameMetrics compares two answers, NaN equal to NaN.
func sameMetrics(a, b []Metric) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if math.IsNaN(x.Value) && math.IsNaN(y.Value) {
			x.Value, y.Value = 0, 0
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}
