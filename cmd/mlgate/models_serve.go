package main

import (
	"context"
	"flag"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mlgate/mlgate/internal/app"
	"github.com/mlgate/mlgate/internal/ortlib"
	"github.com/mlgate/mlgate/tracking"
)

func runModelsServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "models serve", "mlgate models serve -m URI [flags]")
	var o app.ServeOptions
	var timeoutSec, port int
	var ortFlag, trackingURI, cacheDir, logLevel string
	defTimeout := 60
	if v := env.getenv("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return usagef("models serve: MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT=%q is not a positive number of seconds", v)
		}
		defTimeout = n
	}
	defPort := 5000
	if v := env.getenv("MLFLOW_PORT"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			defPort = n
		}
	}
	defHost := "127.0.0.1"
	if v := env.getenv("MLFLOW_HOST"); v != "" {
		defHost = v
	}
	fs.StringVar(&o.ModelURI, "model-uri", "", "model folder, file: URI, archive, models:/name/version|stage|latest, models:/name@alias or runs:/id/path")
	fs.StringVar(&o.ModelURI, "m", "", "shorthand for --model-uri")
	fs.StringVar(&o.Host, "host", defHost, "address to listen on (env MLFLOW_HOST)")
	fs.StringVar(&o.Host, "h", defHost, "shorthand for --host")
	fs.IntVar(&port, "port", defPort, "port to listen on (env MLFLOW_PORT)")
	fs.IntVar(&port, "p", defPort, "shorthand for --port")
	fs.IntVar(&timeoutSec, "timeout", defTimeout, "request timeout in seconds (env MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT)")
	fs.IntVar(&timeoutSec, "t", defTimeout, "shorthand for --timeout")
	fs.IntVar(&o.Workers, "workers", 1, "worker processes for python_function models (env MLFLOW_MODELS_WORKERS)")
	fs.IntVar(&o.Workers, "w", 1, "shorthand for --workers")
	fs.StringVar(&o.EnvManager, "env-manager", "local", "environment of python_function workers: local, virtualenv, uv or conda")
	fs.BoolFunc("no-conda", "same as --env-manager local", func(string) error { o.EnvManager = "local"; return nil })
	fs.BoolFunc("install-mlflow", "accepted for compatibility (ignored)", func(string) error { return nil })
	fs.IntVar(&o.MaxBatchSize, "max-batch-size", 0, "dynamic batching: most rows merged into one prediction (needs --max-batch-delay)")
	fs.DurationVar(&o.MaxBatchDelay, "max-batch-delay", 0, "dynamic batching: longest wait for more requests, e.g. 2ms (0 = batching off)")
	fs.IntVar(&o.MaxQueue, "max-queue", 256, "requests that may wait for a prediction slot before the server answers 503")
	fs.IntVar(&o.MaxConcurrency, "max-concurrency", 0, "predictions run at once (default 0: adapted to the load, 1 to GOMAXPROCS or --workers when larger)")
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", 64<<20, "largest request body; larger ones get 413")
	fs.StringVar(&o.Flavor, "flavor", "", "serve this flavor of the model instead of choosing one (onnx, python_function)")
	fs.StringVar(&ortFlag, "onnxruntime-lib", "", "path of libonnxruntime.so.1 (default $ONNXRUNTIME_LIB, the cache, the system path)")
	fs.IntVar(&o.IntraOpThreads, "intra-op-threads", 0, "ONNX Runtime intra-op threads per prediction (0 = the MLmodel's onnx_session_options, else 1)")
	fs.IntVar(&o.InterOpThreads, "inter-op-threads", 0, "ONNX Runtime inter-op threads (0 = its default)")
	fs.StringVar(&o.ModelName, "name", "", "model name in metrics and /v2 (default: the registered name, else \"model\")")
	fs.DurationVar(&o.DrainDelay, "drain-delay", 0, "after SIGTERM/SIGINT keep serving this long with readiness failing before closing the listener (e.g. 5s behind a load balancer)")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "longest drain of in-flight requests after SIGTERM/SIGINT")
	fs.StringVar(&trackingURI, "tracking-uri", "", "tracking/registry server for models:/ and runs:/ URIs and --log-experiment (default $MLFLOW_TRACKING_URI)")
	fs.StringVar(&o.LogExperiment, "log-experiment", "", "log this server as a run of the experiment (created when missing) on the tracking server: settings, metrics every --log-interval, a summary and the MLmodel")
	fs.DurationVar(&o.LogInterval, "log-interval", time.Minute, "with --log-experiment: how often the serving metrics are logged")
	fs.DurationVar(&o.WatchInterval, "watch-interval", 0, "follow a models:/ URI with an alias, a stage or latest: ask the registry this often and switch to the version it names without a restart (e.g. 10s; 0 = off)")
	fs.StringVar(&o.CanaryURI, "canary", "", "a second model URI served under the same name, taking --canary-percent of the predictions (the new version of a rollout)")
	fs.IntVar(&o.CanaryPercent, "canary-percent", 10, "with --canary: share of the predictions, 0-100")
	fs.BoolVar(&o.FollowRollout, "follow-rollout", false, "with -m models:/NAME@ALIAS (or a stage): follow the model's rollout (tag mlgate.rollout, see docs/rollouts.md) every --watch-interval (default 10s): serve its stable version with the candidate beside it at its weight and shadow share")
	fs.StringVar(&o.RouteKeyHeader, "route-key-header", "", "while a canary takes a share, route by a hash of this request header (e.g. X-User-Id): one key, one version, on every replica; requests without it are split at random")
	fs.Float64Var(&o.ShadowTolerance, "shadow-tolerance", 1e-6, "shadow traffic: relative difference under which two numeric answers agree")
	fs.Float64Var(&o.PayloadSample, "payload-log-sample", 0, "with --log-experiment: log this share (0-1) of the prediction requests with their answers as JSON Lines files under inference/ of the serving run (0 = off; see docs/serving.md)")
	security := securityFlags(fs, env, false)
	var payloadExclude string
	fs.StringVar(&payloadExclude, "payload-log-exclude", "", "payload logging: columns to leave out, comma-separated (e.g. request,response)")
	maxBody, rotate := int64(1<<20), int64(64<<20)
	fs.Var(sizeFlag{&maxBody}, "payload-log-max-body", "payload logging: largest stored request or response body, longer ones are cut and marked (e.g. 1MiB)")
	fs.Var(sizeFlag{&rotate}, "payload-log-rotate", "payload logging: close and upload a file at this size (e.g. 64MB)")
	fs.DurationVar(&o.PayloadInterval, "payload-log-interval", time.Minute, "payload logging: close and upload a file at this age")
	fs.StringVar(&o.PayloadDir, "payload-log-dir", "", "payload logging: folder for the files being written and waiting for upload (default: a temporary folder)")
	fs.IntVar(&o.PayloadMaxPending, "payload-log-max-files", 16, "payload logging: files kept waiting for upload while tracking is unreachable; older ones are dropped and counted")
	fs.StringVar(&cacheDir, "cache-dir", "", "download cache (default $MLGATE_CACHE/models or ~/.cache/mlgate/models)")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.Python, "python", env.getenv("MLGATE_PYTHON"), "python interpreter for python_function workers with --env-manager local (env MLGATE_PYTHON; default python3)")
	fs.Func("worker-flavor", "serve flavor KEY with an external worker: KEY=COMMAND (repeatable; see docs/workers.md)", func(v string) error {
		o.WorkerFlavors = append(o.WorkerFlavors, v)
		return nil
	})
	if env.getenv("GOGC") == "" {
		o.GCPercent = 300 // see app.ServeOptions.GCPercent
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.Security = security()
	if o.ModelURI == "" {
		return usagef("models serve: -m/--model-uri is required")
	}
	if timeoutSec <= 0 {
		return usagef("models serve: --timeout must be positive")
	}
	if o.MaxQueue <= 0 || o.MaxBatchSize < 0 || o.MaxBatchDelay < 0 || o.MaxBodyBytes <= 0 {
		return usagef("models serve: --max-queue and --max-body-bytes must be positive, batch settings not negative")
	}
	if v := env.getenv("MLFLOW_MODELS_WORKERS"); v != "" && !flagSet(fs, "workers", "w") {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			o.Workers = n
		}
	}
	o.Port = port
	o.Timeout = time.Duration(timeoutSec) * time.Second
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return usagef("models serve: bad --log-level %q", logLevel)
	}
	o.Logger = slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	lib, err := ortlib.Find(ortlib.Options{
		Flag: ortFlag, Env: env.getenv("ONNXRUNTIME_LIB"),
		CacheDir: ortlib.DefaultCacheDir(env.getenv("MLGATE_CACHE"), userCacheDir(env)),
		System:   ortlib.SystemDirs(env.getenv("LD_LIBRARY_PATH")),
	})
	if err != nil && ortFlag != "" {
		return usagef("models serve: %s", err.Error())
	}
	o.ONNXRuntimeLib = lib
	cfg := tracking.FromEnv(env.getenv)
	if trackingURI != "" {
		cfg.TrackingURI = trackingURI
	}
	if o.FollowRollout && (!app.MovingURI(o.ModelURI) || o.CanaryURI != "") {
		return usagef("models serve: --follow-rollout needs -m models:/NAME@ALIAS (or a stage) and no --canary")
	}
	if o.ShadowTolerance < 0 {
		return usagef("models serve: --shadow-tolerance must not be negative")
	}
	if o.WatchInterval < 0 || (o.WatchInterval > 0 && !app.MovingURI(o.ModelURI) && !app.MovingURI(o.CanaryURI)) {
		return usagef("models serve: --watch-interval follows a models:/ URI with an alias, a stage or latest")
	}
	if o.CanaryPercent < 0 || o.CanaryPercent > 100 {
		return usagef("models serve: --canary-percent must be between 0 and 100")
	}
	if o.LogInterval <= 0 {
		return usagef("models serve: --log-interval must be positive")
	}
	if o.PayloadSample < 0 || o.PayloadSample > 1 {
		return usagef("models serve: --payload-log-sample must be between 0 and 1")
	}
	if o.PayloadSample > 0 && o.LogExperiment == "" {
		return usagef("models serve: --payload-log-sample uploads to the serving run: it needs --log-experiment")
	}
	if o.PayloadInterval <= 0 || o.PayloadMaxPending <= 0 {
		return usagef("models serve: --payload-log-interval and --payload-log-max-files must be positive")
	}
	if maxBody > math.MaxInt32 {
		return usagef("models serve: --payload-log-max-body is too large")
	}
	o.PayloadMaxBody, o.PayloadRotateBytes = int(maxBody), rotate
	for c := range strings.SplitSeq(payloadExclude, ",") {
		if c = strings.TrimSpace(c); c != "" {
			o.PayloadExclude = append(o.PayloadExclude, c)
		}
	}
	o.Tracking = cfg
	if cacheDir == "" {
		cacheDir = app.DefaultCacheDir(env.getenv)
	}
	o.WorkerCacheDir = filepath.Join(filepath.Dir(cacheDir), "workers")
	src, err := app.NewModelSource(app.ModelSourceOptions{Tracking: cfg, CacheDir: cacheDir, Logger: o.Logger})
	if err != nil {
		return err
	}
	o.Source = src
	// The first signal ends ctx and starts the drain; restoring the default
	// disposition makes a second one end the process at once.
	go func() {
		<-ctx.Done()
		signal.Reset(os.Interrupt, syscall.SIGTERM)
	}()
	return app.RunServe(ctx, o)
}

// flagSet reports whether any of names was given on the command line.
func flagSet(fs *flag.FlagSet, names ...string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		for _, n := range names {
			if f.Name == n {
				found = true
			}
		}
	})
	return found
}

func userCacheDir(env *cliEnv) string {
	if d := env.getenv("XDG_CACHE_HOME"); d != "" {
		return d
	}
	if h := env.getenv("HOME"); h != "" {
		return h + "/.cache"
	}
	return os.TempDir()
}
