//go:build integration

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/db/dbtest"
)

// metricRun is one run of the search fixtures: its tag w, its metric m
// (missing when !has) and its start time.
type metricRun struct {
	id    string
	w     string
	m     float64
	has   bool
	start int64
}

// searchFixture fills an experiment with runs whose metric m has ties,
// NaN and gaps, and returns them.
func searchFixture(t *testing.T, s *Store) (string, []metricRun) {
	t.Helper()
	ctx := context.Background()
	exp, err := s.CreateExperiment(ctx, "plan", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var runs []metricRun
	for i := range 60 {
		r := metricRun{w: fmt.Sprint(i % 3), start: int64(1000 + i%7), has: i%5 != 4}
		r.m = float64(i%9) / 8 // ties
		if i%11 == 3 {
			r.m = math.NaN()
		}
		run, err := s.CreateRun(ctx, CreateRunInput{ExperimentID: exp, StartTime: r.start, Tags: []Tag{{Key: "w", Value: r.w}}})
		if err != nil {
			t.Fatal(err)
		}
		r.id = run.Info.RunID
		if r.has {
			if err := s.LogBatch(ctx, r.id, []Metric{{Key: "m", Value: r.m, Timestamp: 1}, {Key: "other", Value: 1, Timestamp: 1}}, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		runs = append(runs, r)
	}
	return exp, runs
}

// TestSearchOrderedMetricFilter checks a filter and an order on one metric
// (the inner-joined form) against the order worked out here: value, then
// start time descending, then run id.
func TestSearchOrderedMetricFilter(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(context.Background(), dbtest.Open(t, b), Options{DefaultArtifactRoot: "/tmp/a"})
			if err != nil {
				t.Fatal(err)
			}
			exp, runs := searchFixture(t, s)
			for _, tc := range []struct {
				filter string
				order  string
				keep   func(r metricRun) bool
				desc   bool
			}{
				{"tags.w = '1' and metrics.m > 0.1", "metrics.m", func(r metricRun) bool { return r.w == "1" && r.m > 0.1 }, false},
				{"metrics.m >= 0.25 and metrics.m < 0.9", "metrics.m DESC", func(r metricRun) bool { return r.m >= 0.25 && r.m < 0.9 }, true},
				{"metrics.m != 0.5", "metrics.`m` ASC", func(r metricRun) bool { return r.m != 0.5 }, false},
				{"metrics.m <= 1 and tags.w != '2'", "metric.m DESC", func(r metricRun) bool { return r.m <= 1 && r.w != "2" }, true},
			} {
				var want []string
				var kept []metricRun
				for _, r := range runs {
					if r.has && !math.IsNaN(r.m) && tc.keep(r) {
						kept = append(kept, r)
					}
				}
				sort.Slice(kept, func(i, j int) bool {
					a, b := kept[i], kept[j]
					if a.m != b.m {
						return (a.m < b.m) != tc.desc
					}
					if a.start != b.start {
						return a.start > b.start
					}
					return a.id < b.id
				})
				for _, r := range kept {
					want = append(want, r.id)
				}
				var got []string
				tok := ""
				for {
					page, next, err := s.SearchRuns(context.Background(), SearchRunsInput{ExperimentIDs: []string{exp}, Filter: tc.filter,
						OrderBy: []string{tc.order}, MaxResults: 7, PageToken: tok})
					if err != nil {
						t.Fatalf("%s: %v", tc.filter, err)
					}
					for _, r := range page {
						got = append(got, r.Info.RunID)
					}
					if tok = next; tok == "" {
						break
					}
				}
				if len(want) == 0 || !slices.Equal(got, want) {
					t.Fatalf("%s order by %s:\n got %v\nwant %v", tc.filter, tc.order, got, want)
				}
			}
		})
	}
}

// TestSearchPlanUsesMetricIndex checks that the database can answer the
// issue's search (a tag and a metric, ordered by the metric) by walking the
// latest_metrics (key, is_nan, value) index in order instead of sorting the
// whole experiment.
func TestSearchPlanUsesMetricIndex(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := dbtest.Open(t, b)
			s, err := Open(ctx, d, Options{DefaultArtifactRoot: "/tmp/a"})
			if err != nil {
				t.Fatal(err)
			}
			exp, _ := searchFixture(t, s)
			sb, _, _, err := s.runSearchSQL(SearchRunsInput{ExperimentIDs: []string{exp}, Filter: "tags.w = '1' and metrics.m > 0.1",
				OrderBy: []string{"metrics.m"}, MaxResults: 100})
			if err != nil {
				t.Fatal(err)
			}
			text := explainPlan(t, d, b, s.q.r(sb.String()), sb.Args...)
			if !strings.Contains(text, "latest_metrics_key_value") {
				t.Fatalf("plan does not use latest_metrics_key_value:\n%s", text)
			}
			if b.Name == "sqlite" && strings.Contains(text, "USE TEMP B-TREE FOR ORDER BY") {
				t.Fatalf("plan sorts every matching run:\n%s", text)
			}
		})
	}
}

// explainPlan returns the plan of query with args, one line per step. On
// PostgreSQL, sequential scans, sorts, hash and merge joins are turned
// off: a table of a few dozen rows is read whole by its cost model, and
// the question is whether an index can serve the query.
func explainPlan(t *testing.T, d *db.DB, b dbtest.Backend, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	explain := "EXPLAIN QUERY PLAN "
	conn, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if b.Name == "postgres" {
		explain = "EXPLAIN "
		for _, set := range []string{"SET enable_seqscan = off", "SET enable_sort = off", "SET enable_hashjoin = off", "SET enable_mergejoin = off"} {
			if _, err := conn.ExecContext(ctx, set); err != nil {
				t.Fatal(err)
			}
		}
		defer func() { _, _ = conn.ExecContext(ctx, "RESET ALL") }()
	}
	rows, err := conn.QueryContext(ctx, explain+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, _ := rows.Columns()
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// TestSearchPlanStaleStatistics checks that PostgreSQL looks each run's
// tags, params and metrics up by run id even when its statistics are
// those of a store filled in seconds after its migrations (latest_metrics
// analyzed empty by migration 3, the other tables not yet, every index
// estimated at one row): the state in which it used to match runs to
// rows by a join filter, a nested loop over every row of a key for each
// run. The store's own upkeep and autovacuum are off.
func TestSearchPlanStaleStatistics(t *testing.T) {
	ctx := context.Background()
	b := dbtest.Backend{Name: "postgres", URI: dbtest.PostgresURI}
	d := dbtest.Open(t, b)
	s, err := Open(ctx, d, Options{StatsEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := s.CreateExperiment(ctx, "stale", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	fill := func(lo, hi int) {
		series := fmt.Sprintf("WITH RECURSIVE s(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM s WHERE i < %d) ", lo, hi-1)
		for _, q := range []string{
			"INSERT INTO runs (run_uuid, experiment_id, start_time) " + series + "SELECT 'r' || CAST(i AS TEXT), " + exp + ", i FROM s",
			"INSERT INTO tags (run_uuid, key, value) " + series + "SELECT 'r' || CAST(i AS TEXT), 'w', CAST(i % 6 AS TEXT) FROM s",
			"INSERT INTO params (run_uuid, key, value) " + series + "SELECT 'r' || CAST(i AS TEXT), 'p', CAST(i % 10 AS TEXT) FROM s",
			"INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) " + series +
				", k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k < 9) SELECT 'r' || CAST(i AS TEXT), 'm' || CAST(k AS TEXT), CAST(i % 97 AS DOUBLE PRECISION) / 97, 0, 1, 0 FROM s, k",
		} {
			if _, err := d.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, q := range []string{"ALTER TABLE runs SET (autovacuum_enabled = false)", "ALTER TABLE tags SET (autovacuum_enabled = false)",
		"ALTER TABLE params SET (autovacuum_enabled = false)", "ALTER TABLE latest_metrics SET (autovacuum_enabled = false)"} {
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	fill(0, 3000)
	searches := []SearchRunsInput{
		{Filter: "tags.w = '1' and metrics.m3 > 0.1", OrderBy: []string{"metrics.m3"}},
		{Filter: "tags.w = '1' and metrics.m3 > 0.1 and params.p != '3'"},
		{Filter: "params.p = '3' and metrics.m5 <= 0.5 and tags.x IS NULL", OrderBy: []string{"metrics.m1 DESC", "tags.w"}},
		{Filter: "metrics.m2 > 0.5", OrderBy: []string{"attributes.start_time", "metrics.m2"}},
	}
	// touched runs a search under EXPLAIN ANALYZE and returns its answer
	// and the rows its plan read, kept or threw away, by every node over
	// all its loops.
	touched := func(in SearchRunsInput) ([]string, float64) {
		in.ExperimentIDs = []string{exp}
		in.MaxResults = 100
		sb, _, _, err := s.runSearchSQL(in)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		if err := d.QueryRowContext(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+s.q.r(sb.String()), sb.Args...).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		var nodes []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(plan), &nodes); err != nil || len(nodes) != 1 {
			t.Fatalf("plan %q: %v", plan, err)
		}
		runs, _, err := s.SearchRuns(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.Info.RunID)
		}
		return ids, nodes[0].Plan.rowsTouched()
	}
	var stale [][]string
	for _, in := range searches {
		// A handful of rows per run when each lookup is by run id; the
		// join-filter plans read every row of a key for each run (millions).
		ids, n := touched(in)
		t.Logf("stale: %s order by %v: %.0f rows touched", in.Filter, in.OrderBy, n)
		if n > 20*3000 {
			t.Fatalf("%s order by %v: %.0f rows touched for 3,000 runs", in.Filter, in.OrderBy, n)
		}
		stale = append(stale, ids)
	}
	if _, err := d.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for i, in := range searches {
		ids, n := touched(in)
		t.Logf("fresh: %s order by %v: %.0f rows touched", in.Filter, in.OrderBy, n)
		if len(ids) == 0 || !slices.Equal(ids, stale[i]) {
			t.Fatalf("%s: %d runs on stale statistics, %d on fresh, or not the same", in.Filter, len(stale[i]), len(ids))
		}
		// The search walks the metric's index in order and stops
		// at the page: about 100 / (1/6 × 0.9) metric rows and their
		// lookups (2,802 rows touched in all), where sorting every match
		// reads all 2,700 and looks each up (over 8,000).
		if i == 0 && n > 5000 {
			t.Fatalf("%s order by %v: %.0f rows touched: every match sorted instead of an ordered walk", in.Filter, in.OrderBy, n)
		}
	}
	// The page's metrics are read run by run through the primary key
	// (1,000 rows for 100 runs of 10 metrics, about 3,100 rows touched),
	// not by scanning all 30,000.
	with, arg, err := s.positions(stale[0])
	if err != nil {
		t.Fatal(err)
	}
	var plan string
	if err := d.QueryRowContext(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+s.q.r(with+`SELECT p.i, m.key FROM p `+s.byID("latest_metrics", "m", "m.key")), arg).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var nodes []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(plan), &nodes); err != nil || len(nodes) != 1 {
		t.Fatalf("plan %q: %v", plan, err)
	}
	if n := nodes[0].Plan.rowsTouched(); len(stale[0]) != 100 || n > 6000 {
		t.Fatalf("the metrics of %d runs: %.0f rows touched:\n%s", len(stale[0]), n, plan)
	}
}

// planNode is a node of PostgreSQL's EXPLAIN (ANALYZE, FORMAT JSON).
type planNode struct {
	Rows         float64    `json:"Actual Rows"`
	Loops        float64    `json:"Actual Loops"`
	Removed      float64    `json:"Rows Removed by Filter"`
	JoinRemoved  float64    `json:"Rows Removed by Join Filter"`
	IndexRemoved float64    `json:"Rows Removed by Index Recheck"`
	Plans        []planNode `json:"Plans"`
}

// rowsTouched sums the rows each node produced or filtered out over its
// loops (EXPLAIN reports them per loop), down the tree.
func (n planNode) rowsTouched() float64 {
	sum := (n.Rows + n.Removed + n.JoinRemoved + n.IndexRemoved) * n.Loops
	for _, c := range n.Plans {
		sum += c.rowsTouched()
	}
	return sum
}
