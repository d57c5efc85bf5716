package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/storeerr"
)

// LoggedModel is what the registry needs to know about an MLflow 3 logged
// model (models:/m-<id> sources and model_id fields).
type LoggedModel struct {
	// ArtifactLocation is the logged model's artifact URI.
	ArtifactLocation string
	// SourceRunID is the run that logged it ("" if none).
	SourceRunID string
}

// Options configures a Store. The lookup functions reach the tracking store
// without importing it; either may be nil, in which case sources that need
// it are refused as MLflow refuses sources whose run or model is unknown.
type Options struct {
	// RunArtifactURI returns the artifact root URI of a run. It returns an
	// error wrapping ErrNotFound when the run does not exist.
	RunArtifactURI func(ctx context.Context, runID string) (string, error)
	// LoggedModel returns a logged model by id. It returns an error wrapping
	// ErrNotFound when the model does not exist.
	LoggedModel func(ctx context.Context, modelID string) (LoggedModel, error)
	// AddModelVersion records on a logged model that a model version was
	// made from it (MLflow's mlflow.modelVersions tag); nil records nothing.
	AddModelVersion func(ctx context.Context, modelID, name string, version int64) error
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Store is the registry store. It is safe for concurrent use.
type Store struct {
	db   *db.DB
	opts Options
}

// Migrations is the schema of the "registry" component.
var Migrations = []db.Migration{{
	Version: 1,
	SQL: `
CREATE TABLE registered_models (
	name TEXT NOT NULL PRIMARY KEY,
	creation_time BIGINT NOT NULL,
	last_updated_time BIGINT NOT NULL,
	description TEXT,
	next_version BIGINT NOT NULL DEFAULT 1,
	change_seq BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE model_versions (
	name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
	version BIGINT NOT NULL,
	creation_time BIGINT NOT NULL,
	last_updated_time BIGINT NOT NULL,
	description TEXT,
	user_id TEXT,
	current_stage TEXT NOT NULL,
	source TEXT NOT NULL,
	storage_location TEXT NOT NULL,
	run_id TEXT,
	run_link TEXT,
	status TEXT NOT NULL,
	status_message TEXT,
	model_id TEXT,
	PRIMARY KEY (name, version)
);
CREATE INDEX model_versions_run_id ON model_versions (run_id);
CREATE TABLE registered_model_tags (
	name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
	key TEXT NOT NULL,
	value TEXT,
	PRIMARY KEY (name, key)
);
CREATE TABLE model_version_tags (
	name TEXT NOT NULL,
	version BIGINT NOT NULL,
	key TEXT NOT NULL,
	value TEXT,
	PRIMARY KEY (name, version, key),
	FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE TABLE registered_model_aliases (
	name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
	alias TEXT NOT NULL,
	version BIGINT NOT NULL,
	PRIMARY KEY (name, alias)
);
CREATE TABLE registry_sequence (
	id INTEGER NOT NULL PRIMARY KEY,
	seq BIGINT NOT NULL
);
INSERT INTO registry_sequence (id, seq) VALUES (1, 0)`,
}, {
	Version: 2,
	SQL:     webhookMigration[0],
}}

// New migrates the registry schema in d and returns a store on it.
func New(ctx context.Context, d *db.DB, opts Options) (*Store, error) {
	if d == nil {
		return nil, errors.New("registry store: nil database")
	}
	if err := d.Migrate(ctx, "registry", Migrations); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{db: d, opts: opts}, nil
}

func (s *Store) now() int64 { return s.opts.Now().UnixMilli() }

// q rebinds a ?-placeholder query for the store's dialect.
func (s *Store) q(query string) string { return s.db.Rebind(query) }

// tx runs a registry mutation in a transaction. On PostgreSQL it first
// locks the change sequence row, which every mutation bumps anyway, so
// mutations from any replica run one after another as they do on SQLite:
// a check such as "the version exists" stays true until the write that
// relies on it commits (no alias left on a version deleted meanwhile, no
// two versions archived into one stage each other missed).
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if s.db.Dialect == db.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT seq FROM registry_sequence WHERE id = 1 FOR UPDATE`); err != nil {
				return fmt.Errorf("registry lock: %w", err)
			}
		}
		return fn(tx)
	})
}

// nextSeq bumps the registry-wide change sequence inside tx.
func (s *Store) nextSeq(ctx context.Context, tx *sql.Tx) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, `UPDATE registry_sequence SET seq = seq + 1 WHERE id = 1 RETURNING seq`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("registry change sequence: %w", err)
	}
	return seq, nil
}

// touch marks model name as changed now (last_updated_time and change_seq).
// It returns ErrNotFound-coded errors when the model does not exist.
func (s *Store) touch(ctx context.Context, tx *sql.Tx, name string, updateTime bool) error {
	seq, err := s.nextSeq(ctx, tx)
	if err != nil {
		return err
	}
	var res sql.Result
	if updateTime {
		res, err = s.db.Q(tx).ExecContext(ctx, `UPDATE registered_models SET change_seq = ?, last_updated_time = ? WHERE name = ?`, seq, s.now(), name)
	} else {
		res, err = s.db.Q(tx).ExecContext(ctx, `UPDATE registered_models SET change_seq = ? WHERE name = ?`, seq, name)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return modelNotFound(name)
	}
	return nil
}

func modelNotFound(name string) error {
	return storeerr.NotFoundf("Registered Model with name=%s not found", name)
}

func versionNotFound(name string, version int64) error {
	return storeerr.NotFoundf("Model Version (name=%s, version=%d) not found", name, version)
}

// ModelChangeSeq returns the change sequence of the last mutation that
// touched the registered model (versions, stages, aliases, tags,
// descriptions, renames). It is one indexed read, cheap enough to poll.
func (s *Store) ModelChangeSeq(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := s.db.Q(nil).QueryRowContext(ctx, `SELECT change_seq FROM registered_models WHERE name = ?`, name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, modelNotFound(name)
	}
	return seq, err
}

// ChangeSeq returns the registry-wide change sequence: it grows with every
// mutation, including deletions.
func (s *Store) ChangeSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM registry_sequence WHERE id = 1`).Scan(&seq)
	return seq, err
}

func nullable(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func ptr(ns sql.NullString) *string {
	if !ns.Valid {
		return nil
	}
	v := ns.String
	return &v
}
