package store

import (
	"context"
	"database/sql"
	"sort"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/storeerr"
)

// CreateExperiment creates an experiment and returns its id. An empty
// artifactLocation means <default artifact root>/<id>.
func (s *Store) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []Tag) (string, error) {
	if err := validateExperimentName(name); err != nil {
		return "", err
	}
	if strings.HasPrefix(artifactLocation, "runs:") {
		return "", storeerr.Invalidf("Artifact location cannot be a runs:/ URI. Given: '%s'", artifactLocation)
	}
	for _, t := range tags {
		if err := validateExperimentTag(t); err != nil {
			return "", err
		}
	}
	artifactLocation = ResolveLocal(artifactLocation)
	var id int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var stage string
		err := s.db.Q(tx).QueryRowContext(ctx, `SELECT lifecycle_stage FROM experiments WHERE name = ?`, name).Scan(&stage)
		switch {
		case err == nil && stage == StageDeleted:
			return storeerr.Existsf("Experiment '%s' already exists in deleted state. You can restore the experiment, or permanently delete the experiment to create a new one.", name)
		case err == nil:
			return storeerr.Existsf("Experiment(name=%s) already exists.", name)
		case !isNoRows(err):
			return err
		}
		now := s.nowMs()
		if err := s.db.Q(tx).QueryRowContext(ctx, `INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, 'active', ?, ?) RETURNING experiment_id`,
			name, artifactLocation, now, now).Scan(&id); err != nil {
			return experimentExists(err, name)
		}
		if artifactLocation == "" {
			if _, err := s.db.Q(tx).ExecContext(ctx, `UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?`,
				AppendPath(s.root, strconv.FormatInt(id, 10)), id); err != nil {
				return err
			}
		}
		for _, t := range tags {
			if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value`, id, t.Key, t.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(id, 10), nil
}

func validateExperimentName(name string) error {
	if name == "" {
		return storeerr.Invalidf("Invalid experiment name: '%s'", name)
	}
	return validateLength("name", MaxExperimentNameLength, name)
}

func validateExperimentTag(t Tag) error {
	if err := ValidateKey("key", t.Key); err != nil {
		return err
	}
	if err := validateLength("key", MaxExperimentTagKeyLength, t.Key); err != nil {
		return err
	}
	return validateLength("value", MaxExperimentTagValLength, t.Value)
}

const experimentCols = `experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time`

func scanExperiment(row interface{ Scan(...any) error }) (*Experiment, error) {
	var e Experiment
	var id int64
	if err := row.Scan(&id, &e.Name, &e.ArtifactLocation, &e.LifecycleStage, &e.CreationTime, &e.LastUpdateTime); err != nil {
		return nil, err
	}
	e.ID = strconv.FormatInt(id, 10)
	return &e, nil
}

// querier runs the loaders' statements: prepared, on the pool or in a
// transaction (db.Raw gives its unprepared runner).
type querier = db.Q

func (s *Store) getExperiment(ctx context.Context, q querier, id string) (*Experiment, error) {
	n, err := parseExperimentID(id)
	if err != nil {
		return nil, err
	}
	e, err := scanExperiment(q.QueryRowContext(ctx, `SELECT `+experimentCols+` FROM experiments WHERE experiment_id = ?`, n))
	if isNoRows(err) {
		return nil, storeerr.NotFoundf("No Experiment with id=%s exists", id)
	}
	return e, err
}

func (s *Store) loadExperimentTags(ctx context.Context, q querier, exps []*Experiment) error {
	if len(exps) == 0 {
		return nil
	}
	byID := make(map[int64]*Experiment, len(exps))
	args := make([]any, 0, len(exps))
	for _, e := range exps {
		n, _ := strconv.ParseInt(e.ID, 10, 64)
		byID[n] = e
		args = append(args, n)
	}
	rows, err := db.Raw(q).QueryContext(ctx, s.q.r(`SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN (`+placeholders(len(args))+`) ORDER BY key`), args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var id int64
		var t Tag
		if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
			return err
		}
		if e := byID[id]; e != nil {
			e.Tags = append(e.Tags, t)
		}
	}
	return rows.Err()
}

// GetExperiment returns an experiment (active or deleted) with its tags.
func (s *Store) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	e, err := s.getExperiment(ctx, s.db.Q(nil), id)
	if err != nil {
		return nil, err
	}
	return e, s.loadExperimentTags(ctx, s.db.Q(nil), []*Experiment{e})
}

// GetExperimentByName returns the experiment with that name.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	e, err := scanExperiment(s.db.Q(nil).QueryRowContext(ctx, `SELECT `+experimentCols+` FROM experiments WHERE name = ?`, name))
	if isNoRows(err) {
		return nil, storeerr.NotFoundf("Could not find experiment with name '%s'", name)
	}
	if err != nil {
		return nil, err
	}
	return e, s.loadExperimentTags(ctx, s.db.Q(nil), []*Experiment{e})
}

// RenameExperiment renames an active experiment.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := validateExperimentName(newName); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, s.db.Q(tx), id)
		if err != nil {
			return err
		}
		if e.LifecycleStage != StageActive {
			return &Error{Code: ErrState.Code, Message: "Cannot rename a non-active experiment."}
		}
		var other string
		err = s.db.Q(tx).QueryRowContext(ctx, `SELECT experiment_id FROM experiments WHERE name = ? AND experiment_id <> ?`, newName, idNum(e.ID)).Scan(&other)
		if err == nil {
			return storeerr.Existsf("Experiment(name=%s) already exists.", newName)
		}
		if !isNoRows(err) {
			return err
		}
		_, err = s.db.Q(tx).ExecContext(ctx, `UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?`, newName, s.nowMs(), idNum(e.ID))
		return experimentExists(err, newName)
	})
}

// experimentExists turns the unique violation of a writer that lost a race
// for an experiment name (another replica created it after this one
// looked) into MLflow's RESOURCE_ALREADY_EXISTS; other errors pass.
func experimentExists(err error, name string) error {
	if db.IsUniqueViolation(err) {
		return storeerr.Existsf("Experiment(name=%s) already exists.", name)
	}
	return err
}

// DeleteExperiment marks an active experiment and its runs deleted.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	return s.setExperimentStage(ctx, id, StageActive, StageDeleted)
}

// RestoreExperiment restores a deleted experiment and its runs.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	return s.setExperimentStage(ctx, id, StageDeleted, StageActive)
}

func (s *Store) setExperimentStage(ctx context.Context, id, from, to string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, s.db.Q(tx), id)
		if err != nil {
			return err
		}
		if e.LifecycleStage != from {
			if from == StageActive {
				return storeerr.NotFoundf("No Experiment with id=%s exists", id)
			}
			return storeerr.NotFoundf("No Experiment with id=%s exists", id)
		}
		now := s.nowMs()
		if _, err := s.db.Q(tx).ExecContext(ctx, `UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?`, to, now, idNum(e.ID)); err != nil {
			return err
		}
		var deleted any
		if to == StageDeleted {
			deleted = now
		}
		_, err = s.db.Q(tx).ExecContext(ctx, `UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?`, to, deleted, idNum(e.ID))
		return err
	})
}

// SetExperimentTag sets (or replaces) a tag on an active experiment.
func (s *Store) SetExperimentTag(ctx context.Context, id string, t Tag) error {
	if err := validateExperimentTag(t); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, s.db.Q(tx), id)
		if err != nil {
			return err
		}
		if e.LifecycleStage != StageActive {
			return storeerr.Invalidf("The experiment %s must be in the 'active' state. Current state is %s.", e.ID, e.LifecycleStage)
		}
		_, err = s.db.Q(tx).ExecContext(ctx, `INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value`, idNum(e.ID), t.Key, t.Value)
		return err
	})
}

// DeleteExperimentTag removes a tag from an active experiment.
func (s *Store) DeleteExperimentTag(ctx context.Context, id, key string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, s.db.Q(tx), id)
		if err != nil {
			return err
		}
		if e.LifecycleStage != StageActive {
			return storeerr.Invalidf("The experiment %s must be in the 'active' state. Current state is %s.", e.ID, e.LifecycleStage)
		}
		res, err := s.db.Q(tx).ExecContext(ctx, `DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?`, idNum(e.ID), key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return storeerr.NotFoundf("No tag with name: %s in experiment with id %s", key, id)
		}
		return nil
	})
}

func sortTags(t []Tag) { sort.Slice(t, func(i, j int) bool { return t[i].Key < t[j].Key }) }

// idNum is the integer key of an experiment id already validated.
func idNum(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}
