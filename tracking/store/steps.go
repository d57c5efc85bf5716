package store

import (
	"context"
	"database/sql"
	"sort"
)

// The step summary of each run's key (table metric_steps, migration 5):
// its rows, first and last step, and dense, which holds while the rows
// are one value per step, every step from the first to the last. It is
// kept in the transaction that inserts the rows, by one statement for
// every key of a write, and conservatively: a write keeps dense only when
// its rows of the key are at consecutive steps in write order and the
// first is the step after the last one stored (or the key is new);
// anything else (out of order, a step twice, a gap, a row naming a
// dataset) clears it for good. Dense rows carry no dataset name or
// digest, so their samples are read from the index (run_uuid, key, step)
// alone, which holds every other column.
// get-history-bulk-interval reads it instead of counting a run's rows
// (history_sample.go). Rows of a key at consecutive steps after the last
// stored step cannot be duplicates the insert ignored, so only keys whose
// dense is cleared can hold ignored rows; when the insert ignored some,
// those keys' rows are counted again.

// stepWrite is what one write adds to a key's summary.
type stepWrite struct {
	n, min, max, last int64
	dense             bool
}

// upsertSteps adds the rows of a write (metrics, of which the insert
// stored inserted) to the run's step summaries.
func (s *Store) upsertSteps(ctx context.Context, tx *sql.Tx, runID string, metrics []Metric, inserted int64) error {
	byKey := map[string]*stepWrite{}
	for _, m := range metrics {
		plain := m.DatasetName == "" && m.DatasetDigest == ""
		w, ok := byKey[m.Key]
		if !ok {
			byKey[m.Key] = &stepWrite{n: 1, min: m.Step, max: m.Step, last: m.Step, dense: plain}
			continue
		}
		w.n++
		w.dense = w.dense && plain && m.Step == w.last+1
		w.last = m.Step
		w.min, w.max = min(w.min, m.Step), max(w.max, m.Step)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the lock order of latest_metrics
	q := make([]byte, 0, 512+22*len(keys))
	q = append(q, `INSERT INTO metric_steps (run_uuid, key, n_rows, min_step, max_step, dense) VALUES `...)
	args := make([]any, 0, 6*len(keys))
	for i, k := range keys {
		w := byKey[k]
		if i > 0 {
			q = append(q, ',')
		}
		q = append(q, "(?, ?, ?, ?, ?, ?)"...)
		// min_step is the first step when dense: what the update compares.
		args = append(args, runID, k, w.n, w.min, w.max, boolInt(w.dense))
	}
	q = append(q, ` ON CONFLICT (run_uuid, key) DO UPDATE SET
		n_rows = metric_steps.n_rows + excluded.n_rows,
		min_step = CASE WHEN excluded.min_step < metric_steps.min_step THEN excluded.min_step ELSE metric_steps.min_step END,
		max_step = CASE WHEN excluded.max_step > metric_steps.max_step THEN excluded.max_step ELSE metric_steps.max_step END,
		dense = CASE WHEN metric_steps.dense = 1 AND excluded.dense = 1 AND excluded.min_step = metric_steps.max_step + 1 THEN 1 ELSE 0 END`...)
	if _, err := tx.ExecContext(ctx, s.q.r(string(q)), args...); err != nil {
		return err
	}
	if inserted >= int64(len(metrics)) {
		return nil
	}
	// Some rows were duplicates: count the rows of the keys written. The
	// upsert above holds the summaries' rows, so on PostgreSQL a writer of
	// the same keys either committed before this count (and is counted)
	// or adds its rows after it.
	args = append(args[:0], runID)
	for _, k := range keys {
		args = append(args, k)
	}
	_, err := tx.ExecContext(ctx, s.q.r(`UPDATE metric_steps SET n_rows = (SELECT COUNT(*) FROM metrics
		WHERE metrics.run_uuid = metric_steps.run_uuid AND metrics.key = metric_steps.key)
		WHERE run_uuid = ? AND key IN (`+placeholders(len(keys))+`)`), args...)
	return err
}
