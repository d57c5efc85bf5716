package store

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/storeerr"
)

// CreateVersion is the input of CreateModelVersion. Has* report whether
// the optional field was present in the request (MLflow stores "" for an
// absent run_id, run_link and description, but treats presence specially
// for models:/ sources).
type CreateVersion struct {
	Name        string
	Source      string
	RunID       string
	HasRunID    bool
	RunLink     string
	Description string
	Tags        []Tag
	ModelID     string
	HasModelID  bool
	// SourceRegex, when set, must match Source
	// (MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX).
	SourceRegex *regexp.Regexp
}

// CreateModelVersion validates the source, resolves where its artifacts
// live and creates the next version of the model.
func (s *Store) CreateModelVersion(ctx context.Context, in CreateVersion) (*ModelVersion, error) {
	if err := ValidateModelName(in.Name); err != nil {
		return nil, err
	}
	if in.Source == "" {
		return nil, missing("source")
	}
	if in.SourceRegex != nil && !in.SourceRegex.MatchString(in.Source) {
		return nil, storeerr.Invalidf("Invalid model version source: '%s'.", in.Source)
	}
	for _, t := range in.Tags {
		if err := ValidateTag(t.Key, t.Value); err != nil {
			return nil, err
		}
	}
	source, runID, modelID := in.Source, in.RunID, in.ModelID
	storage := source
	if isPromptTags(in.Tags) {
		// Prompt versions (mlflow.genai) carry a placeholder source.
		if source != "dummy-source" && source != "prompt-template" {
			return nil, storeerr.Invalidf("Invalid prompt source: '%s'. Prompt sources must use an MLflow placeholder.", source)
		}
		return s.insertVersion(ctx, in, source, storage, runID, modelID)
	}
	if u, err := url.Parse(source); err == nil && u.Scheme == "models" {
		if u.Host != "" {
			return nil, storeerr.Invalidf("Invalid model version source: '%s'. Registered model sources must use the active model registry.", source)
		}
		mu, err := ParseModelURI(source)
		if err != nil {
			return nil, sourceError(source, "model_id")
		}
		if mu.ModelID == "" {
			ref, err := s.resolveModelVersionRef(ctx, mu)
			if err != nil {
				return nil, err
			}
			refRun := ""
			if ref.RunID != nil {
				refRun = *ref.RunID
			}
			if (in.HasRunID && runID != refRun) || (in.HasModelID && modelID != ref.ModelID) {
				return nil, storeerr.Invalidf("Invalid model version source: '%s'. The run_id and model_id request parameters must match the referenced model version.", source)
			}
			source = "models:/" + ref.Name + "/" + strconv.FormatInt(ref.Version, 10)
			if !in.HasRunID {
				runID = refRun
			}
			if !in.HasModelID {
				modelID = ref.ModelID
			}
			storage = ref.StorageLocation
			if storage == "" {
				storage = ref.Source
			}
		}
	}
	if modelID != "" {
		if err := s.validateSourceModel(ctx, source, modelID); err != nil {
			return nil, err
		}
	} else if err := s.validateSourceRun(ctx, source, runID); err != nil {
		return nil, err
	}
	if mu, err := ParseModelURI(source); err == nil && mu.ModelID != "" {
		m, err := s.loggedModel(ctx, mu.ModelID, source)
		if err != nil {
			return nil, err
		}
		storage = m.ArtifactLocation
		if runID == "" {
			runID = m.SourceRunID
		}
	}
	if runID == "" && modelID != "" {
		m, err := s.loggedModel(ctx, modelID, source)
		if errors.Is(err, ErrInvalid) && s.opts.LoggedModel != nil {
			// MLflow looks the model_id up in the tracking store: 404.
			return nil, storeerr.NotFoundf("Logged model with ID '%s' not found.", modelID)
		}
		if err != nil {
			return nil, err
		}
		runID = m.SourceRunID
	}
	return s.insertVersion(ctx, in, source, storage, runID, modelID)
}

// isPromptTags reports whether the tags mark an MLflow prompt (the last
// value of mlflow.prompt.is_prompt wins).
func isPromptTags(tags []Tag) bool {
	v := "false"
	for _, t := range tags {
		if t.Key == isPromptTagKey {
			v = t.Value
		}
	}
	return strings.EqualFold(v, "true")
}

// insertVersion numbers and inserts a validated version.
func (s *Store) insertVersion(ctx context.Context, in CreateVersion, source, storage, runID, modelID string) (*ModelVersion, error) {
	tags := dedupeTags(in.Tags)
	var version int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		seq, err := s.nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now()
		err = s.db.Q(tx).QueryRowContext(ctx, `UPDATE registered_models SET next_version = next_version + 1, last_updated_time = ?, change_seq = ?
			WHERE name = ? RETURNING next_version - 1`, now, seq, in.Name).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return modelNotFound(in.Name)
		}
		if err != nil {
			return err
		}
		var mid any
		if modelID != "" {
			mid = modelID
		}
		if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO model_versions (name, version, creation_time, last_updated_time, description,
			current_stage, source, storage_location, run_id, run_link, status, model_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.Name, version, now, now, in.Description, StageNone, source, storage, runID, in.RunLink, StatusReady, mid); err != nil {
			return err
		}
		for _, t := range tags {
			if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)`, in.Name, version, t.Key, t.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if modelID != "" && s.opts.AddModelVersion != nil && !isPromptTags(in.Tags) {
		if err := s.opts.AddModelVersion(ctx, modelID, in.Name, version); err != nil {
			return nil, err
		}
	}
	mv, err := s.getVersion(ctx, s.db.Q(nil), in.Name, version)
	if err != nil {
		return nil, err
	}
	return s.withAliases(ctx, s.db.Q(nil), mv)
}

func (s *Store) parseNameVersion(name, version string) (int64, error) {
	if err := ValidateModelName(name); err != nil {
		return 0, err
	}
	return ParseVersion(version)
}

// GetModelVersion returns a version with its tags and aliases.
func (s *Store) GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error) {
	v, err := s.parseNameVersion(name, version)
	if err != nil {
		return nil, err
	}
	mv, err := s.getVersion(ctx, s.db.Q(nil), name, v)
	if err != nil {
		return nil, err
	}
	return s.withAliases(ctx, s.db.Q(nil), mv)
}

// UpdateModelVersion sets a version's description; nil clears it (MLflow
// stores None when the request has no description).
func (s *Store) UpdateModelVersion(ctx context.Context, name, version string, description *string) (*ModelVersion, error) {
	v, err := s.parseNameVersion(name, version)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.db.Q(tx).ExecContext(ctx, `UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?`,
			nullable(description), s.now(), name, v)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return versionNotFound(name, v)
		}
		return s.touch(ctx, tx, name, false)
	})
	if err != nil {
		return nil, err
	}
	return s.GetModelVersion(ctx, name, version)
}

// TransitionModelVersionStage moves a version to a stage; with archive set
// (only for Staging and Production) the other versions in that stage move
// to Archived in the same transaction.
func (s *Store) TransitionModelVersionStage(ctx context.Context, name, version, stage string, archive bool) (*ModelVersion, error) {
	canon, err := CanonicalStage(stage)
	if err != nil {
		return nil, err
	}
	if archive && canon != StageStaging && canon != StageProduction {
		return nil, storeerr.Invalidf("Model version transition cannot archive existing model versions because '%s' is not an Active stage. Valid stages are ['Staging', 'Production']", stage)
	}
	v, err := s.parseNameVersion(name, version)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if archive {
			if _, err := s.db.Q(tx).ExecContext(ctx, `UPDATE model_versions SET current_stage = ?, last_updated_time = ?
				WHERE name = ? AND version <> ? AND current_stage = ?`, StageArchived, now, name, v, canon); err != nil {
				return err
			}
		}
		res, err := s.db.Q(tx).ExecContext(ctx, `UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE name = ? AND version = ?`,
			canon, now, name, v)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return versionNotFound(name, v)
		}
		return s.touch(ctx, tx, name, true)
	})
	if err != nil {
		return nil, err
	}
	return s.GetModelVersion(ctx, name, version)
}

// DeleteModelVersion deletes a version, its tags and the aliases that
// point at it. Its number is never reused.
func (s *Store) DeleteModelVersion(ctx context.Context, name, version string) error {
	v, err := s.parseNameVersion(name, version)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getVersion(ctx, s.db.Q(tx), name, v); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM registered_model_aliases WHERE name = ? AND version = ?`,
			`DELETE FROM model_version_tags WHERE name = ? AND version = ?`,
			`DELETE FROM model_versions WHERE name = ? AND version = ?`,
		} {
			if _, err := s.db.Q(tx).ExecContext(ctx, q, name, v); err != nil {
				return err
			}
		}
		return s.touch(ctx, tx, name, true)
	})
}

// GetModelVersionDownloadURI returns where a version's artifacts are read
// from: the resolved storage location, else the source as given.
func (s *Store) GetModelVersionDownloadURI(ctx context.Context, name, version string) (string, error) {
	mv, err := s.GetModelVersion(ctx, name, version)
	if err != nil {
		return "", err
	}
	if mv.StorageLocation != "" {
		return mv.StorageLocation, nil
	}
	return mv.Source, nil
}

// SetModelVersionTag sets (or overwrites) a tag on a version.
func (s *Store) SetModelVersionTag(ctx context.Context, name, version, key, value string) error {
	v, err := s.parseNameVersion(name, version)
	if err != nil {
		return err
	}
	if err := ValidateTag(key, value); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getVersion(ctx, s.db.Q(tx), name, v); err != nil {
			return err
		}
		if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value`, name, v, key, value); err != nil {
			return err
		}
		return s.touch(ctx, tx, name, false)
	})
}

// DeleteModelVersionTag deletes a version tag; a missing tag is not an error.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name, version, key string) error {
	v, err := s.parseNameVersion(name, version)
	if err != nil {
		return err
	}
	if err := validateTagKey(key); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getVersion(ctx, s.db.Q(tx), name, v); err != nil {
			return err
		}
		if _, err := s.db.Q(tx).ExecContext(ctx, `DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?`, name, v, key); err != nil {
			return err
		}
		return s.touch(ctx, tx, name, false)
	})
}

// GetLatestVersions returns the newest version of each requested stage
// (every stage when stages is empty), with aliases.
func (s *Store) GetLatestVersions(ctx context.Context, name string, stages []string) ([]ModelVersion, error) {
	if err := ValidateModelName(name); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, st := range stages {
		c, err := CanonicalStage(st)
		if err != nil {
			return nil, err
		}
		want[c] = true
	}
	if _, err := s.getModelRow(ctx, s.db.Q(nil), name); err != nil {
		return nil, err
	}
	latest, err := s.latestVersions(ctx, s.db.Q(nil), []string{name})
	if err != nil {
		return nil, err
	}
	out := []ModelVersion{}
	for _, mv := range latest[name] {
		if len(want) > 0 && !want[mv.CurrentStage] {
			continue
		}
		if _, err := s.withAliases(ctx, s.db.Q(nil), &mv); err != nil {
			return nil, err
		}
		out = append(out, mv)
	}
	return out, nil
}
