package store

import (
	"context"
	"database/sql"

	"github.com/mlgate/mlgate/internal/db"
)

// The sampling of a whole history (no step window) from the step
// summaries (steps.go): a run whose summary says dense has row number i at
// step min_step+i, so the steps of the rows sampleRows keeps follow from
// its row count and first and last steps, with no pass over its rows.
// Runs of the same count and steps (a comparison's usual case) are read
// together, only their sampled rows, by seeks on the metrics' primary
// key, which leads with (run_uuid, key, step) (migration 6).

// sampleDense puts in byRun the samples of the runs whose summary says
// dense and that hold more than k rows, and returns the other runs.
func (s *Store) sampleDense(ctx context.Context, runIDs []string, key string, k int, byRun map[string][]Metric) ([]string, error) {
	args := []any{key}
	for _, id := range runIDs {
		args = append(args, id)
	}
	rows, err := s.db.QueryContext(ctx, s.q.r(`SELECT run_uuid, n_rows, min_step, step FROM latest_metrics
		WHERE key = ? AND dense = 1 AND run_uuid IN (`+placeholders(len(runIDs))+`)`), args...)
	if err != nil {
		return nil, err
	}
	groups := map[stepStats][]string{}
	for rows.Next() {
		var id string
		var st stepStats
		if err := rows.Scan(&id, &st.rows, &st.first, &st.last); err != nil {
			_ = rows.Close()
			return nil, err
		}
		st.steps = st.rows
		if st.rows > k && st.dense() {
			groups[st] = append(groups[st], id)
		}
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for st, ids := range groups {
		got, err := s.rowsOfRunsAtSteps(ctx, ids, key, sampledSteps(st, k))
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if len(got[id]) == k { // else rows changed between the reads: sampled the other way
				byRun[id] = got[id]
				s.denseSampled.Add(1)
			}
		}
	}
	var rest []string
	for _, id := range runIDs {
		if _, done := byRun[id]; !done {
			rest = append(rest, id)
		}
	}
	return rest, nil
}

// rowsOfRunsAtSteps reads the rows of key in the runs at the given steps
// (at most 2,500, with at most 100 runs: within every dialect's limit of
// arguments), each run's in step order (the primary key's order, no
// sort). SQLite reads them in one statement, by seeks on the primary key
// (run_uuid, key, step, …), which is the table itself (WITHOUT ROWID).
// PostgreSQL's planner turns two lists on one index into a bitmap or
// sequential scan of every run's rows, so there each run has its own
// statement (an index scan of its sampled steps).
func (s *Store) rowsOfRunsAtSteps(ctx context.Context, runIDs []string, key string, steps []any) (map[string][]Metric, error) {
	out := make(map[string][]Metric, len(runIDs))
	if s.db.Dialect == db.Postgres {
		for _, id := range runIDs {
			ms, err := s.rowsAtSteps(ctx, id, key, steps)
			if err != nil {
				return nil, err
			}
			out[id] = ms
		}
		return out, nil
	}
	args := make([]any, 0, 1+len(runIDs)+len(steps))
	args = append(args, key)
	for _, id := range runIDs {
		args = append(args, id)
	}
	args = append(args, steps...)
	rows, err := s.db.QueryContext(ctx, s.q.r(`SELECT run_uuid, value, is_nan, timestamp, step, model_id FROM metrics WHERE key = ? AND run_uuid IN (`+
		placeholders(len(runIDs))+`) AND step IN (`+placeholders(len(steps))+`) ORDER BY run_uuid, step, timestamp, value, is_nan, model_id`), args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	// The run and model ids repeat from row to row: each is copied into
	// a string only when it changes.
	var id, model sql.RawBytes
	var runID, modelID string
	var cur []Metric
	for rows.Next() {
		m := Metric{Key: key}
		var isNaN int
		if err := rows.Scan(&id, &m.Value, &isNaN, &m.Timestamp, &m.Step, &model); err != nil {
			return nil, err
		}
		if string(id) != runID {
			if cur != nil {
				out[runID] = cur
			}
			runID, cur = string(id), make([]Metric, 0, len(steps))
		}
		if string(model) != modelID {
			modelID = string(model)
		}
		m.RunID, m.ModelID, m.Value = runID, modelID, metricValue(m.Value, isNaN != 0)
		cur = append(cur, m)
	}
	if cur != nil {
		out[runID] = cur
	}
	return out, rows.Err()
}
