package main

import (
	"context"
	"log/slog"

	"github.com/mlgate/mlgate/internal/app"
	"github.com/mlgate/mlgate/internal/ortlib"
)

func runQuickstart(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "quickstart", "mlgate quickstart [flags]")
	var o app.QuickstartOptions
	var ortFlag string
	fs.StringVar(&o.Dir, "dir", "", "folder for the store and artifacts (default: a temporary folder removed on exit)")
	fs.IntVar(&o.ServerPort, "port", 5000, "tracking and registry server port (a free one when taken)")
	fs.IntVar(&o.ServePort, "serve-port", 5001, "scoring server port (a free one when taken)")
	fs.StringVar(&o.ModelDir, "model", "examples/models/linear", "MLflow model folder to log, register and serve")
	fs.StringVar(&o.ModelName, "name", "linear-example", "registered model name")
	fs.StringVar(&ortFlag, "onnxruntime-lib", "", "path of libonnxruntime.so.1 (default $ONNXRUNTIME_LIB, the cache, the system path)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	lib, err := ortlib.Find(ortlib.Options{
		Flag: ortFlag, Env: env.getenv("ONNXRUNTIME_LIB"),
		CacheDir: ortlib.DefaultCacheDir(env.getenv("MLGATE_CACHE"), userCacheDir(env)),
		System:   ortlib.SystemDirs(env.getenv("LD_LIBRARY_PATH")),
	})
	if err != nil && ortFlag != "" {
		return usagef("quickstart: %s", err.Error())
	}
	o.ONNXRuntimeLib = lib
	o.Stdout = env.stdout
	o.Logger = slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return app.RunQuickstart(ctx, o)
}
