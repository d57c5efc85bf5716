package store

import (
	"context"
	"database/sql"
	"math"

	"github.com/mlgate/mlgate/internal/storeerr"
)

const metricCols = `run_uuid, key, value, is_nan, timestamp, step, model_id, dataset_name, dataset_digest`

func scanMetric(rows *sql.Rows) (Metric, error) {
	var m Metric
	var isNaN int
	err := rows.Scan(&m.RunID, &m.Key, &m.Value, &isNaN, &m.Timestamp, &m.Step, &m.ModelID, &m.DatasetName, &m.DatasetDigest)
	m.Value = metricValue(m.Value, isNaN != 0)
	return m, err
}

func collectMetrics(rows *sql.Rows, err error) ([]Metric, error) {
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Metric
	for rows.Next() {
		m, err := scanMetric(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// GetMetricHistory returns every value logged for key in a run, ordered
// by timestamp, step and value (then is_nan and model_id, the rest of the
// primary key, so that pages never overlap). A zero page.MaxResults
// returns everything. The rows are found by the primary key's prefix
// (run_uuid, key), which goes on in step order: a whole history is read
// in that order and kept when it is the timestamps' order too (the usual
// case); a page, or a history whose clock went back, is sorted.
func (s *Store) GetMetricHistory(ctx context.Context, runID, key string, page Page) ([]Metric, string, error) {
	if err := ValidateRunID(runID); err != nil {
		return nil, "", err
	}
	if _, err := s.getRunInfo(ctx, s.db.Q(nil), runID); err != nil {
		return nil, "", err
	}
	offset, err := DecodePageToken(page.Token)
	if err != nil {
		return nil, "", err
	}
	if page.MaxResults <= 0 && offset == 0 {
		if ms, ok, err := s.historyInKeyOrder(ctx, runID, key); err != nil || ok {
			return ms, "", err
		}
	}
	q := `SELECT ` + metricCols + ` FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY timestamp, step, value, is_nan, model_id`
	args := []any{runID, key}
	if page.MaxResults > 0 {
		q += ` LIMIT ? OFFSET ?`
		args = append(args, page.MaxResults+1, offset)
	} else if offset > 0 {
		q += ` LIMIT ? OFFSET ?`
		args = append(args, math.MaxInt32, offset)
	}
	ms, err := collectMetrics(s.db.Q(nil).QueryContext(ctx, q, args...))
	if err != nil {
		return nil, "", err
	}
	next := ""
	if page.MaxResults > 0 && len(ms) > page.MaxResults {
		ms = ms[:page.MaxResults]
		next = EncodePageToken(offset + page.MaxResults)
	}
	return ms, next, nil
}

// historyInKeyOrder reads the rows of key in a run in the primary key's
// order (step, timestamp, value, is_nan, model_id: no sort) and reports
// whether that is get-history's order too. It stops at the first row out
// of that order (and returns no rows).
func (s *Store) historyInKeyOrder(ctx context.Context, runID, key string) ([]Metric, bool, error) {
	rows, err := s.db.Q(nil).QueryContext(ctx, `SELECT `+metricCols+` FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY step, timestamp, value, is_nan, model_id`, runID, key)
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = rows.Close() }()
	var out []Metric
	for rows.Next() {
		m, err := scanMetric(rows)
		if err != nil {
			return nil, false, err
		}
		if n := len(out); n > 0 && !historyBefore(out[n-1], m) {
			return nil, false, nil
		}
		out = append(out, m)
	}
	return out, rows.Err() == nil, rows.Err()
}

// historyBefore reports whether a comes before b in get-history's order:
// timestamp, step, the stored value (0 for NaN), is_nan, model_id. Where
// the database orders model ids otherwise (a PostgreSQL locale), a pair
// tied up to them is at worst found out of order, and the history sorted
// by the database.
func historyBefore(a, b Metric) bool {
	if a.Timestamp != b.Timestamp {
		return a.Timestamp < b.Timestamp
	}
	if a.Step != b.Step {
		return a.Step < b.Step
	}
	av, an := sanitizeMetric(a.Value)
	bv, bn := sanitizeMetric(b.Value)
	if av != bv {
		return av < bv
	}
	if an != bn {
		return !an
	}
	return a.ModelID < b.ModelID
}

// GetMetricHistoryBulk returns the history of key for several runs (at
// most maxResults values in all), each value carrying its RunID, in run
// id order and each run's in get-history's order. The primary key gives
// the runs in order and each run's rows are sorted, run by run, so the
// statement stops at the run that fills maxResults.
func (s *Store) GetMetricHistoryBulk(ctx context.Context, runIDs []string, key string, maxResults int) ([]Metric, error) {
	if len(runIDs) == 0 {
		return nil, storeerr.Invalidf("GetMetricHistoryBulk request must specify at least one run_id.")
	}
	if len(runIDs) > 100 {
		return nil, storeerr.Invalidf("GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received %d run_ids.", len(runIDs))
	}
	if key == "" {
		return nil, storeerr.Invalidf("GetMetricHistoryBulk request must specify a metric_key.")
	}
	if maxResults <= 0 {
		maxResults = 25000
	}
	args := []any{key}
	for _, id := range runIDs {
		args = append(args, id)
	}
	args = append(args, maxResults)
	return collectMetrics(s.db.QueryContext(ctx, s.q.r(`SELECT `+metricCols+` FROM metrics WHERE key = ? AND run_uuid IN (`+placeholders(len(runIDs))+`) ORDER BY run_uuid, timestamp, step, value, is_nan, model_id LIMIT ?`), args...))
}

// GetMetricHistoryBulkInterval samples the history of key for up to 100
// runs at most maxResults values per run between startStep and endStep
// (both inclusive; nil means unbounded), sampled as MLflow samples them
// (see sampleRows), runs in the order of runIDs.
func (s *Store) GetMetricHistoryBulkInterval(ctx context.Context, runIDs []string, key string, startStep, endStep *int64, maxResults int) ([]Metric, error) {
	if len(runIDs) == 0 {
		return nil, storeerr.Invalidf("Missing value for required parameter 'run_ids'. See the API docs for more information about request parameters.")
	}
	if len(runIDs) > 100 {
		return nil, storeerr.Invalidf("GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received %d run_ids.", len(runIDs))
	}
	if key == "" {
		return nil, storeerr.Invalidf("Missing value for required parameter 'metric_key'. See the API docs for more information about request parameters.")
	}
	if (startStep == nil) != (endStep == nil) {
		return nil, storeerr.Invalidf("If either start step or end step are specified, both must be specified.")
	}
	if startStep != nil && *startStep > *endStep {
		return nil, storeerr.Invalidf("end_step must be greater than start_step. Found start_step=%d and end_step=%d.", *startStep, *endStep)
	}
	if maxResults == 0 {
		maxResults = 2500
	}
	if maxResults < 1 || maxResults > 2500 {
		return nil, storeerr.Invalidf("max_results must be between 1 and 2500.")
	}
	return s.sampleHistory(ctx, runIDs, key, startStep, endStep, maxResults)
}

// sampleRows keeps at most k of a run's ordered rows as MLflow does: the
// rows are cut into k buckets as SQL's NTILE(k) cuts them (the first n%k
// one row larger) and each bucket's first row is kept; the last row is
// kept too, in place of the last sampled one when there are k already.
func sampleRows(rows []Metric, k int) []Metric {
	n := len(rows)
	if n <= k {
		return rows
	}
	out := make([]Metric, 0, k)
	q, r := n/k, n%k
	for b, i := 0, 0; b < k; b++ {
		out = append(out, rows[i])
		i += q
		if b < r {
			i++
		}
	}
	out[len(out)-1] = rows[n-1]
	return out
}
