package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/mlgate/mlgate/internal/app"
	"github.com/mlgate/mlgate/tracking"
)

func runModelsDownload(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "models download", "mlgate models download -m URI -d DIR [flags]")
	var uri, dst, trackingURI, cacheDir string
	var concurrency int
	fs.StringVar(&uri, "m", "", "model URI: models:/name/version|stage|latest, models:/name@alias, runs:/id/path, mlflow-artifacts:, http(s), s3: or a path")
	fs.StringVar(&uri, "model-uri", "", "same as -m")
	fs.StringVar(&dst, "d", "", "destination folder (must not exist or be empty)")
	fs.StringVar(&dst, "dst-path", "", "same as -d")
	fs.StringVar(&trackingURI, "tracking-uri", "", "tracking/registry server (default $MLFLOW_TRACKING_URI)")
	fs.StringVar(&cacheDir, "cache-dir", "", "download cache (default $MLGATE_CACHE/models or ~/.cache/mlgate/models)")
	fs.IntVar(&concurrency, "concurrency", 8, "parallel file downloads")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if uri == "" || dst == "" {
		return usagef("models download: -m URI and -d DIR are required")
	}
	cfg := tracking.FromEnv(env.getenv)
	if trackingURI != "" {
		cfg.TrackingURI = trackingURI
	}
	if cacheDir == "" {
		cacheDir = app.DefaultCacheDir(env.getenv)
	}
	logger := slog.New(slog.NewTextHandler(env.stderr, nil))
	src, err := app.NewModelSource(app.ModelSourceOptions{
		Tracking: cfg, CacheDir: cacheDir, Concurrency: concurrency, Logger: logger, Progress: progressOut(env),
	})
	if err != nil {
		return err
	}
	if _, err := src.Download(ctx, uri, dst); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s\n", dst)
	return nil
}

// progressOut is where progress bars go (drawn only on a terminal), or nil.
func progressOut(env *cliEnv) io.Writer {
	if f, ok := env.stderr.(*os.File); ok {
		return f
	}
	return nil
}
