package store

import (
	"context"
	"database/sql"
)

// The step summary of each run's key, kept in its latest_metrics row
// (columns n_rows, min_step and dense, migration 5; its step is the last
// step): the rows, the first step, and dense, which holds while the rows
// are one value per step, every step from the first to the last. The
// upsert of latest_metrics each write does keeps it, in the transaction
// that inserts the rows, and conservatively: a write keeps dense only
// when its rows of the key are at consecutive steps in write order and
// the first is the step after the last one stored (or the key is new);
// anything else (out of order, a step twice, a gap, a row naming a
// dataset) clears it for good. Dense rows carry no dataset name or
// digest, so their samples are read without those two columns
// (history_dense.go).
// get-history-bulk-interval reads it instead of counting a run's rows
// (history_dense.go). Rows of a key at consecutive steps after the last
// stored step cannot be duplicates the insert ignored, so only keys whose
// dense is cleared can hold ignored rows; when the insert ignored some,
// those keys' rows are counted again (recountSteps).

// keyWrite is what one write adds to a key: its latest row and its step
// summary (rows, first and last step in write order, dense).
type keyWrite struct {
	latest      storedMetric
	n, min, cur int64
	dense       bool
}

func newKeyWrite(m storedMetric) *keyWrite {
	return &keyWrite{latest: m, n: 1, min: m.Step, cur: m.Step, dense: m.DatasetName == "" && m.DatasetDigest == ""}
}

// add counts m, the key's next row in write order.
func (w *keyWrite) add(m storedMetric) {
	if greater(m, w.latest) {
		w.latest = m
	}
	w.n++
	w.dense = w.dense && m.DatasetName == "" && m.DatasetDigest == "" && m.Step == w.cur+1
	w.cur = m.Step
	w.min = min(w.min, m.Step)
}

// upsertLatest ends the latest_metrics insert: the latest row is replaced
// by a greater one (step, then timestamp, then value: MLflow's order, so
// step is the last step); the summary adds the write's rows whatever their
// order.
const upsertLatest = ` ON CONFLICT (run_uuid, key) DO UPDATE SET
		value = CASE WHEN ` + newer + ` THEN excluded.value ELSE latest_metrics.value END,
		is_nan = CASE WHEN ` + newer + ` THEN excluded.is_nan ELSE latest_metrics.is_nan END,
		timestamp = CASE WHEN ` + newer + ` THEN excluded.timestamp ELSE latest_metrics.timestamp END,
		step = CASE WHEN excluded.step > latest_metrics.step THEN excluded.step ELSE latest_metrics.step END,
		n_rows = latest_metrics.n_rows + excluded.n_rows,
		min_step = CASE WHEN excluded.min_step < latest_metrics.min_step THEN excluded.min_step ELSE latest_metrics.min_step END,
		dense = CASE WHEN latest_metrics.dense = 1 AND excluded.dense = 1 AND excluded.min_step = latest_metrics.step + 1 THEN 1 ELSE 0 END`

// newer holds when the written latest row is greater than the stored
// one: by step, then timestamp, then value (row values compare in that
// order, on SQLite and PostgreSQL; the columns are never NULL).
const newer = `(excluded.step, excluded.timestamp, excluded.value) > (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)`

// recountSteps counts again the rows of the run's keys after an insert
// that ignored duplicates (each count a range of the metrics' primary key,
// which leads with run_uuid and key). The upsert before it holds the keys'
// latest_metrics rows, so on PostgreSQL a writer of the same keys either
// committed before this count (and is counted) or adds its rows after it.
func (s *Store) recountSteps(ctx context.Context, tx *sql.Tx, runID string, keys []string) error {
	args := make([]any, 0, 1+len(keys))
	args = append(args, runID)
	for _, k := range keys {
		args = append(args, k)
	}
	_, err := tx.ExecContext(ctx, s.q.r(`UPDATE latest_metrics SET n_rows = (SELECT COUNT(*) FROM metrics
		WHERE metrics.run_uuid = latest_metrics.run_uuid AND metrics.key = latest_metrics.key)
		WHERE run_uuid = ? AND key IN (`+placeholders(len(keys))+`)`), args...)
	return err
}
