package store

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/mlgate/mlgate/internal/storeerr"
)

// CreateRunInput is what CreateRun needs.
type CreateRunInput struct {
	ExperimentID string // "" means the Default experiment
	UserID       string
	RunName      string
	StartTime    int64 // 0 means now
	Tags         []Tag
}

// CreateRun creates a RUNNING run in an active experiment.
func (s *Store) CreateRun(ctx context.Context, in CreateRunInput) (*Run, error) {
	if in.ExperimentID == "" {
		in.ExperimentID = DefaultExperimentID
	}
	tags := make([]Tag, 0, len(in.Tags)+1)
	nameTag := ""
	seen := map[string]int{}
	for _, t := range in.Tags {
		if err := ValidateKey("key", t.Key); err != nil {
			return nil, err
		}
		t.Value = truncate(t.Value, MaxTagValueLength)
		if t.Key == TagRunName {
			nameTag = t.Value
		}
		if i, ok := seen[t.Key]; ok {
			tags[i] = t
			continue
		}
		seen[t.Key] = len(tags)
		tags = append(tags, t)
	}
	name := in.RunName
	switch {
	case name != "" && nameTag != "" && name != nameTag:
		return nil, storeerr.Invalidf("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').", name, nameTag)
	case name == "" && nameTag != "":
		name = nameTag
	case name == "":
		name = GenerateRunName()
	}
	if nameTag == "" {
		tags = append(tags, Tag{Key: TagRunName, Value: name})
	}
	start := in.StartTime
	if start == 0 {
		start = s.nowMs()
	}
	run := &Run{Info: RunInfo{
		RunID: newUUIDHex(), RunName: name, UserID: in.UserID, Status: StatusRunning,
		StartTime: start, LifecycleStage: StageActive,
	}}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, s.db.Q(tx), in.ExperimentID)
		if err != nil {
			return err
		}
		if e.LifecycleStage != StageActive {
			return storeerr.Invalidf("The experiment %s must be in the 'active' state. Current state is %s.", e.ID, e.LifecycleStage)
		}
		run.Info.ExperimentID = e.ID
		run.Info.ArtifactURI = AppendPath(AppendPath(e.ArtifactLocation, run.Info.RunID), "artifacts")
		if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, artifact_uri, lifecycle_stage) VALUES (?, ?, ?, ?, ?, ?, ?, 'active')`,
			run.Info.RunID, name, idNum(e.ID), in.UserID, StatusRunning, start, run.Info.ArtifactURI); err != nil {
			return err
		}
		return s.upsertTags(ctx, tx, run.Info.RunID, tags)
	})
	if err != nil {
		return nil, err
	}
	sortTags(tags)
	run.Data.Tags = tags
	return run, nil
}

// runKeyValues builds one INSERT of n (run_uuid, key, value) rows into
// table (tags or params), kv giving row i, with "ON CONFLICT (run_uuid,
// key) " + onConflict.
func runKeyValues(table, runID string, n int, kv func(i int) (string, string), onConflict string) (string, []any) {
	args := make([]any, 0, 3*n)
	q := []byte(`INSERT INTO ` + table + ` (run_uuid, key, value) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			q = append(q, ',')
		}
		q = append(q, "(?, ?, ?)"...)
		k, v := kv(i)
		args = append(args, runID, k, v)
	}
	return string(append(q, " ON CONFLICT (run_uuid, key) "+onConflict...)), args
}

func (s *Store) upsertTags(ctx context.Context, tx *sql.Tx, runID string, tags []Tag) error {
	if len(tags) == 0 {
		return nil
	}
	q, args := runKeyValues("tags", runID, len(tags), func(i int) (string, string) { return tags[i].Key, tags[i].Value },
		"DO UPDATE SET value = excluded.value")
	_, err := tx.ExecContext(ctx, s.q.r(q), args...)
	return err
}

const runCols = `run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage`

func scanRunInfo(row interface{ Scan(...any) error }) (*RunInfo, error) {
	var r RunInfo
	var exp int64
	var end sql.NullInt64
	if err := row.Scan(&r.RunID, &r.RunName, &exp, &r.UserID, &r.Status, &r.StartTime, &end, &r.ArtifactURI, &r.LifecycleStage); err != nil {
		return nil, err
	}
	r.ExperimentID = strconv.FormatInt(exp, 10)
	r.EndTime = end.Int64
	return &r, nil
}

func (s *Store) getRunInfo(ctx context.Context, q querier, runID string) (*RunInfo, error) {
	if runID == "" {
		return nil, storeerr.Invalidf("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.")
	}
	r, err := scanRunInfo(q.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE run_uuid = ?`, runID))
	if isNoRows(err) {
		return nil, storeerr.NotFoundf("Run with id=%s not found", runID)
	}
	return r, err
}

// activeRun returns the run's info, failing when it is deleted.
func (s *Store) activeRun(ctx context.Context, q querier, runID string) (*RunInfo, error) {
	r, err := s.getRunInfo(ctx, q, runID)
	if err != nil {
		return nil, err
	}
	if r.LifecycleStage != StageActive {
		return nil, storeerr.Invalidf("The run %s must be in the 'active' state. Current state is %s.", runID, r.LifecycleStage)
	}
	return r, nil
}

// GetRun returns a run (active or deleted) with its latest metrics,
// params, tags, inputs and outputs.
func (s *Store) GetRun(ctx context.Context, runID string) (*Run, error) {
	r, err := s.getRunInfo(ctx, s.db.Q(nil), runID)
	if err != nil {
		return nil, err
	}
	runs := []*Run{{Info: *r}}
	if err := s.loadRunData(ctx, s.db.Q(nil), runs); err != nil {
		return nil, err
	}
	return runs[0], nil
}

// GetRunInfo returns a run's info without its data (params, metrics,
// tags, inputs): the permission check's lookup of a run's experiment.
func (s *Store) GetRunInfo(ctx context.Context, runID string) (*RunInfo, error) {
	return s.getRunInfo(ctx, s.db.Q(nil), runID)
}

// UpdateRunInput changes a run's status, end time and name; empty or nil
// fields are left as they are.
type UpdateRunInput struct {
	RunID   string
	Status  string
	EndTime *int64
	RunName string
}

// UpdateRun updates an active run and returns its info.
func (s *Store) UpdateRun(ctx context.Context, in UpdateRunInput) (*RunInfo, error) {
	var out *RunInfo
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.activeRun(ctx, s.db.Q(tx), in.RunID)
		if err != nil {
			return err
		}
		if in.Status != "" {
			r.Status = in.Status
		}
		if in.EndTime != nil {
			r.EndTime = *in.EndTime
		}
		if in.RunName != "" {
			r.RunName = in.RunName
			if err := s.upsertTags(ctx, tx, r.RunID, []Tag{{Key: TagRunName, Value: in.RunName}}); err != nil {
				return err
			}
		}
		var end any
		if r.EndTime != 0 || in.EndTime != nil {
			end = r.EndTime
		}
		if _, err := s.db.Q(tx).ExecContext(ctx, `UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?`, r.Status, end, r.RunName, r.RunID); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// DeleteRun marks a run deleted.
func (s *Store) DeleteRun(ctx context.Context, runID string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getRunInfo(ctx, s.db.Q(tx), runID); err != nil {
			return err
		}
		_, err := s.db.Q(tx).ExecContext(ctx, `UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE run_uuid = ?`, s.nowMs(), runID)
		return err
	})
}

// RestoreRun marks a deleted run active again.
func (s *Store) RestoreRun(ctx context.Context, runID string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getRunInfo(ctx, s.db.Q(tx), runID); err != nil {
			return err
		}
		_, err := s.db.Q(tx).ExecContext(ctx, `UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ?`, runID)
		return err
	})
}
