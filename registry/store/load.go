package store

import (
	"context"
	"database/sql"
	"errors"
	"sort"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/search"
)

// querier runs the loaders' statements: prepared, on the pool or in a
// transaction (db.Raw gives its unprepared runner).
type querier = db.Q

const versionCols = `mv.name, mv.version, mv.creation_time, mv.last_updated_time, mv.description, mv.user_id,
	mv.current_stage, mv.source, mv.storage_location, mv.run_id, mv.run_link, mv.status, mv.status_message, mv.model_id`

func scanVersion(sc interface{ Scan(...any) error }) (ModelVersion, error) {
	var (
		mv                                ModelVersion
		desc, user, runID, link, msg, mid sql.NullString
	)
	err := sc.Scan(&mv.Name, &mv.Version, &mv.CreationTimestamp, &mv.LastUpdatedTimestamp, &desc, &user,
		&mv.CurrentStage, &mv.Source, &mv.StorageLocation, &runID, &link, &mv.Status, &msg, &mid)
	mv.Description, mv.RunID, mv.RunLink = ptr(desc), ptr(runID), ptr(link)
	mv.UserID, mv.StatusMessage, mv.ModelID = user.String, msg.String, mid.String
	return mv, err
}

var (
	placeholders = search.Placeholders
	anys         = search.Args
)

func uniq(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// getModelRow reads a registered model's own columns.
func (s *Store) getModelRow(ctx context.Context, q querier, name string) (*RegisteredModel, error) {
	var (
		rm   RegisteredModel
		desc sql.NullString
	)
	err := q.QueryRowContext(ctx, `SELECT name, creation_time, last_updated_time, description, change_seq FROM registered_models WHERE name = ?`, name).
		Scan(&rm.Name, &rm.CreationTimestamp, &rm.LastUpdatedTimestamp, &desc, &rm.ChangeSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, modelNotFound(name)
	}
	if err != nil {
		return nil, err
	}
	rm.Description = desc.String
	return &rm, nil
}

// fillModels loads tags, aliases and latest versions of the given models.
func (s *Store) fillModels(ctx context.Context, q querier, models []*RegisteredModel) error {
	if len(models) == 0 {
		return nil
	}
	names := make([]string, len(models))
	byName := map[string]*RegisteredModel{}
	for i, m := range models {
		names[i] = m.Name
		byName[m.Name] = m
	}
	in := placeholders(len(names))
	rows, err := db.Raw(q).QueryContext(ctx, s.q(`SELECT name, key, value FROM registered_model_tags WHERE name IN (`+in+`) ORDER BY name, key`), anys(names)...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		var t Tag
		var v sql.NullString
		if err := rows.Scan(&n, &t.Key, &v); err != nil {
			_ = rows.Close()
			return err
		}
		t.Value = v.String
		byName[n].Tags = append(byName[n].Tags, t)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	aliases, err := s.aliasesOf(ctx, q, names)
	if err != nil {
		return err
	}
	for n, as := range aliases {
		byName[n].Aliases = as
	}
	latest, err := s.latestVersions(ctx, q, names)
	if err != nil {
		return err
	}
	for n, vs := range latest {
		byName[n].LatestVersions = vs
	}
	return nil
}

func (s *Store) aliasesOf(ctx context.Context, q querier, names []string) (map[string][]Alias, error) {
	out := map[string][]Alias{}
	rows, err := db.Raw(q).QueryContext(ctx, s.q(`SELECT name, alias, version FROM registered_model_aliases WHERE name IN (`+placeholders(len(names))+`) ORDER BY name, alias`), anys(names)...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var n string
		var a Alias
		if err := rows.Scan(&n, &a.Alias, &a.Version); err != nil {
			return nil, err
		}
		out[n] = append(out[n], a)
	}
	return out, rows.Err()
}

// latestVersions returns, per model, the newest version of each stage in
// the order MLflow lists them (stages in order of their oldest version).
func (s *Store) latestVersions(ctx context.Context, q querier, names []string) (map[string][]ModelVersion, error) {
	rows, err := db.Raw(q).QueryContext(ctx, s.q(`SELECT `+versionCols+`,
		(SELECT MIN(m3.version) FROM model_versions m3 WHERE m3.name = mv.name AND m3.current_stage = mv.current_stage) AS first_seen
		FROM model_versions mv
		WHERE mv.name IN (`+placeholders(len(names))+`)
		AND mv.version = (SELECT MAX(m2.version) FROM model_versions m2 WHERE m2.name = mv.name AND m2.current_stage = mv.current_stage)
		ORDER BY mv.name, first_seen`), anys(names)...)
	if err != nil {
		return nil, err
	}
	var all []*ModelVersion
	for rows.Next() {
		var first int64
		var mv ModelVersion
		var (
			desc, user, runID, link, msg, mid sql.NullString
		)
		if err := rows.Scan(&mv.Name, &mv.Version, &mv.CreationTimestamp, &mv.LastUpdatedTimestamp, &desc, &user,
			&mv.CurrentStage, &mv.Source, &mv.StorageLocation, &runID, &link, &mv.Status, &msg, &mid, &first); err != nil {
			_ = rows.Close()
			return nil, err
		}
		mv.Description, mv.RunID, mv.RunLink = ptr(desc), ptr(runID), ptr(link)
		mv.UserID, mv.StatusMessage, mv.ModelID = user.String, msg.String, mid.String
		all = append(all, &mv)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.fillVersionTags(ctx, q, all); err != nil {
		return nil, err
	}
	out := map[string][]ModelVersion{}
	for _, mv := range all {
		out[mv.Name] = append(out[mv.Name], *mv)
	}
	return out, nil
}

// fillVersionTags loads the tags of the given versions.
func (s *Store) fillVersionTags(ctx context.Context, q querier, versions []*ModelVersion) error {
	if len(versions) == 0 {
		return nil
	}
	type key struct {
		name string
		v    int64
	}
	idx := map[key]*ModelVersion{}
	var names []string
	for _, mv := range versions {
		idx[key{mv.Name, mv.Version}] = mv
		names = append(names, mv.Name)
	}
	names = uniq(names)
	for start := 0; start < len(names); start += 500 {
		chunk := names[start:min(start+500, len(names))]
		rows, err := db.Raw(q).QueryContext(ctx, s.q(`SELECT name, version, key, value FROM model_version_tags WHERE name IN (`+placeholders(len(chunk))+`) ORDER BY name, version, key`), anys(chunk)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k key
			var t Tag
			var v sql.NullString
			if err := rows.Scan(&k.name, &k.v, &t.Key, &v); err != nil {
				_ = rows.Close()
				return err
			}
			t.Value = v.String
			if mv := idx[k]; mv != nil {
				mv.Tags = append(mv.Tags, t)
			}
		}
		_ = rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// getVersion reads one version with its tags (aliases not filled).
func (s *Store) getVersion(ctx context.Context, q querier, name string, version int64) (*ModelVersion, error) {
	mv, err := scanVersion(q.QueryRowContext(ctx, `SELECT `+versionCols+` FROM model_versions mv WHERE mv.name = ? AND mv.version = ?`, name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, versionNotFound(name, version)
	}
	if err != nil {
		return nil, err
	}
	if err := s.fillVersionTags(ctx, q, []*ModelVersion{&mv}); err != nil {
		return nil, err
	}
	return &mv, nil
}

// withAliases fills the aliases that point at mv.
func (s *Store) withAliases(ctx context.Context, q querier, mv *ModelVersion) (*ModelVersion, error) {
	rows, err := q.QueryContext(ctx, `SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? ORDER BY alias`, mv.Name, mv.Version)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	mv.Aliases = nil
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		mv.Aliases = append(mv.Aliases, a)
	}
	sort.Strings(mv.Aliases)
	return mv, rows.Err()
}
