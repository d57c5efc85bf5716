package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/storeerr"
)

// LogMetric appends one metric value to an active run.
func (s *Store) LogMetric(ctx context.Context, runID string, m Metric) error {
	return s.LogBatch(ctx, runID, []Metric{m}, nil, nil)
}

// LogParam logs a param; logging the same key again with another value fails.
func (s *Store) LogParam(ctx context.Context, runID string, p Param) error {
	return s.LogBatch(ctx, runID, nil, []Param{p}, nil)
}

// SetTag sets (or replaces) a run tag; mlflow.runName also renames the run.
func (s *Store) SetTag(ctx context.Context, runID string, t Tag) error {
	return s.LogBatch(ctx, runID, nil, nil, []Tag{t})
}

// DeleteTag removes a tag from an active run.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, s.db.Q(tx), runID); err != nil {
			return err
		}
		res, err := s.db.Q(tx).ExecContext(ctx, `DELETE FROM tags WHERE run_uuid = ? AND key = ?`, runID, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return storeerr.NotFoundf("No tag with name: %s in run with id %s", key, runID)
		}
		return nil
	})
}

// LogBatch logs metrics, params and tags to an active run in one
// transaction, with MLflow's limits and rules.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	if err := validateBatch(len(metrics), len(params), len(tags)); err != nil {
		return err
	}
	for i, m := range metrics {
		prefix := ""
		if len(metrics) > 1 || len(params)+len(tags) > 0 {
			prefix = fmt.Sprintf("metrics[%d].", i)
		}
		if err := validateMetric(m, prefix); err != nil {
			return err
		}
	}
	seen := make(map[string]bool, len(params))
	var dupes []string
	for i := range params {
		if err := validateKey("key", "Param key", params[i].Key); err != nil {
			return err
		}
		params[i].Value = truncate(params[i].Value, MaxParamValueLength)
		if seen[params[i].Key] {
			dupes = append(dupes, params[i].Key)
		}
		seen[params[i].Key] = true
	}
	if len(dupes) > 0 {
		return storeerr.Invalidf("Duplicate parameter keys have been submitted: %s. Please ensure the request contains only one param value per param key.", pyList(dupes))
	}
	for i := range tags {
		if err := ValidateKey("key", tags[i].Key); err != nil {
			return err
		}
		tags[i].Value = truncate(tags[i].Value, MaxTagValueLength)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, s.db.Q(tx), runID); err != nil {
			return err
		}
		if err := s.insertParams(ctx, tx, runID, params); err != nil {
			return err
		}
		if err := s.upsertTags(ctx, tx, runID, tags); err != nil {
			return err
		}
		for _, t := range tags {
			if t.Key == TagRunName {
				if _, err := s.db.Q(tx).ExecContext(ctx, `UPDATE runs SET name = ? WHERE run_uuid = ?`, t.Value, runID); err != nil {
					return err
				}
			}
		}
		return s.insertMetrics(ctx, tx, runID, metrics)
	})
}

// insertParams adds the run's new params; a key already logged with
// another value is refused, as MLflow does. A writer on another replica
// may log the same key between the check and the insert: the insert then
// skips it and the check runs again against what that writer stored.
func (s *Store) insertParams(ctx context.Context, tx *sql.Tx, runID string, params []Param) error {
	if len(params) == 0 {
		return nil
	}
	fresh, err := s.newParams(ctx, tx, runID, params)
	if err != nil || len(fresh) == 0 {
		return err
	}
	q, args := runKeyValues("params", runID, len(fresh), func(i int) (string, string) { return fresh[i].Key, fresh[i].Value }, "DO NOTHING")
	res, err := tx.ExecContext(ctx, s.q.r(q), args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n < int64(len(fresh)) {
		_, err = s.newParams(ctx, tx, runID, fresh)
		return err
	}
	return nil
}

// newParams returns the params the run does not have yet, or an error if
// one of them is logged with another value.
func (s *Store) newParams(ctx context.Context, tx *sql.Tx, runID string, params []Param) ([]Param, error) {
	args := make([]any, 0, len(params)+1)
	args = append(args, runID)
	for _, p := range params {
		args = append(args, p.Key)
	}
	rows, err := tx.QueryContext(ctx, s.q.r(`SELECT key, value FROM params WHERE run_uuid = ? AND key IN (`+placeholders(len(params))+`)`), args...)
	if err != nil {
		return nil, err
	}
	existing := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			_ = rows.Close()
			return nil, err
		}
		existing[k] = v
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var changed []string
	var fresh []Param
	for _, p := range params {
		old, ok := existing[p.Key]
		switch {
		case ok && old != p.Value:
			changed = append(changed, fmt.Sprintf("{'key': '%s', 'old_value': '%s', 'new_value': '%s'}", p.Key, old, p.Value))
		case !ok:
			fresh = append(fresh, p)
		}
	}
	if len(changed) > 0 {
		return nil, storeerr.Invalidf("Changing param values is not allowed. Params were already logged='[%s]' for run ID='%s'.", strings.Join(changed, ", "), runID)
	}
	return fresh, nil
}

type storedMetric struct {
	Metric
	stored float64
	isNaN  bool
}

func greater(a, b storedMetric) bool {
	if a.Step != b.Step {
		return a.Step > b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	return a.stored > b.stored
}

func (s *Store) insertMetrics(ctx context.Context, tx *sql.Tx, runID string, metrics []Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	latest := map[string]*keyWrite{}
	q := []byte(`INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step, model_id, dataset_name, dataset_digest) VALUES `)
	args := make([]any, 0, 9*len(metrics))
	for i, m := range metrics {
		v, isNaN := sanitizeMetric(m.Value)
		sm := storedMetric{Metric: m, stored: v, isNaN: isNaN}
		if w, ok := latest[m.Key]; !ok {
			latest[m.Key] = newKeyWrite(sm)
		} else {
			w.add(sm)
		}
		if i > 0 {
			q = append(q, ',')
		}
		q = append(q, "(?, ?, ?, ?, ?, ?, ?, ?, ?)"...)
		args = append(args, runID, m.Key, v, boolInt(isNaN), m.Timestamp, m.Step, m.ModelID, m.DatasetName, m.DatasetDigest)
	}
	q = append(q, " ON CONFLICT DO NOTHING"...)
	res, err := tx.ExecContext(ctx, s.q.r(string(q)), args...)
	if err != nil {
		return err
	}
	inserted, err := res.RowsAffected()
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a fixed lock order avoids deadlocks between concurrent batches
	q = append(q[:0], `INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step, n_rows, min_step, dense) VALUES `...)
	args = args[:0]
	for i, k := range keys {
		w := latest[k]
		m := w.latest
		if i > 0 {
			q = append(q, ',')
		}
		q = append(q, "(?, ?, ?, ?, ?, ?, ?, ?, ?)"...)
		// min_step is the write's first step when dense: what the
		// update's dense compares with the stored last step.
		args = append(args, runID, k, m.stored, boolInt(m.isNaN), m.Timestamp, m.Step, w.n, w.min, boolInt(w.dense))
	}
	q = append(q, upsertLatest...)
	if _, err := tx.ExecContext(ctx, s.q.r(string(q)), args...); err != nil {
		return err
	}
	if inserted < int64(len(metrics)) {
		return s.recountSteps(ctx, tx, runID, keys)
	}
	return nil
}

// LogInputs links datasets (created per experiment when new) and logged
// models to an active run as inputs.
func (s *Store) LogInputs(ctx context.Context, runID string, datasets []DatasetInput, models []ModelInput) error {
	for i, d := range datasets {
		if err := validateDataset(i, d); err != nil {
			return err
		}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.activeRun(ctx, s.db.Q(tx), runID)
		if err != nil {
			return err
		}
		exp := idNum(r.ExperimentID)
		for _, d := range datasets {
			duuid, err := s.datasetID(ctx, tx, exp, d.Dataset)
			if err != nil {
				return err
			}
			if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO run_datasets (run_uuid, dataset_uuid) VALUES (?, ?) ON CONFLICT DO NOTHING`, runID, duuid); err != nil {
				return err
			}
			for _, t := range d.Tags {
				if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO run_dataset_tags (run_uuid, dataset_uuid, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (run_uuid, dataset_uuid, key) DO UPDATE SET value = excluded.value`, runID, duuid, t.Key, t.Value); err != nil {
					return err
				}
			}
		}
		for _, m := range models {
			if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO run_model_inputs (run_uuid, model_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, runID, m.ModelID); err != nil {
				return err
			}
		}
		return nil
	})
}

// datasetID returns the id of an experiment's dataset, creating it when
// new. Runs of other replicas may create the same dataset at the same time:
// the insert then yields to theirs and the second lookup finds it.
func (s *Store) datasetID(ctx context.Context, tx *sql.Tx, exp int64, d Dataset) (string, error) {
	find := s.q.r(`SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?`)
	var id string
	err := tx.QueryRowContext(ctx, find, exp, d.Name, d.Digest).Scan(&id)
	if !isNoRows(err) {
		return id, err
	}
	if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (experiment_id, name, digest) DO NOTHING`,
		newUUIDHex(), exp, d.Name, d.Digest, d.SourceType, d.Source, d.Schema, d.Profile); err != nil {
		return "", err
	}
	err = tx.QueryRowContext(ctx, find, exp, d.Name, d.Digest).Scan(&id)
	return id, err
}

// LogOutputs records logged models as outputs of an active run.
func (s *Store) LogOutputs(ctx context.Context, runID string, models []ModelOutput) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, s.db.Q(tx), runID); err != nil {
			return err
		}
		for _, m := range models {
			if m.ModelID == "" {
				return storeerr.Invalidf("Missing value for required parameter 'models.model_id'. See the API docs for more information about request parameters.")
			}
			if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO run_model_outputs (run_uuid, model_id, step) VALUES (?, ?, ?) ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step`, runID, m.ModelID, m.Step); err != nil {
				return err
			}
		}
		return nil
	})
}

// LogModel appends an MLmodel dict (JSON text) to the run's
// mlflow.log-model.history tag, as MLflow 2.x clients ask with runs/log-model.
func (s *Store) LogModel(ctx context.Context, runID, modelJSON string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(modelJSON), &m); err != nil {
		return storeerr.Invalidf("Malformed model info. \n%s\n is not a valid JSON.", modelJSON)
	}
	var missing []string
	for _, k := range []string{"artifact_path", "flavors", "utc_time_created", "run_id"} {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return storeerr.Invalidf("Model json is missing mandatory fields: %v", missing)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, s.db.Q(tx), runID); err != nil {
			return err
		}
		if err := s.lockRun(ctx, tx, runID); err != nil {
			return err
		}
		var cur string
		err := s.db.Q(tx).QueryRowContext(ctx, `SELECT value FROM tags WHERE run_uuid = ? AND key = ?`, runID, TagLogModelHistory).Scan(&cur)
		if err != nil && !isNoRows(err) {
			return err
		}
		var list []any
		if cur != "" {
			_ = json.Unmarshal([]byte(cur), &list)
		}
		list = append(list, m)
		b, err := json.Marshal(list)
		if err != nil {
			return err
		}
		return s.upsertTags(ctx, tx, runID, []Tag{{Key: TagLogModelHistory, Value: string(b)}})
	})
}

// lockRun holds the run's row until tx ends, so read-modify-write updates
// of one run (the log-model history) from several replicas queue instead
// of overwriting each other. SQLite write transactions are already
// exclusive.
func (s *Store) lockRun(ctx context.Context, tx *sql.Tx, runID string) error {
	if s.db.Dialect != db.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT 1 FROM runs WHERE run_uuid = $1 FOR UPDATE`, runID)
	return err
}
