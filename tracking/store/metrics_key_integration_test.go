//go:build integration

package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/db/dbtest"
)

// metricsFixture is what fillMetrics logged: the runs (the last one
// deleted in the test), the keys, and the logged model some rows name.
type metricsFixture struct {
	runs  []string
	keys  []string
	model string
}

// fillMetrics logs, through the store's own writes, series of every
// shape the queries on metrics meet: one value per step (dense), rows
// logged twice (the insert ignores them, a row differing only in its
// dataset too), a clock that runs back as steps go on with several values
// at a step and rows tied on timestamp, step and value (told apart by
// is_nan and model_id), NaN and infinite values at negative steps, rows
// naming a dataset or a logged model, and random rows.
func fillMetrics(t *testing.T, s *Store) metricsFixture {
	t.Helper()
	ctx := context.Background()
	model, err := s.CreateLoggedModel(ctx, CreateLoggedModelInput{ExperimentID: "0", Name: "model"})
	if err != nil {
		t.Fatal(err)
	}
	f := metricsFixture{keys: []string{"dense", "dupes", "clock", "special", "named", "model", "random"}, model: model.ModelID}
	logAll := func(run string, ms []Metric) {
		t.Helper()
		for len(ms) > 0 {
			n := min(len(ms), 1000)
			if err := s.LogBatch(ctx, run, ms[:n], nil, nil); err != nil {
				t.Fatal(err)
			}
			ms = ms[n:]
		}
	}
	rnd := rand.New(rand.NewPCG(6, 6))
	for r, n := range []int{1500, 300, 600} {
		run, err := s.CreateRun(ctx, CreateRunInput{ExperimentID: "0", StartTime: 1})
		if err != nil {
			t.Fatal(err)
		}
		id := run.Info.RunID
		f.runs = append(f.runs, id)
		var ms []Metric
		for i := range n {
			ms = append(ms, Metric{Key: "dense", Value: float64(i % 17), Timestamp: int64(1000 + i), Step: int64(i)})
		}
		logAll(id, ms)
		ms = ms[:0]
		for i := range n / 2 {
			ms = append(ms, Metric{Key: "dupes", Value: float64(i) / 3, Timestamp: int64(i), Step: int64(i / 2)})
		}
		logAll(id, ms)
		// The same rows again (ignored), one of them naming a dataset
		// (the same row by the key: ignored too), and new ones.
		again := append([]Metric(nil), ms[:n/4]...)
		again[0].DatasetName, again[0].DatasetDigest = "eval", "d0"
		for i := range 10 {
			again = append(again, Metric{Key: "dupes", Value: -1, Timestamp: int64(i), Step: int64(n + i)})
		}
		logAll(id, again)
		ms = ms[:0]
		for i := range n {
			// Rows 9j+1 and 9j+2 tie with row 9j on timestamp, step and
			// value (0): one is NaN (stored as 0), one names the model.
			base := i - i%9
			m := Metric{Key: "clock", Value: float64(i % 4), Timestamp: int64(1_000_000 - i*5 + r), Step: int64(i / 3)}
			switch i % 9 {
			case 0:
				m.Value = 0
			case 1:
				m.Value, m.Timestamp, m.Step = math.NaN(), int64(1_000_000-base*5+r), int64(base/3)
			case 2:
				m.Value, m.Timestamp, m.Step, m.ModelID = 0, int64(1_000_000-base*5+r), int64(base/3), f.model
			}
			ms = append(ms, m)
		}
		logAll(id, ms)
		ms = ms[:0]
		for i := range n {
			v := float64(i)
			switch i % 5 {
			case 1:
				v = math.NaN()
			case 2:
				v = math.Inf(1)
			case 3:
				v = math.Inf(-1)
			}
			ms = append(ms, Metric{Key: "special", Value: v, Timestamp: 7, Step: int64(i - n/2)})
		}
		logAll(id, ms)
		ms = ms[:0]
		for i := range n {
			ms = append(ms, Metric{Key: "named", Value: float64(i), Timestamp: int64(i), Step: int64(i), DatasetName: "eval", DatasetDigest: fmt.Sprint("d", i%3)})
		}
		logAll(id, ms)
		ms = ms[:0]
		for i := range n / 10 {
			ms = append(ms, Metric{Key: "model", Value: float64(i) * 1.5, Timestamp: int64(10 * i), Step: int64(i), ModelID: f.model})
		}
		logAll(id, ms)
		ms = ms[:0]
		for range n {
			m := Metric{Key: "random", Value: float64(rnd.IntN(50)), Timestamp: int64(rnd.IntN(400)), Step: int64(rnd.IntN(300))}
			if rnd.IntN(10) == 0 {
				m.Value = math.NaN()
			}
			if rnd.IntN(4) == 0 {
				m.ModelID = f.model
			}
			ms = append(ms, m)
		}
		logAll(id, ms)
	}
	return f
}

// metricAnswers is every answer read from the metrics: the rows, the
// latest rows and summaries, and what get-history (whole and in pages),
// get-history-bulk, get-history-bulk-interval and get-logged-model
// answer, by a name that tells the call.
func metricAnswers(t *testing.T, s *Store, f metricsFixture) map[string][]Metric {
	t.Helper()
	ctx := context.Background()
	out := map[string][]Metric{}
	// Every row, in run and key order, then get-history's: the answers
	// are checked against it too.
	rows, err := collectMetrics(s.db.QueryContext(ctx, `SELECT `+metricCols+` FROM metrics
		ORDER BY run_uuid, key, timestamp, step, value, is_nan, model_id`))
	if err != nil {
		t.Fatal(err)
	}
	out["rows"] = rows
	lrows, err := s.db.QueryContext(ctx, `SELECT run_uuid, key, value, is_nan, timestamp, step, n_rows, min_step, dense
		FROM latest_metrics ORDER BY run_uuid, key`)
	if err != nil {
		t.Fatal(err)
	}
	for lrows.Next() {
		var m Metric
		var isNaN, n, first, dense int64
		if err := lrows.Scan(&m.RunID, &m.Key, &m.Value, &isNaN, &m.Timestamp, &m.Step, &n, &first, &dense); err != nil {
			t.Fatal(err)
		}
		// The summary rides in the fields a latest row leaves empty.
		m.ModelID, m.DatasetName = fmt.Sprint(n, "/", first, "/", dense), fmt.Sprint(isNaN)
		out["latest"] = append(out["latest"], m)
	}
	if err := lrows.Close(); err != nil {
		t.Fatal(err)
	}
	i64 := func(v int64) *int64 { return &v }
	asked := append(slices.Clone(f.runs), f.runs[0], "0123456789abcdef0123456789abcdef")
	for _, key := range f.keys {
		for _, id := range f.runs {
			whole, next, err := s.GetMetricHistory(ctx, id, key, Page{})
			if err != nil || next != "" {
				t.Fatalf("history %s: %v %q", key, err, next)
			}
			if want := rowsOf(rows, key, id); !sameMetrics(whole, want) {
				t.Fatalf("history %s %s: %d rows, want %d in timestamp, step, value, is_nan, model_id order:\n got %v\nwant %v",
					id, key, len(whole), len(want), head(whole), head(want))
			}
			out["history "+id+" "+key] = whole
			var paged []Metric
			page := Page{MaxResults: 333}
			for {
				ms, next, err := s.GetMetricHistory(ctx, id, key, page)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, ms...)
				if page.Token = next; next == "" {
					break
				}
			}
			if !sameMetrics(paged, whole) {
				t.Fatalf("history %s %s: pages of 333 give %d rows, whole %d", id, key, len(paged), len(whole))
			}
		}
		for _, max := range []int{0, 700, 2500} {
			ms, err := s.GetMetricHistoryBulk(ctx, asked, key, max)
			if err != nil {
				t.Fatal(err)
			}
			want := rowsOf(rows, key, f.runs...)
			if max == 0 {
				max = 25000
			}
			if want = want[:min(len(want), max)]; !sameMetrics(ms, want) {
				t.Fatalf("bulk %s max=%d: %d rows, want %d", key, max, len(ms), len(want))
			}
			out[fmt.Sprintf("bulk %s max=%d", key, max)] = ms
		}
		for _, k := range []int{1, 7, 100, 1000} {
			for _, w := range [][2]*int64{{nil, nil}, {i64(0), i64(999)}, {i64(-50), i64(50)}, {i64(100), i64(100)}} {
				ms, err := s.GetMetricHistoryBulkInterval(ctx, asked, key, w[0], w[1], k)
				if err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("interval %s k=%d", key, k)
				if w[0] != nil {
					name += fmt.Sprintf(" window=%d..%d", *w[0], *w[1])
				}
				out[name] = ms
			}
		}
	}
	m, err := s.GetLoggedModel(ctx, f.model)
	if err != nil {
		t.Fatal(err)
	}
	// Its order ties on key, step and timestamp: compared as a set.
	ms := slices.Clone(m.Metrics)
	slices.SortFunc(ms, func(a, b Metric) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	out["logged model"] = ms
	return out
}

// TestMetricsKeyMigration fills a store of schema version 5 (metrics
// keyed by run, key and timestamp, and the index on run, key and step),
// migrates it to 6 and checks that every row and every answer read from
// the metrics is unchanged, that the key leads with (run_uuid, key,
// step) and the index is gone, and that writes, the step summaries and
// the runs' cascade work on the new table.
func TestMetricsKeyMigration(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := dbtest.Open(t, b)
			if err := d.Migrate(ctx, Component, Migrations[:5]); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(metricsIndexes(t, d), "metrics_run_key_step") {
				t.Fatalf("version 5 has no metrics_run_key_step: %v", metricsIndexes(t, d))
			}
			v5 := &Store{db: d, now: time.Now, q: prepareQueries(d)}
			if err := v5.ensureDefaultExperiment(ctx); err != nil {
				t.Fatal(err)
			}
			f := fillMetrics(t, v5)
			before := metricAnswers(t, v5, f)
			if n := len(before["rows"]); n < 10000 {
				t.Fatalf("the fixture holds %d rows", n)
			}

			s, err := Open(ctx, d, Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
			if err != nil {
				t.Fatal(err)
			}
			if got := metricsKey(t, d); !slices.Equal(got, []string{"run_uuid", "key", "step", "timestamp", "value", "is_nan", "model_id"}) {
				t.Fatalf("metrics key %v", got)
			}
			idx := metricsIndexes(t, d)
			if slices.Contains(idx, "metrics_run_key_step") || !slices.Contains(idx, "metrics_model") {
				t.Fatalf("metrics indexes after version 6: %v", idx)
			}
			after := metricAnswers(t, s, f)
			if len(after) != len(before) {
				t.Fatalf("%d answers, %d before", len(after), len(before))
			}
			for name, want := range before {
				if got := after[name]; !sameMetrics(got, want) {
					t.Fatalf("%s changed: %d rows, %d before\n got %v\nwant %v", name, len(got), len(want), head(got), head(want))
				}
			}

			// Writes: the first batch of dupes again is ignored; dense
			// goes on dense.
			var again, more []Metric
			for i := range 375 {
				again = append(again, Metric{Key: "dupes", Value: float64(i) / 3, Timestamp: int64(i), Step: int64(i / 2)})
			}
			for i := 1500; i < 1600; i++ {
				more = append(more, Metric{Key: "dense", Value: float64(i % 17), Timestamp: int64(1000 + i), Step: int64(i)})
			}
			if err := s.LogBatch(ctx, f.runs[0], again, nil, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.LogBatch(ctx, f.runs[0], more, nil, nil); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM metrics`).Scan(&n); err != nil || n != len(before["rows"])+len(more) {
				t.Fatalf("%d rows after writing %d new ones to %d (%v)", n, len(more), len(before["rows"]), err)
			}
			checkSummaries(t, s, map[[2]string]bool{{f.runs[0], "dense"}: true, {f.runs[1], "dense"}: true, {f.runs[2], "dense"}: true})
			// A run's metrics still go with it.
			if _, err := d.ExecContext(ctx, s.q.r(`DELETE FROM runs WHERE run_uuid = ?`), f.runs[2]); err != nil {
				t.Fatal(err)
			}
			if err := d.QueryRowContext(ctx, s.q.r(`SELECT COUNT(*) FROM metrics WHERE run_uuid = ?`), f.runs[2]).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d metrics of a deleted run (%v)", n, err)
			}
		})
	}
}

// metricsKey reads the columns of the metrics' primary key back from the
// database, in order.
func metricsKey(t *testing.T, d *db.DB) []string {
	t.Helper()
	q := `SELECT name FROM pragma_index_info((SELECT name FROM pragma_index_list('metrics') WHERE origin = 'pk')) ORDER BY seqno`
	if d.Dialect == db.Postgres {
		q = `SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			WHERE i.indrelid = 'metrics'::regclass AND i.indisprimary ORDER BY k.n`
	}
	return stringColumn(t, d, q)
}

// metricsIndexes names the indexes on metrics other than its key.
func metricsIndexes(t *testing.T, d *db.DB) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'metrics' AND sql IS NOT NULL ORDER BY name`
	if d.Dialect == db.Postgres {
		q = `SELECT indexname FROM pg_indexes WHERE tablename = 'metrics' AND indexname <> 'metrics_pkey' ORDER BY indexname`
	}
	return stringColumn(t, d, q)
}

func stringColumn(t *testing.T, d *db.DB, q string) []string {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rowsOf keeps the rows of key in the runs (rows ordered by run id, then
// get-history's order, as metricAnswers reads them).
func rowsOf(rows []Metric, key string, runs ...string) []Metric {
	var out []Metric
	for _, m := range rows {
		if m.Key == key && slices.Contains(runs, m.RunID) {
			out = append(out, m)
		}
	}
	return out
}

// head is at most the first 5 metrics, for messages.
func head(ms []Metric) []Metric { return ms[:min(len(ms), 5)] }
