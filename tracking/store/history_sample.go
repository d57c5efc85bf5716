package store

import "context"

// The sampling of get-history-bulk-interval without reading every row.
// A whole history (no step window) of a run whose step summary says dense
// is sampled from the summary (history_dense.go). For the other runs and
// for windows, passes over a range of the metrics' primary key, which
// leads with (run_uuid, key, step) (migration 6), count each run's rows
// and distinct steps in the window. A run whose rows hold one
// value per step, every step from its first to its last, has row number i
// at step first+i, so the rows sampleRows would keep are fetched by step:
// about maxResults index seeks instead of every row. Other runs (several values
// at a step, gaps between steps) and runs with at most maxResults rows are
// read whole and sampled by sampleRows as before.

// stepStats is what the counting pass tells of one run's rows in the window.
type stepStats struct {
	rows, steps int
	first, last int64
}

// dense reports whether row number i of the run is at step first+i.
func (st stepStats) dense() bool {
	return st.rows == st.steps && st.last-st.first+1 == int64(st.rows)
}

// sampleHistory answers GetMetricHistoryBulkInterval (arguments checked).
func (s *Store) sampleHistory(ctx context.Context, runIDs []string, key string, startStep, endStep *int64, k int) ([]Metric, error) {
	window, wargs := "", []any(nil)
	byRun := map[string][]Metric{}
	rest := runIDs
	if startStep != nil {
		window, wargs = ` AND step >= ? AND step <= ?`, []any{*startStep, *endStep}
	} else {
		var err error
		if rest, err = s.sampleDense(ctx, runIDs, key, k, byRun); err != nil {
			return nil, err
		}
	}
	stats, err := s.stepStats(ctx, rest, key, window, wargs, k)
	if err != nil {
		return nil, err
	}
	var whole []string
	for id, st := range stats {
		if st.rows <= k || !st.dense() {
			whole = append(whole, id)
			continue
		}
		ms, err := s.rowsAtSteps(ctx, id, key, sampledSteps(st, k))
		if err != nil {
			return nil, err
		}
		if len(ms) != k { // rows logged between the two reads: read it whole
			whole = append(whole, id)
			continue
		}
		byRun[id] = ms
	}
	for len(whole) > 0 {
		chunk := whole[:min(len(whole), 100)]
		whole = whole[len(chunk):]
		args := []any{key}
		for _, id := range chunk {
			args = append(args, id)
		}
		q := `SELECT ` + metricCols + ` FROM metrics WHERE key = ? AND run_uuid IN (` + placeholders(len(chunk)) + `)` + window
		ms, err := collectMetrics(s.db.QueryContext(ctx, s.q.r(q+` ORDER BY run_uuid, step, timestamp, value, is_nan, model_id`), append(args, wargs...)...))
		if err != nil {
			return nil, err
		}
		rows := map[string][]Metric{}
		for _, m := range ms {
			rows[m.RunID] = append(rows[m.RunID], m)
		}
		for id, rs := range rows {
			byRun[id] = sampleRows(rs, k)
		}
	}
	var out []Metric
	for _, id := range runIDs {
		out = append(out, byRun[id]...)
	}
	return out, nil
}

// stepStats counts, per run, the rows of key in the window and their
// first and last steps, then, for a run whose row count could be dense
// (more rows than k, as many as its steps span), its distinct steps. Each
// statement walks a range of the primary key (run_uuid, key, step, …) in
// order; two plain passes cost less than one grouped pass.
func (s *Store) stepStats(ctx context.Context, runIDs []string, key, window string, wargs []any, k int) (map[string]stepStats, error) {
	count := s.q.r(`SELECT COUNT(*), COALESCE(MIN(step), 0), COALESCE(MAX(step), 0) FROM metrics WHERE run_uuid = ? AND key = ?` + window)
	distinct := s.q.r(`SELECT COUNT(*) FROM (SELECT DISTINCT step FROM metrics WHERE run_uuid = ? AND key = ?` + window + `) steps`)
	out := map[string]stepStats{}
	for _, id := range runIDs {
		if _, seen := out[id]; seen {
			continue
		}
		args := append([]any{id, key}, wargs...)
		var st stepStats
		if err := s.db.QueryRowContext(ctx, count, args...).Scan(&st.rows, &st.first, &st.last); err != nil {
			return nil, err
		}
		if st.rows == 0 {
			continue
		}
		if st.rows > k && st.last-st.first+1 == int64(st.rows) {
			if err := s.db.QueryRowContext(ctx, distinct, args...).Scan(&st.steps); err != nil {
				return nil, err
			}
		}
		out[id] = st
	}
	return out, nil
}

// sampledSteps are the steps of the rows sampleRows keeps of a dense run
// of st.rows > k rows.
func sampledSteps(st stepStats, k int) []any {
	out := make([]any, 0, k)
	q, r := st.rows/k, st.rows%k
	for b, i := 0, 0; b < k; b++ {
		out = append(out, st.first+int64(i))
		i += q
		if b < r {
			i++
		}
	}
	out[len(out)-1] = st.last
	return out
}

// rowsAtSteps reads the rows of key in a run at the given steps, in step order.
func (s *Store) rowsAtSteps(ctx context.Context, runID, key string, steps []any) ([]Metric, error) {
	var out []Metric
	for len(steps) > 0 { // bounded statements: SQLite takes 32,766 arguments
		chunk := steps[:min(len(steps), 1000)]
		steps = steps[len(chunk):]
		args := append([]any{runID, key}, chunk...)
		ms, err := collectMetrics(s.db.QueryContext(ctx, s.q.r(`SELECT `+metricCols+` FROM metrics WHERE run_uuid = ? AND key = ? AND step IN (`+
			placeholders(len(chunk))+`) ORDER BY step, timestamp, value, is_nan, model_id`), args...))
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}
