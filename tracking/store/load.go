package store

import (
	"context"
	"sort"
)

// loadRunData fills the data, inputs and outputs of runs (whose Info is
// set) with two queries, whatever the number of runs: one UNION ALL over
// params, tags, latest metrics and model inputs/outputs, and one over
// datasets with their input tags.
func (s *Store) loadRunData(ctx context.Context, q querier, runs []*Run) error {
	if len(runs) == 0 {
		return nil
	}
	byID := make(map[string]*Run, len(runs))
	ids := make([]any, 0, len(runs))
	for _, r := range runs {
		byID[r.Info.RunID] = r
		ids = append(ids, r.Info.RunID)
	}
	in := `(` + placeholders(len(ids)) + `)`
	args := make([]any, 0, 5*len(ids))
	for i := 0; i < 5; i++ {
		args = append(args, ids...)
	}
	rows, err := q.QueryContext(ctx, s.q.r(
		`SELECT 0, run_uuid, key, value, 0.0, 0, 0, 0 FROM params WHERE run_uuid IN `+in+
			` UNION ALL SELECT 1, run_uuid, key, value, 0.0, 0, 0, 0 FROM tags WHERE run_uuid IN `+in+
			` UNION ALL SELECT 2, run_uuid, key, '', value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid IN `+in+
			` UNION ALL SELECT 3, run_uuid, model_id, '', 0.0, 0, 0, 0 FROM run_model_inputs WHERE run_uuid IN `+in+
			` UNION ALL SELECT 4, run_uuid, model_id, '', 0.0, 0, 0, step FROM run_model_outputs WHERE run_uuid IN `+in), args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var kind, isNaN int
		var id, key, value string
		var num float64
		var ts, step int64
		if err := rows.Scan(&kind, &id, &key, &value, &num, &isNaN, &ts, &step); err != nil {
			return err
		}
		r := byID[id]
		if r == nil {
			continue
		}
		switch kind {
		case 0:
			r.Data.Params = append(r.Data.Params, Param{Key: key, Value: value})
		case 1:
			r.Data.Tags = append(r.Data.Tags, Tag{Key: key, Value: value})
		case 2:
			r.Data.Metrics = append(r.Data.Metrics, Metric{Key: key, Value: metricValue(num, isNaN != 0), Timestamp: ts, Step: step})
		case 3:
			r.Models = append(r.Models, ModelInput{ModelID: key})
		case 4:
			r.Outputs = append(r.Outputs, ModelOutput{ModelID: key, Step: step})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_ = rows.Close()
	if err := s.loadDatasets(ctx, q, byID, ids, in); err != nil {
		return err
	}
	for _, r := range runs {
		sortRunData(r)
	}
	return nil
}

func (s *Store) loadDatasets(ctx context.Context, q querier, byID map[string]*Run, ids []any, in string) error {
	rows, err := q.QueryContext(ctx, s.q.r(`SELECT rd.run_uuid, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile, COALESCE(t.key, ''), COALESCE(t.value, ''), CASE WHEN t.key IS NULL THEN 0 ELSE 1 END
		FROM run_datasets rd JOIN datasets d ON d.dataset_uuid = rd.dataset_uuid
		LEFT JOIN run_dataset_tags t ON t.run_uuid = rd.run_uuid AND t.dataset_uuid = rd.dataset_uuid
		WHERE rd.run_uuid IN `+in+` ORDER BY rd.run_uuid, d.name, d.digest, t.key`), ids...)
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
	sort.Slice(r.Data.Metrics, func(i, j int) bool { return r.Data.Metrics[i].Key < r.Data.Metrics[j].Key })
	sort.Slice(r.Data.Params, func(i, j int) bool { return r.Data.Params[i].Key < r.Data.Params[j].Key })
	sortTags(r.Data.Tags)
}
