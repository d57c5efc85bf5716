package store

import (
	"strings"

	"github.com/mlgate/mlgate/internal/db"
)

// Component is the migration component name of the tracking schema.
const Component = "tracking"

// Migrations is the versioned tracking schema. Append new versions; never
// edit a released one.
var Migrations = []db.Migration{
	{
		Version: 1,
		SQLite: `CREATE TABLE experiments (
			experiment_id INTEGER PRIMARY KEY AUTOINCREMENT,
			name TEXT NOT NULL UNIQUE,
			artifact_location TEXT NOT NULL DEFAULT '',
			lifecycle_stage TEXT NOT NULL DEFAULT 'active',
			creation_time BIGINT NOT NULL DEFAULT 0,
			last_update_time BIGINT NOT NULL DEFAULT 0)`,
		Postgres: `CREATE TABLE experiments (
			experiment_id BIGSERIAL PRIMARY KEY,
			name TEXT NOT NULL UNIQUE,
			artifact_location TEXT NOT NULL DEFAULT '',
			lifecycle_stage TEXT NOT NULL DEFAULT 'active',
			creation_time BIGINT NOT NULL DEFAULT 0,
			last_update_time BIGINT NOT NULL DEFAULT 0)`,
	},
	{
		Version:  2,
		SQL:      schemaV2,
		SQLite:   withoutRowID(schemaV2),
		Postgres: schemaV2,
	},
	{
		// Searches that filter and order on a metric walk the latest
		// values of that key in value order (is_nan second: comparisons
		// keep only is_nan = 0) and stop at the page.
		// Store.Open's PRAGMA optimize gathers SQLite's statistics.
		Version:  3,
		SQLite:   `CREATE INDEX latest_metrics_key_value ON latest_metrics (key, is_nan, value, run_uuid)`,
		Postgres: `CREATE INDEX latest_metrics_key_value ON latest_metrics (key, is_nan, value, run_uuid); ANALYZE latest_metrics`,
	},
	{
		// get-history-bulk-interval counts a run's rows and steps of a
		// key in step order and reads sampled rows by step
		// (history_sample.go). In SQLite the entries also hold the
		// primary key's columns, so the counting reads the index only.
		Version: 4,
		SQL:     `CREATE INDEX metrics_run_key_step ON metrics (run_uuid, key, step)`,
	},
	{
		// What get-history-bulk-interval needs to know of a run's steps
		// of a key, kept at write time in its latest_metrics row (steps.go;
		// its step is the last step): rows, first step, and whether the
		// rows hold one value per step, every step from the first to the
		// last, naming no dataset. Filled here from the metrics.
		Version: 5,
		SQL:     schemaV5,
	},
	{
		// The metrics' primary key leads with (run_uuid, key, step), the
		// order get-history-bulk-interval counts and reads a run's rows
		// in, so migration 4's index is no longer needed: a log-batch
		// writes one B-tree (SQLite) or one index (PostgreSQL) per row
		// instead of two. Same columns, so the same rows are unique.
		// SQLite cannot change a primary key: the table is built anew,
		// its rows copied in key order (dropping the old table drops its
		// indexes, metrics_model is made again).
		Version:  6,
		SQLite:   schemaV6SQLite,
		Postgres: schemaV6Postgres,
	},
}

// withoutRowID clusters SQLite's key/value and metric tables by their
// primary key (one B-tree instead of a table plus an index), which halves
// the pages a log-batch writes.
func withoutRowID(q string) string {
	for _, pk := range []string{
		"PRIMARY KEY (run_uuid, key))",
		"PRIMARY KEY (run_uuid, key, timestamp, step, value, is_nan, model_id))",
		"PRIMARY KEY (run_uuid, key, step, timestamp, value, is_nan, model_id))",
	} {
		q = strings.ReplaceAll(q, pk, pk+" WITHOUT ROWID")
	}
	return q
}

const schemaV2 = `CREATE TABLE experiment_tags (
			experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id) ON DELETE CASCADE,
			key TEXT NOT NULL, value TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (experiment_id, key));
		CREATE TABLE runs (
			run_uuid TEXT PRIMARY KEY,
			name TEXT NOT NULL DEFAULT '',
			experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
			user_id TEXT NOT NULL DEFAULT '',
			status TEXT NOT NULL DEFAULT 'RUNNING',
			start_time BIGINT NOT NULL DEFAULT 0,
			end_time BIGINT,
			artifact_uri TEXT NOT NULL DEFAULT '',
			lifecycle_stage TEXT NOT NULL DEFAULT 'active',
			deleted_time BIGINT);
		CREATE INDEX runs_search ON runs (experiment_id, lifecycle_stage, start_time DESC, run_uuid);
		CREATE INDEX runs_name ON runs (name);
		CREATE TABLE params (
			run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
			key TEXT NOT NULL, value TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (run_uuid, key));
		CREATE INDEX params_key_value ON params (key, value);
		CREATE TABLE tags (
			run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
			key TEXT NOT NULL, value TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (run_uuid, key));
		CREATE INDEX tags_key_value ON tags (key, value);
		CREATE TABLE metrics (
			run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
			key TEXT NOT NULL,
			value DOUBLE PRECISION NOT NULL,
			is_nan INTEGER NOT NULL DEFAULT 0,
			timestamp BIGINT NOT NULL,
			step BIGINT NOT NULL DEFAULT 0,
			model_id TEXT NOT NULL DEFAULT '',
			dataset_name TEXT NOT NULL DEFAULT '',
			dataset_digest TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (run_uuid, key, timestamp, step, value, is_nan, model_id));
		CREATE INDEX metrics_model ON metrics (model_id) WHERE model_id <> '';
		CREATE TABLE latest_metrics (
			run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
			key TEXT NOT NULL,
			value DOUBLE PRECISION NOT NULL,
			is_nan INTEGER NOT NULL DEFAULT 0,
			timestamp BIGINT NOT NULL,
			step BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (run_uuid, key));
		CREATE TABLE datasets (
			dataset_uuid TEXT PRIMARY KEY,
			experiment_id BIGINT NOT NULL,
			name TEXT NOT NULL, digest TEXT NOT NULL,
			source_type TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
			schema TEXT NOT NULL DEFAULT '', profile TEXT NOT NULL DEFAULT '',
			UNIQUE (experiment_id, name, digest));
		CREATE TABLE run_datasets (
			run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
			dataset_uuid TEXT NOT NULL REFERENCES datasets(dataset_uuid),
			PRIMARY KEY (run_uuid, dataset_uuid));
		CREATE TABLE run_dataset_tags (
			run_uuid TEXT NOT NULL, dataset_uuid TEXT NOT NULL,
			key TEXT NOT NULL, value TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (run_uuid, dataset_uuid, key));
		CREATE TABLE run_model_inputs (
			run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
			model_id TEXT NOT NULL,
			PRIMARY KEY (run_uuid, model_id));
		CREATE TABLE run_model_outputs (
			run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
			model_id TEXT NOT NULL, step BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (run_uuid, model_id));
		CREATE TABLE logged_models (
			model_id TEXT PRIMARY KEY,
			experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
			name TEXT NOT NULL,
			artifact_location TEXT NOT NULL DEFAULT '',
			creation_timestamp_ms BIGINT NOT NULL,
			last_updated_timestamp_ms BIGINT NOT NULL,
			status TEXT NOT NULL DEFAULT 'LOGGED_MODEL_PENDING',
			lifecycle_stage TEXT NOT NULL DEFAULT 'active',
			model_type TEXT NOT NULL DEFAULT '',
			source_run_id TEXT NOT NULL DEFAULT '',
			status_message TEXT NOT NULL DEFAULT '',
			creator_id TEXT NOT NULL DEFAULT '');
		CREATE INDEX logged_models_exp ON logged_models (experiment_id, creation_timestamp_ms);
		CREATE TABLE logged_model_tags (
			model_id TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
			key TEXT NOT NULL, value TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (model_id, key));
		CREATE TABLE logged_model_params (
			model_id TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
			key TEXT NOT NULL, value TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (model_id, key))`

const schemaV5 = `ALTER TABLE latest_metrics ADD COLUMN n_rows BIGINT NOT NULL DEFAULT 0;
		ALTER TABLE latest_metrics ADD COLUMN min_step BIGINT NOT NULL DEFAULT 0;
		ALTER TABLE latest_metrics ADD COLUMN dense INTEGER NOT NULL DEFAULT 0;
		UPDATE latest_metrics SET n_rows = a.n, min_step = a.first, dense = a.dense
		FROM (SELECT run_uuid, key, COUNT(*) AS n, MIN(step) AS first,
				CASE WHEN COUNT(DISTINCT step) = COUNT(*) AND MAX(step) - MIN(step) + 1 = COUNT(*)
					AND MAX(dataset_name) = '' AND MAX(dataset_digest) = '' THEN 1 ELSE 0 END AS dense
			FROM metrics GROUP BY run_uuid, key) AS a
		WHERE latest_metrics.run_uuid = a.run_uuid AND latest_metrics.key = a.key`

// metricsKeyV6 is the metrics' primary key from migration 6 on.
const metricsKeyV6 = `run_uuid, key, step, timestamp, value, is_nan, model_id`

const metricColsV6 = `run_uuid, key, value, is_nan, timestamp, step, model_id, dataset_name, dataset_digest`

var schemaV6SQLite = withoutRowID(`CREATE TABLE metrics_v6 (
			run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
			key TEXT NOT NULL,
			value DOUBLE PRECISION NOT NULL,
			is_nan INTEGER NOT NULL DEFAULT 0,
			timestamp BIGINT NOT NULL,
			step BIGINT NOT NULL DEFAULT 0,
			model_id TEXT NOT NULL DEFAULT '',
			dataset_name TEXT NOT NULL DEFAULT '',
			dataset_digest TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (` + metricsKeyV6 + `));
		INSERT INTO metrics_v6 (` + metricColsV6 + `)
			SELECT ` + metricColsV6 + ` FROM metrics ORDER BY ` + metricsKeyV6 + `;
		DROP TABLE metrics;
		ALTER TABLE metrics_v6 RENAME TO metrics;
		CREATE INDEX metrics_model ON metrics (model_id) WHERE model_id <> ''`)

const schemaV6Postgres = `ALTER TABLE metrics DROP CONSTRAINT metrics_pkey,
			ADD CONSTRAINT metrics_pkey PRIMARY KEY (` + metricsKeyV6 + `);
		DROP INDEX metrics_run_key_step;
		ANALYZE metrics`
