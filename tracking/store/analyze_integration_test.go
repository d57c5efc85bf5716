//go:build integration

package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/db/dbtest"
)

// addRuns inserts n runs of experiment 0, each with one tag, numbered from
// lo, in one statement per table (as a fast writer would over seconds).
func addRuns(t *testing.T, d *db.DB, lo, n int) {
	t.Helper()
	ctx := context.Background()
	id := "'r' || CAST(i AS TEXT)"
	series := fmt.Sprintf("WITH RECURSIVE s(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM s WHERE i < %d) ", lo, lo+n-1)
	for _, q := range []string{
		"INSERT INTO runs (run_uuid, experiment_id, start_time) " + series + "SELECT " + id + ", 0, i FROM s",
		"INSERT INTO tags (run_uuid, key, value) " + series + "SELECT " + id + ", 'w', CAST(i % 6 AS TEXT) FROM s",
	} {
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// pgModsSinceAnalyze waits until PostgreSQL's statistics show at least
// want changes to table since its last analysis (backends report them
// shortly after their transaction ends).
func pgModsSinceAnalyze(t *testing.T, d *db.DB, table string, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int64
		if err := d.QueryRowContext(context.Background(), `SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d changes since the last analysis, want %d", table, n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStatisticsAnalyzeGrownTables checks the PostgreSQL upkeep's rule: a
// table is analyzed once it changed by at least analyzeMinRows rows and a
// fifth of its rows at the last analysis, and not again until it grows
// again.
func TestStatisticsAnalyzeGrownTables(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, dbtest.Backend{Name: "postgres", URI: dbtest.PostgresURI})
	s, err := Open(ctx, d, Options{StatsEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	// autovacuum would race the store here.
	for _, q := range []string{"ALTER TABLE runs SET (autovacuum_enabled = false)", "ALTER TABLE tags SET (autovacuum_enabled = false)", "ANALYZE"} {
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	addRuns(t, d, 0, analyzeMinRows/2)
	pgModsSinceAnalyze(t, d, "tags", analyzeMinRows/2)
	got, err := s.refreshStatistics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("analyzed %v after %d new runs, below the minimum", got, analyzeMinRows/2)
	}
	addRuns(t, d, analyzeMinRows/2, 3*analyzeMinRows)
	pgModsSinceAnalyze(t, d, "tags", 3*analyzeMinRows)
	if got, err = s.refreshStatistics(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"runs", "tags"}) {
		t.Fatalf("analyzed %v, want [runs tags]", got)
	}
	var tuples float64
	if err := d.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE relname = 'runs'`).Scan(&tuples); err != nil {
		t.Fatal(err)
	}
	if want := float64(analyzeMinRows/2 + 3*analyzeMinRows); tuples != want {
		t.Fatalf("runs: the planner counts %v rows, want %v", tuples, want)
	}
	// 500 more on 3,500 analyzed: below the minimum.
	addRuns(t, d, 4*analyzeMinRows, analyzeMinRows/2)
	pgModsSinceAnalyze(t, d, "tags", analyzeMinRows/2)
	if got, err = s.refreshStatistics(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("analyzed %v again after a small change", got)
	}
}

// TestStatisticsKeptInBackground checks that an open store analyzes a
// table that outgrew its statistics by itself, and that Close stops it.
func TestStatisticsKeptInBackground(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := dbtest.Open(t, b)
			s, err := Open(ctx, d, Options{StatsEvery: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if b.Name == "sqlite" {
				// SQLite's upkeep is PRAGMA optimize every few minutes;
				// run one round by hand: the grown table gets statistics.
				addRuns(t, d, 0, 5000)
				if _, err := s.refreshStatistics(ctx); err != nil {
					t.Fatal(err)
				}
				var stat string
				if err := d.QueryRowContext(ctx, `SELECT stat FROM sqlite_stat1 WHERE tbl = 'tags' AND idx = 'tags_key_value'`).Scan(&stat); err != nil {
					t.Fatalf("no statistics for tags after optimize: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			// Not autovacuum's doing: it is off for tags.
			if _, err := d.ExecContext(ctx, "ALTER TABLE tags SET (autovacuum_enabled = false)"); err != nil {
				t.Fatal(err)
			}
			addRuns(t, d, 0, 3000)
			deadline := time.Now().Add(30 * time.Second)
			for {
				var analyzed bool
				var tuples float64
				if err := d.QueryRowContext(ctx, `SELECT s.last_analyze IS NOT NULL, c.reltuples FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'tags'`).Scan(&analyzed, &tuples); err != nil {
					t.Fatal(err)
				}
				if analyzed && tuples == 3000 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("tags not analyzed by the store (analyzed %v, %v rows)", analyzed, tuples)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil { // twice is fine
				t.Fatal(err)
			}
			select {
			case <-s.stats.done:
			default:
				t.Fatal("the upkeep still runs after Close")
			}
		})
	}
}
