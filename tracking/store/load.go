package store

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/mlgate/mlgate/internal/db"
)

// loadRunData fills the data, inputs and outputs of runs (whose Info is
// set) with a few queries, whatever the number of runs: one per table
// that most runs have rows in (latest metrics, params, tags), one for
// the model inputs and outputs, one for the datasets with their input
// tags.
//
// The runs are named once, as a list of (position, run id) rows that each
// query joins by the tables' primary keys (run_uuid, key) (see positions),
// and the rows
// come back labelled by position: an integer, not the 32-character id a
// driver would copy into a new string for each of the page's thousands of
// metric rows, and no map lookup. Each query reads only its table's
// columns. A page of 100 runs of 50 metrics is about 5,700 rows, and the
// driver's cost is per column read, so this is what the reads of a search
// cost most.
func (s *Store) loadRunData(ctx context.Context, q querier, runs []*Run) error {
	if len(runs) == 0 {
		return nil
	}
	list := make([]string, len(runs))
	for i, r := range runs {
		list[i] = r.Info.RunID
	}
	with, arg, err := s.positions(list)
	if err != nil {
		return err
	}
	if err := s.loadMetrics(ctx, q, runs, with, arg); err != nil {
		return err
	}
	for _, kv := range []struct {
		table string
		add   func(r *Run, k, v string)
	}{
		{"params", func(r *Run, k, v string) { r.Data.Params = append(r.Data.Params, Param{Key: k, Value: v}) }},
		{"tags", func(r *Run, k, v string) { r.Data.Tags = append(r.Data.Tags, Tag{Key: k, Value: v}) }},
	} {
		if err := s.loadKeyValues(ctx, q, runs, with, arg, kv.table, kv.add); err != nil {
			return err
		}
	}
	if err := s.loadModels(ctx, q, runs, with, arg); err != nil {
		return err
	}
	byID := make(map[string]*Run, len(runs))
	for _, r := range runs {
		byID[r.Info.RunID] = r
	}
	if err := s.loadDatasets(ctx, q, byID, with, arg); err != nil {
		return err
	}
	for _, r := range runs {
		sortRunData(r)
	}
	return nil
}

// positions returns the common table expression p(i, id) that lists
// ids with their positions from 0, and its one argument (the ids as a JSON
// array): the statement's text is the same for any number of runs, so
// the database parses a short statement, not one placeholder per run.
func (s *Store) positions(ids []string) (string, any, error) {
	arg, err := json.Marshal(ids)
	if err != nil {
		return "", nil, err
	}
	if s.db.Dialect == db.Postgres {
		return `WITH p(i, id) AS (SELECT a.n - 1, a.id FROM json_array_elements_text(CAST(? AS json)) WITH ORDINALITY AS a(id, n)) `, string(arg), nil
	}
	return `WITH p(i, id) AS (SELECT key, value FROM json_each(?)) `, string(arg), nil
}

// at returns the run at position i of a positions query (nil if the
// database answered a position it was not given).
func at(runs []*Run, i int64) *Run {
	if i < 0 || i >= int64(len(runs)) {
		return nil
	}
	return runs[i]
}

func (s *Store) loadMetrics(ctx context.Context, q querier, runs []*Run, with string, arg any) error {
	rows, err := q.QueryContext(ctx, with+`SELECT p.i, m.key, m.value, m.is_nan, m.timestamp, m.step FROM p `+s.byID("latest_metrics", "m", "m.key, m.value, m.is_nan, m.timestamp, m.step"), arg)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	var i, isNaN, ts, step int64
	var key string
	var value float64
	for rows.Next() {
		if err := rows.Scan(&i, &key, &value, &isNaN, &ts, &step); err != nil {
			return err
		}
		if r := at(runs, i); r != nil {
			r.Data.Metrics = append(r.Data.Metrics, Metric{Key: key, Value: metricValue(value, isNaN != 0), Timestamp: ts, Step: step})
		}
	}
	return rows.Err()
}

// byID joins the rows of table (alias a, columns cols) of each listed run
// to the positions p. On PostgreSQL each run's rows are a lateral lookup
// the planner cannot flatten, so the run id is an index condition on the
// primary key: as a plain join it estimated 100 runs' rows at a fraction
// of the table costlier by index than by a parallel scan of the whole
// table (80 ms of CPU on three processes at 7,000 runs instead of 3 ms).
func (s *Store) byID(table, a, cols string) string {
	if s.db.Dialect == db.Postgres {
		return `CROSS JOIN LATERAL (SELECT ` + cols + ` FROM ` + table + ` ` + a + ` WHERE ` + a + `.run_uuid = p.id OFFSET 0) ` + a
	}
	return `JOIN ` + table + ` ` + a + ` ON ` + a + `.run_uuid = p.id`
}

// loadKeyValues reads the key/value rows of table (params or tags).
func (s *Store) loadKeyValues(ctx context.Context, q querier, runs []*Run, with string, arg any, table string, add func(r *Run, k, v string)) error {
	rows, err := q.QueryContext(ctx, with+`SELECT p.i, t.key, t.value FROM p `+s.byID(table, "t", "t.key, t.value"), arg)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	var i int64
	var key, value string
	for rows.Next() {
		if err := rows.Scan(&i, &key, &value); err != nil {
			return err
		}
		if r := at(runs, i); r != nil {
			add(r, key, value)
		}
	}
	return rows.Err()
}

// loadModels reads the model inputs and outputs, in model id order.
func (s *Store) loadModels(ctx context.Context, q querier, runs []*Run, with string, arg any) error {
	rows, err := q.QueryContext(ctx, with+`SELECT p.i, 0, t.model_id, 0 FROM p JOIN run_model_inputs t ON t.run_uuid = p.id
		UNION ALL SELECT p.i, 1, t.model_id, t.step FROM p JOIN run_model_outputs t ON t.run_uuid = p.id ORDER BY 1, 2, 3`, arg)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	var i, kind, step int64
	var id string
	for rows.Next() {
		if err := rows.Scan(&i, &kind, &id, &step); err != nil {
			return err
		}
		r := at(runs, i)
		switch {
		case r == nil:
		case kind == 0:
			r.Models = append(r.Models, ModelInput{ModelID: id})
		default:
			r.Outputs = append(r.Outputs, ModelOutput{ModelID: id, Step: step})
		}
	}
	return rows.Err()
}

func (s *Store) loadDatasets(ctx context.Context, q querier, byID map[string]*Run, with string, arg any) error {
	rows, err := q.QueryContext(ctx, with+`SELECT rd.run_uuid, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile, COALESCE(t.key, ''), COALESCE(t.value, ''), CASE WHEN t.key IS NULL THEN 0 ELSE 1 END
		FROM run_datasets rd JOIN datasets d ON d.dataset_uuid = rd.dataset_uuid
		LEFT JOIN run_dataset_tags t ON t.run_uuid = rd.run_uuid AND t.dataset_uuid = rd.dataset_uuid
		WHERE rd.run_uuid IN (SELECT id FROM p) ORDER BY rd.run_uuid, d.name, d.digest, t.key`, arg)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	lastRun, lastDS := "", ""
	for rows.Next() {
		var id, duuid, tk, tv string
		var d Dataset
		var hasTag int
		if err := rows.Scan(&id, &duuid, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile, &tk, &tv, &hasTag); err != nil {
			return err
		}
		r := byID[id]
		if r == nil {
			continue
		}
		if id != lastRun || duuid != lastDS {
			r.Inputs = append(r.Inputs, DatasetInput{Dataset: d})
			lastRun, lastDS = id, duuid
		}
		if hasTag == 1 {
			in := &r.Inputs[len(r.Inputs)-1]
			in.Tags = append(in.Tags, Tag{Key: tk, Value: tv})
		}
	}
	return rows.Err()
}

func sortRunData(r *Run) {
	slices.SortFunc(r.Data.Metrics, func(a, b Metric) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(r.Data.Params, func(a, b Param) int { return strings.Compare(a.Key, b.Key) })
	sortTags(r.Data.Tags)
}
