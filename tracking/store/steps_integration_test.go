//go:build integration

package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/mlgate/mlgate/internal/db/dbtest"
)

// stepSummary is the step summary of a latest_metrics row.
type stepSummary struct {
	rows, first, last int64
	dense             bool
}

// checkSummaries compares the step summaries with what the metrics table
// holds:
// the same keys, row counts and first and last steps, and dense only where
// the rows are one per step from the first to the last. want lists the
// keys that must be dense (written in order without duplicates).
func checkSummaries(t *testing.T, s *Store, want map[[2]string]bool) {
	t.Helper()
	ctx := context.Background()
	got := map[[2]string]stepSummary{}
	rows, err := s.db.QueryContext(ctx, `SELECT run_uuid, key, n_rows, min_step, step, dense FROM latest_metrics`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, key string
		var st stepSummary
		var dense int
		if err := rows.Scan(&id, &key, &st.rows, &st.first, &st.last, &dense); err != nil {
			t.Fatal(err)
		}
		st.dense = dense == 1
		got[[2]string{id, key}] = st
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT run_uuid, key, COUNT(*), COUNT(DISTINCT step), MIN(step), MAX(step),
		SUM(CASE WHEN dataset_name <> '' OR dataset_digest <> '' THEN 1 ELSE 0 END) FROM metrics GROUP BY run_uuid, key`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var id, key string
		var count, steps, first, last, datasets int64
		if err := rows.Scan(&id, &key, &count, &steps, &first, &last, &datasets); err != nil {
			t.Fatal(err)
		}
		n++
		k := [2]string{id, key}
		st, ok := got[k]
		switch {
		case !ok:
			t.Fatalf("%v: no summary of %d rows", k, count)
		case st.rows != count || st.first != first || st.last != last:
			t.Fatalf("%v: summary %+v, metrics hold %d rows at steps %d..%d", k, st, count, first, last)
		case st.dense && (count != steps || last-first+1 != count || datasets > 0):
			t.Fatalf("%v: dense, but %d rows at %d distinct steps %d..%d, %d naming a dataset", k, count, steps, first, last, datasets)
		case want[k] && !st.dense:
			t.Fatalf("%v: written in order, but not dense: %+v", k, st)
		}
	}
	if n != len(got) {
		t.Fatalf("%d summaries for %d series", len(got), n)
	}
	// The latest row is still MLflow's: the greatest by step, timestamp
	// and value.
	var wrong int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM latest_metrics l WHERE NOT EXISTS (
		SELECT 1 FROM metrics m WHERE m.run_uuid = l.run_uuid AND m.key = l.key AND m.step = l.step
			AND m.timestamp = l.timestamp AND m.value = l.value AND m.is_nan = l.is_nan) OR EXISTS (
		SELECT 1 FROM metrics m WHERE m.run_uuid = l.run_uuid AND m.key = l.key AND (m.step > l.step
			OR (m.step = l.step AND m.timestamp > l.timestamp)
			OR (m.step = l.step AND m.timestamp = l.timestamp AND m.value > l.value)))`).Scan(&wrong); err != nil || wrong != 0 {
		t.Fatalf("%d latest rows not the greatest (%v)", wrong, err)
	}
}

// TestStepSummaries writes random sequences (in order, out of order,
// repeated rows the insert ignores, a step twice, gaps, rows naming a
// dataset, several keys in a batch, single values) and checks the summaries against the metrics
// after each; then a run deleted takes its summaries along.
func TestStepSummaries(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(17, 5))
		want := map[[2]string]bool{}
		var ids []string
		for r := 0; r < 6; r++ {
			run, err := s.CreateRun(ctx, CreateRunInput{ExperimentID: "0", StartTime: 1})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, run.Info.RunID)
		}
		next := map[[2]string]int64{} // the next step of an in-order key
		for i := 0; i < 300; i++ {
			id := ids[rng.IntN(len(ids))]
			var ms []Metric
			for range 1 + rng.IntN(3) {
				key := fmt.Sprintf("m%d", rng.IntN(4))
				k := [2]string{id, key}
				if _, ok := want[k]; !ok {
					want[k] = true
				}
				n := 1 + rng.IntN(20)
				switch rng.IntN(9) {
				case 0: // out of order
					for j := range n {
						ms = append(ms, Metric{Key: key, Step: next[k] + int64(n-j), Timestamp: 1, Value: 1})
					}
					want[k] = false
				case 1: // rows already stored: ignored
					for j := range n {
						ms = append(ms, Metric{Key: key, Step: int64(j), Timestamp: int64(j), Value: float64(j)})
					}
					want[k] = want[k] && next[k] == 0 && n == 1
					next[k] = max(next[k], int64(n))
				case 2: // a step again, another value
					ms = append(ms, Metric{Key: key, Step: max(next[k]-1, 0), Timestamp: 99, Value: 2})
					want[k] = false
				case 4: // in order, naming a dataset
					ms = append(ms, Metric{Key: key, Step: next[k], Timestamp: 1, Value: 1, DatasetName: "d", DatasetDigest: "x"})
					next[k]++
					want[k] = false
				case 3: // a gap
					ms = append(ms, Metric{Key: key, Step: next[k] + 2, Timestamp: 1, Value: 1})
					next[k] += 3
					want[k] = false
				default: // in order
					for j := range int64(n) {
						step := next[k] + j
						ms = append(ms, Metric{Key: key, Step: step, Timestamp: step, Value: float64(step)})
					}
					next[k] += int64(n)
				}
			}
			if err := s.LogBatch(ctx, id, ms, nil, nil); err != nil {
				t.Fatal(err)
			}
			if i%25 == 0 {
				checkSummaries(t, s, want)
			}
		}
		checkSummaries(t, s, want)
		if _, err := s.db.ExecContext(ctx, s.q.r(`DELETE FROM runs WHERE run_uuid = ?`), ids[0]); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := s.db.QueryRowContext(ctx, s.q.r(`SELECT COUNT(*) FROM latest_metrics WHERE run_uuid = ?`), ids[0]).Scan(&left); err != nil || left != 0 {
			t.Fatalf("%d summaries of a deleted run (%v)", left, err)
		}
		for k := range want {
			if k[0] == ids[0] {
				delete(want, k)
			}
		}
		checkSummaries(t, s, want)
	})
}

// TestStepSummariesConcurrentWriters has writers log the same keys of a
// run at once (PostgreSQL lets them run side by side): some in order,
// some repeating what another wrote; the summaries match the metrics.
func TestStepSummariesConcurrentWriters(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		run, err := s.CreateRun(ctx, CreateRunInput{ExperimentID: "0", StartTime: 1})
		if err != nil {
			t.Fatal(err)
		}
		id := run.Info.RunID
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					var ms []Metric
					for _, key := range []string{"a", "b", "c"} {
						base := int64(i * 10)
						if w%2 == 1 { // every odd writer the same rows
							base = int64(i * 3)
						}
						for j := range int64(10) {
							ms = append(ms, Metric{Key: key, Step: base + j, Timestamp: base + j, Value: float64(w % 2)})
						}
					}
					if err := s.LogBatch(ctx, id, ms, nil, nil); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		checkSummaries(t, s, nil)
	})
}

// TestStepSummariesMigration fills the step summaries of the
// latest_metrics rows from the metrics a database held before migration
// 5: dense and not dense series, and one step a row naming a dataset (not
// dense).
func TestStepSummariesMigration(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := dbtest.Open(t, b)
			if err := d.Migrate(ctx, Component, Migrations[:4]); err != nil {
				t.Fatal(err)
			}
			q := prepareQueries(d)
			if _, err := d.ExecContext(ctx, `INSERT INTO experiments (experiment_id, name) VALUES (0, 'Default')`); err != nil {
				t.Fatal(err)
			}
			if _, err := d.ExecContext(ctx, q.r(`INSERT INTO runs (run_uuid, experiment_id) VALUES (?, ?)`), "r1", 0); err != nil {
				t.Fatal(err)
			}
			ins := q.r(`INSERT INTO metrics (run_uuid, key, value, timestamp, step, dataset_name) VALUES (?, ?, ?, ?, ?, ?)`)
			for i := range 50 {
				for _, row := range [][]any{
					{"r1", "dense", 1.0, i, i + 3, ""},
					{"r1", "gaps", 1.0, i, 2 * i, ""},
					{"r1", "twice", 1.0, i, i / 2, ""},
					{"r1", "named", 1.0, i, i, "eval"},
				} {
					if _, err := d.ExecContext(ctx, ins, row...); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Each series' latest row, as log-batch left it.
			if _, err := d.ExecContext(ctx, `INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step)
				SELECT run_uuid, key, MAX(value), 0, MAX(timestamp), MAX(step) FROM metrics GROUP BY run_uuid, key`); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, d, Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
			if err != nil {
				t.Fatal(err)
			}
			checkSummaries(t, s, map[[2]string]bool{{"r1", "dense"}: true})
		})
	}
}

// eachStore runs fn on a fresh store of each backend, in parallel.
func eachStore(t *testing.T, fn func(t *testing.T, s *Store)) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(context.Background(), dbtest.Open(t, b), Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
			if err != nil {
				t.Fatal(err)
			}
			fn(t, s)
		})
	}
}
