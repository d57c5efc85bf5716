package tracking

import (
	"context"
	"errors"
)

// ErrNotFound is returned (wrapped) when an experiment or run does not exist.
var ErrNotFound = errors.New("does not exist")

// CreateRunRequest is what a backend needs to create a run.
type CreateRunRequest struct {
	ExperimentID string
	UserID       string
	RunName      string
	StartTime    int64
	Tags         []Tag
}

// UpdateRunRequest changes a run's status, end time or name; zero fields are
// left alone.
type UpdateRunRequest struct {
	RunID   string
	Status  RunStatus
	EndTime int64
	RunName string
}

// SearchRunsRequest selects runs.
type SearchRunsRequest struct {
	ExperimentIDs []string
	Filter        string
	MaxResults    int
	OrderBy       []string
	PageToken     string
}

// Backend is where tracking calls go: an MLflow REST server or an embedded
// store. Implementations are safe for concurrent use; arguments have already
// been validated by Client.
type Backend interface {
	CreateExperiment(ctx context.Context, name, artifactLocation string, tags []Tag) (string, error)
	GetExperiment(ctx context.Context, id string) (*Experiment, error)
	// GetExperimentByName returns an error wrapping ErrNotFound when absent.
	GetExperimentByName(ctx context.Context, name string) (*Experiment, error)
	SetExperimentTag(ctx context.Context, id, key, value string) error
	CreateRun(ctx context.Context, req CreateRunRequest) (*Run, error)
	GetRun(ctx context.Context, runID string) (*Run, error)
	UpdateRun(ctx context.Context, req UpdateRunRequest) (*RunInfo, error)
	DeleteRun(ctx context.Context, runID string) error
	SearchRuns(ctx context.Context, req SearchRunsRequest) ([]Run, string, error)
	LogMetric(ctx context.Context, runID string, m Metric) error
	LogParam(ctx context.Context, runID, key, value string) error
	SetTag(ctx context.Context, runID, key, value string) error
	DeleteTag(ctx context.Context, runID, key string) error
	LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error
	GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error)
	// ListArtifacts lists one level under path in the run's artifact root.
	ListArtifacts(ctx context.Context, runID, path string) ([]FileInfo, error)
	// Close releases the backend's resources.
	Close() error
}
