package store

import (
	"context"
	"database/sql"
	"sort"
)

// loadRunData fills the data, inputs and outputs of runs (whose Info is
// set) with a fixed number of queries, whatever the number of runs.
func (s *Store) loadRunData(ctx context.Context, q querier, runs []*Run) error {
	if len(runs) == 0 {
		return nil
	}
	byID := make(map[string]*Run, len(runs))
	args := make([]any, 0, len(runs))
	for _, r := range runs {
		byID[r.Info.RunID] = r
		args = append(args, r.Info.RunID)
	}
	in := `(` + placeholders(len(args)) + `)`
	query := func(sqlText string, row func(rows *sql.Rows) error) error {
		rows, err := q.QueryContext(ctx, s.q.r(sqlText), args...)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			if err := row(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	var id string
	steps := []struct {
		q   string
		row func(rows *sql.Rows) error
	}{
		{`SELECT run_uuid, key, value FROM params WHERE run_uuid IN ` + in, func(rows *sql.Rows) error {
			var p Param
			if err := rows.Scan(&id, &p.Key, &p.Value); err != nil {
				return err
			}
			if r := byID[id]; r != nil {
				r.Data.Params = append(r.Data.Params, p)
			}
			return nil
		}},
		{`SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ` + in, func(rows *sql.Rows) error {
			var t Tag
			if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
				return err
			}
			if r := byID[id]; r != nil {
				r.Data.Tags = append(r.Data.Tags, t)
			}
			return nil
		}},
		{`SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid IN ` + in, func(rows *sql.Rows) error {
			var m Metric
			var isNaN int
			if err := rows.Scan(&id, &m.Key, &m.Value, &isNaN, &m.Timestamp, &m.Step); err != nil {
				return err
			}
			m.Value = metricValue(m.Value, isNaN != 0)
			if r := byID[id]; r != nil {
				r.Data.Metrics = append(r.Data.Metrics, m)
			}
			return nil
		}},
		{`SELECT rd.run_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile, d.dataset_uuid FROM run_datasets rd JOIN datasets d ON d.dataset_uuid = rd.dataset_uuid WHERE rd.run_uuid IN ` + in + ` ORDER BY d.name, d.digest`, func(rows *sql.Rows) error {
			var d Dataset
			var duuid string
			if err := rows.Scan(&id, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile, &duuid); err != nil {
				return err
			}
			if r := byID[id]; r != nil {
				r.Inputs = append(r.Inputs, DatasetInput{Dataset: d, Tags: []Tag{{Key: "\x00uuid", Value: duuid}}})
			}
			return nil
		}},
		{`SELECT run_uuid, dataset_uuid, key, value FROM run_dataset_tags WHERE run_uuid IN ` + in + ` ORDER BY key`, func(rows *sql.Rows) error {
			var duuid string
			var t Tag
			if err := rows.Scan(&id, &duuid, &t.Key, &t.Value); err != nil {
				return err
			}
			if r := byID[id]; r != nil {
				for i := range r.Inputs {
					if len(r.Inputs[i].Tags) > 0 && r.Inputs[i].Tags[0].Value == duuid && r.Inputs[i].Tags[0].Key == "\x00uuid" {
						r.Inputs[i].Tags = append(r.Inputs[i].Tags, t)
					}
				}
			}
			return nil
		}},
		{`SELECT run_uuid, model_id FROM run_model_inputs WHERE run_uuid IN ` + in + ` ORDER BY model_id`, func(rows *sql.Rows) error {
			var m ModelInput
			if err := rows.Scan(&id, &m.ModelID); err != nil {
				return err
			}
			if r := byID[id]; r != nil {
				r.Models = append(r.Models, m)
			}
			return nil
		}},
		{`SELECT run_uuid, model_id, step FROM run_model_outputs WHERE run_uuid IN ` + in + ` ORDER BY model_id`, func(rows *sql.Rows) error {
			var m ModelOutput
			if err := rows.Scan(&id, &m.ModelID, &m.Step); err != nil {
				return err
			}
			if r := byID[id]; r != nil {
				r.Outputs = append(r.Outputs, m)
			}
			return nil
		}},
	}
	for _, st := range steps {
		if err := query(st.q, st.row); err != nil {
			return err
		}
	}
	for _, r := range runs {
		for i := range r.Inputs {
			r.Inputs[i].Tags = r.Inputs[i].Tags[1:] // drop the internal dataset uuid marker
			if len(r.Inputs[i].Tags) == 0 {
				r.Inputs[i].Tags = nil
			}
		}
		sortRunData(r)
	}
	return nil
}

func sortRunData(r *Run) {
	sort.Slice(r.Data.Metrics, func(i, j int) bool { return r.Data.Metrics[i].Key < r.Data.Metrics[j].Key })
	sort.Slice(r.Data.Params, func(i, j int) bool { return r.Data.Params[i].Key < r.Data.Params[j].Key })
	sortTags(r.Data.Tags)
}
