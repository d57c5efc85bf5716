package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/mlgate/mlgate/internal/app"
	"github.com/mlgate/mlgate/projects"
	"github.com/mlgate/mlgate/tracking"
)

// listFlag collects a repeatable flag (-P, -A).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runRun(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "run", "mlgate run URI [flags] (drop-in for `mlflow run`)")
	var o app.RunProjectOptions
	var params, dockerArgs listFlag
	var trackingURI string
	var quiet bool
	for _, n := range []string{"e", "entry-point"} {
		fs.StringVar(&o.EntryPoint, n, "main", "entry point of the project (a name in MLproject, or a .py/.sh file)")
	}
	for _, n := range []string{"v", "version"} {
		fs.StringVar(&o.Version, n, "", "version of a git project: a commit, branch or tag")
	}
	for _, n := range []string{"P", "param-list"} {
		fs.Var(&params, n, "a `name=value` parameter (repeatable); unknown ones are passed as --name value")
	}
	for _, n := range []string{"A", "docker-args"} {
		fs.Var(&dockerArgs, n, "a docker run argument, name=value or name (repeatable)")
	}
	fs.StringVar(&o.ExperimentName, "experiment-name", env.getenv("MLFLOW_EXPERIMENT_NAME"), "experiment to run in, created when absent (default $MLFLOW_EXPERIMENT_NAME)")
	fs.StringVar(&o.ExperimentID, "experiment-id", env.getenv("MLFLOW_EXPERIMENT_ID"), "experiment id to run in (default $MLFLOW_EXPERIMENT_ID, else 0)")
	for _, n := range []string{"b", "backend"} {
		fs.StringVar(&o.Backend, n, "local", "execution backend (only local)")
	}
	fs.StringVar(&o.EnvManager, "env-manager", "", "local, virtualenv (built with uv), uv or conda (default: from the project's files)")
	fs.StringVar(&o.StorageDir, "storage-dir", env.getenv("MLFLOW_TMP_DIR"), "folder for remote URIs given to path parameters")
	fs.StringVar(&o.RunID, "run-id", "", "resume this run instead of creating one")
	fs.StringVar(&o.RunName, "run-name", "", "name of the new run")
	fs.BoolVar(&o.BuildImage, "build-image", false, "docker_env: build an image with the project's files on top of the project's image")
	fs.StringVar(&trackingURI, "tracking-uri", "", "tracking server or store (default $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "where environments are built (default $MLGATE_CACHE/projects or ~/.cache/mlgate/projects)")
	fs.StringVar(&o.Python, "python", "python3", "base interpreter of virtualenvs whose project names no Python version")
	fs.BoolVar(&quiet, "quiet", false, "log warnings only")
	rest, err := parseFlagsArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("run: want exactly one project URI, got %d arguments", len(rest))
	}
	if o.ExperimentName != "" && o.ExperimentID != "" {
		return usagef("run: specify only one of --experiment-name and --experiment-id")
	}
	if o.Params, err = projects.ParseKV(params, false, "-P"); err != nil {
		return usagef("run: %s", err.Error())
	}
	if o.DockerArgs, err = projects.ParseKV(dockerArgs, true, "-A"); err != nil {
		return usagef("run: %s", err.Error())
	}
	o.Tracking = tracking.FromEnv(env.getenv)
	if trackingURI != "" {
		o.Tracking.TrackingURI = trackingURI
	}
	if o.Tracking.TrackingURI == "" {
		o.Tracking.TrackingURI = tracking.DefaultTrackingURI
	}
	if o.CacheDir == "" {
		o.CacheDir = app.DefaultProjectCacheDir(env.getenv)
	}
	level := slog.LevelInfo
	if quiet {
		level = slog.LevelWarn
	}
	o.Logger = slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	o.Stdin, o.Stdout, o.Stderr = os.Stdin, env.stdout, env.stderr
	res, err := app.RunProject(ctx, rest[0], o)
	if res != nil && res.RunID != "" {
		fmt.Fprintf(env.stderr, "mlgate: run %s %s\n", res.RunID, res.Status)
	}
	return err
}
