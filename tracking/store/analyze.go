package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mlgate/mlgate/internal/db"
)

// Planner statistics. A store that grows from a thousand runs to tens of
// thousands in minutes outruns autovacuum (it looks once a minute, and
// only past 10% growth), and PostgreSQL then plans searches from the
// statistics of the small store: every node estimated at one row, nested
// loops that match runs by a join filter instead of an index. The store
// therefore watches its own tables' growth, off the request path, and
// analyzes a table once it has changed by more than a fifth since its
// last analysis (and at least analyzeMinRows rows). SQLite's PRAGMA
// optimize, run at Open, is repeated now and then for the same reason.
const (
	// DefaultStatsEvery is how often a PostgreSQL store compares its
	// tables with their last analysis.
	DefaultStatsEvery = 5 * time.Second
	// sqliteOptimizeEvery is how often a SQLite store runs PRAGMA
	// optimize (SQLite advises it for long-lived connections; it analyzes
	// only tables whose size changed manyfold, sampling 1000 rows each).
	sqliteOptimizeEvery = 10 * time.Minute
	analyzeMinRows      = 500
	analyzeGrowth       = 0.2
)

// statTables are the tables whose statistics the store keeps fresh: those
// searches and run reads touch.
var statTables = []string{
	"runs", "tags", "params", "latest_metrics", "metrics", "experiments", "experiment_tags",
	"datasets", "run_datasets", "run_dataset_tags", "run_model_inputs", "run_model_outputs",
	"logged_models", "logged_model_tags", "logged_model_params",
}

// staleTablesSQL lists the statTables changed by more than analyzeGrowth
// of their rows at the last analysis (reltuples is -1 before the first).
var staleTablesSQL = fmt.Sprintf(`SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
	WHERE s.schemaname = current_schema() AND s.relname IN ('%s')
	AND s.n_mod_since_analyze >= %d AND s.n_mod_since_analyze >= %g * GREATEST(c.reltuples, 0)
	ORDER BY s.relname`, strings.Join(statTables, "', '"), analyzeMinRows, analyzeGrowth)

// statsKeeper runs the store's statistics upkeep in one goroutine.
type statsKeeper struct {
	cancel context.CancelFunc // Close: stops the loop and an analysis in flight
	done   chan struct{}      // closed when the goroutine returned
}

// keepStatistics starts the upkeep: every `every` on PostgreSQL (the first
// check at once, which also covers tables a migration just filled),
// every sqliteOptimizeEvery on SQLite. every < 0 turns it off.
func (s *Store) keepStatistics(every time.Duration, log *slog.Logger) {
	if every < 0 {
		return
	}
	if every == 0 {
		every = DefaultStatsEvery
	}
	first := time.Duration(0)
	if s.db.Dialect == db.SQLite {
		every, first = sqliteOptimizeEvery, sqliteOptimizeEvery // Open just ran it
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &statsKeeper{cancel: cancel, done: make(chan struct{})}
	s.stats = k
	go func() {
		defer close(k.done)
		t := time.NewTimer(first)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := s.refreshStatistics(ctx); err != nil {
				if ctx.Err() != nil || closedDB(err) {
					return
				}
				log.Warn("tracking store: refreshing planner statistics", slog.Any("err", err))
			}
			t.Reset(every)
		}
	}()
}

// closedDB reports the error database/sql returns once the pool is closed.
func closedDB(err error) bool {
	return errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "sql: database is closed")
}

// refreshStatistics analyzes the tables that grew past their statistics
// and returns their names (SQLite: runs PRAGMA optimize, returns nil).
// One table at a time, on one connection.
func (s *Store) refreshStatistics(ctx context.Context) ([]string, error) {
	if s.db.Dialect == db.SQLite {
		return nil, optimize(ctx, s.db)
	}
	rows, err := s.db.QueryContext(ctx, staleTablesSQL)
	if err != nil {
		return nil, err
	}
	var stale []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			_ = rows.Close()
			return nil, err
		}
		stale = append(stale, name)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, t := range stale {
		// The name is one of statTables (matched by the query above).
		if _, err := s.db.ExecContext(ctx, "ANALYZE "+t); err != nil {
			return nil, err
		}
	}
	return stale, nil
}

// Close stops the store's background work (the statistics upkeep) and
// waits for it. It does not close the database, which the caller owns.
func (s *Store) Close() error {
	if k := s.stats; k != nil {
		k.cancel()
		<-k.done
	}
	return nil
}
