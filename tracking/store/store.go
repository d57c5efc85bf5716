package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/search"
)

// Options configure a Store.
type Options struct {
	// DefaultArtifactRoot is the root under which new experiments get their
	// artifact location (<root>/<experiment_id>), for example
	// "mlflow-artifacts:/", "s3://bucket/prefix" or an absolute folder.
	DefaultArtifactRoot string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// StatsEvery is how often a PostgreSQL store checks whether its tables
	// outgrew their planner statistics (analyze.go); 0 means
	// DefaultStatsEvery, negative turns the upkeep off (on SQLite too).
	StatsEvery time.Duration
	// Logger receives the errors of background work; nil discards.
	Logger *slog.Logger
}

// Store is the tracking store. It is safe for concurrent use.
type Store struct {
	db   *db.DB
	root string
	now  func() time.Time
	q    queries
	// denseSampled counts the runs get-history-bulk-interval sampled from
	// their step summary (history_dense.go), for tests.
	denseSampled atomic.Int64
	// stats is the statistics upkeep Open starts and Close stops.
	stats *statsKeeper
}

// Open migrates the tracking schema on d, creates the Default experiment
// when missing and returns the store. The caller keeps ownership of d.
func Open(ctx context.Context, d *db.DB, opts Options) (*Store, error) {
	if err := d.Migrate(ctx, Component, Migrations); err != nil {
		return nil, err
	}
	s := &Store{db: d, root: opts.DefaultArtifactRoot, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	s.q = prepareQueries(d)
	if d.Dialect == db.SQLite {
		if err := optimize(ctx, d); err != nil {
			return nil, fmt.Errorf("optimize: %w", err)
		}
	}
	if err := s.ensureDefaultExperiment(ctx); err != nil {
		return nil, fmt.Errorf("default experiment: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.keepStatistics(opts.StatsEvery, log)
	return s, nil
}

// optimize refreshes SQLite's planner statistics of the tables that
// changed much since the last ANALYZE (SQLite's advice for long-lived
// connections), sampling at most 1000 rows per index so that it takes
// milliseconds even on a large store. keepStatistics repeats it now and
// then, and does the same for PostgreSQL.
func optimize(ctx context.Context, d *db.DB) error {
	c, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if _, err := c.ExecContext(ctx, `PRAGMA analysis_limit=1000`); err != nil {
		return err
	}
	_, err = c.ExecContext(ctx, `PRAGMA optimize=0x10002`)
	return err
}

// DB returns the underlying database (the registry shares it).
func (s *Store) DB() *db.DB { return s.db }

// DefaultArtifactRoot returns the artifact root new experiments live under.
func (s *Store) DefaultArtifactRoot() string { return s.root }

func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

// ensureDefaultExperiment creates experiment 0 unless it exists. Replicas
// starting together race here: the conflict (on the id or on the name,
// hence no conflict target) leaves one row.
func (s *Store) ensureDefaultExperiment(ctx context.Context) error {
	now := s.nowMs()
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
		VALUES (0, 'Default', ?, 'active', ?, ?) ON CONFLICT DO NOTHING`), AppendPath(s.root, "0"), now, now)
	return err
}

// AppendPath joins a URI or path and a relative segment with one slash.
func AppendPath(root, seg string) string {
	if root == "" {
		return seg
	}
	if seg == "" {
		return root
	}
	if strings.HasSuffix(root, "/") {
		return root + seg
	}
	return root + "/" + seg
}

// isNoRows reports sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// placeholders returns n comma-separated "?".
var placeholders = search.Placeholders

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
