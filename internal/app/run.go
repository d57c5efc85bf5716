package app

import (
	"context"
	"path/filepath"

	"github.com/mlgate/mlgate/projects"
	"github.com/mlgate/mlgate/tracking"
)

// RunProjectOptions configure RunProject: the project run's options, with
// the tracking configuration the client is made from.
type RunProjectOptions struct {
	projects.Options
	// Tracking is tracking.FromEnv plus flags; its URI (default
	// sqlite:///mlflow.db) is also the child's MLFLOW_TRACKING_URI.
	Tracking tracking.Config
}

// DefaultProjectCacheDir is where project environments are built:
// $MLGATE_CACHE/projects, else $XDG_CACHE_HOME/mlgate/projects, else
// ~/.cache/mlgate/projects.
func DefaultProjectCacheDir(getenv func(string) string) string {
	return filepath.Join(filepath.Dir(DefaultCacheDir(getenv)), "projects")
}

// RunProject runs the MLflow project at uri (`mlgate run`): it makes the
// tracking client and hands over to projects.Run.
func RunProject(ctx context.Context, uri string, o RunProjectOptions) (*projects.Result, error) {
	if o.Tracking.Logger == nil {
		o.Tracking.Logger = o.Logger
	}
	c, err := tracking.NewClient(o.Tracking)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	po := o.Options
	po.Tracking = c
	return projects.Run(ctx, uri, po)
}
