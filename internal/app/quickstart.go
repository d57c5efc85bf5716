package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/tracking"
)

// QuickstartOptions configure `mlgate quickstart` (what `make run` runs).
type QuickstartOptions struct {
	// Dir keeps the store and artifacts; empty means a temporary folder
	// removed on exit.
	Dir string
	// ServerPort is the tracking+registry port and ServePort the scoring
	// port (`mlgate quickstart` passes 5000 and 5001); a port that is taken
	// is replaced by a free one, and 0 picks a free one.
	ServerPort, ServePort int
	// ModelDir is the MLflow model folder to log (default
	// examples/models/linear).
	ModelDir string
	// ModelName is the registered model name (default linear-example).
	ModelName string
	// ONNXRuntimeLib is the resolved libonnxruntime path.
	ONNXRuntimeLib string
	// Stdout receives the human-readable summary and the curl line.
	Stdout io.Writer
	// Logger is required.
	Logger *slog.Logger
	// Ready, when set, is called once the model is served, with the
	// tracking server URL and the scoring URL (tests use it).
	Ready func(serverURL, scoringURL string)
}

// RunQuickstart starts an embedded tracking and registry server on
// 127.0.0.1, logs the example model as a run artifact with params and
// metrics, registers it, sets the alias "champion", serves
// models:/<name>@champion on 127.0.0.1 and prints a curl line that scores
// it. It runs until ctx ends, then shuts everything down.
func RunQuickstart(ctx context.Context, o QuickstartOptions) (err error) {
	if o.Logger == nil {
		return errors.New("quickstart: no logger")
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.ModelDir == "" {
		o.ModelDir = filepath.Join("examples", "models", "linear")
	}
	if o.ModelName == "" {
		o.ModelName = "linear-example"
	}
	if _, err := os.Stat(filepath.Join(o.ModelDir, "MLmodel")); err != nil {
		return fmt.Errorf("quickstart: no MLflow model at %s (run from the repository root, or pass --model DIR): %w", o.ModelDir, err)
	}
	if o.Dir == "" {
		tmp, err := os.MkdirTemp("", "mlgate-quickstart-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		o.Dir = tmp
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}

	// 1. The tracking and registry server, embedded.
	srv, err := startQuickstartServer(ctx, o, dir)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = errors.Join(err, srv.Stop(sctx))
	}()
	fmt.Fprintf(o.Stdout, "tracking and registry server: %s (store %s)\n", srv.URL(), filepath.Join(dir, "mlgate.db"))

	// 2. A run with params, metrics and the model as an artifact.
	runID, err := logQuickstartRun(ctx, o, srv.URL())
	if err != nil {
		return err
	}

	// 3. Register it and point the alias at the new version.
	cfg := tracking.Config{TrackingURI: srv.URL(), Logger: o.Logger}
	c, err := tracking.NewClient(cfg)
	if err != nil {
		return err
	}
	reg := registry.NewClient(c.Transport())
	mv, err := reg.RegisterModel(ctx, "runs:/"+runID+"/model", o.ModelName, time.Minute)
	if err != nil {
		return fmt.Errorf("quickstart: %w", err)
	}
	if err := reg.SetRegisteredModelAlias(ctx, o.ModelName, "champion", mv.Version); err != nil {
		return fmt.Errorf("quickstart: set alias: %w", err)
	}
	modelURI := "models:/" + o.ModelName + "@champion"
	fmt.Fprintf(o.Stdout, "registered %s version %s with alias champion (run %s)\n", o.ModelName, mv.Version, runID)

	// 4. Serve models:/<name>@champion through the registry.
	src, err := NewModelSource(ModelSourceOptions{Tracking: cfg, CacheDir: filepath.Join(dir, "cache"), Logger: o.Logger})
	if err != nil {
		return err
	}
	sc, err := newQuickstartScoring(o, modelURI, src)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = errors.Join(err, sc.Stop(sctx))
	}()
	if err := sc.Start(ctx); err != nil {
		return fmt.Errorf("quickstart: serve %s: %w", modelURI, err)
	}
	scoringURL := "http://" + sc.Addr()
	example, _ := os.ReadFile(filepath.Join(o.ModelDir, "serving_input_example.json"))
	if len(example) == 0 {
		example = []byte(`{"inputs": {"input": [[1.0, 2.0, 3.0]]}}`)
	}
	var compact json.RawMessage = example
	if b, err := json.Marshal(compact); err == nil {
		example = b
	}
	fmt.Fprintf(o.Stdout, "serving %s on %s\n\nscore it with:\n  curl -s %s/invocations -H 'Content-Type: application/json' -d '%s'\n\n",
		modelURI, scoringURL, scoringURL, example)
	fmt.Fprintf(o.Stdout, "MLflow clients can use MLFLOW_TRACKING_URI=%s; press Ctrl-C to stop\n", srv.URL())
	if o.Ready != nil {
		o.Ready(srv.URL(), scoringURL)
	}
	<-ctx.Done()
	fmt.Fprintln(o.Stdout, "stopping")
	return nil
}

func startQuickstartServer(ctx context.Context, o QuickstartOptions, dir string) (*Server, error) {
	opts := ServerOptions{
		BackendStoreURI:      "sqlite:///" + filepath.Join(dir, "mlgate.db"),
		ArtifactsDestination: filepath.Join(dir, "mlartifacts"),
		ServeArtifacts:       true,
		Host:                 "127.0.0.1",
		Port:                 o.ServerPort,
		Logger:               o.Logger,
	}
	srv, err := NewServer(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		o.Logger.Warn("port taken; using a free port", "port", o.ServerPort, "err", err)
		_ = srv.Stop(context.Background())
		opts.Port = 0
		if srv, err = NewServer(ctx, opts); err != nil {
			return nil, err
		}
		if err := srv.Start(); err != nil {
			_ = srv.Stop(context.Background())
			return nil, err
		}
	}
	return srv, nil
}

func newQuickstartScoring(o QuickstartOptions, modelURI string, src *ModelSource) (*Scoring, error) {
	opts := ServeOptions{
		ModelURI: modelURI, Host: "127.0.0.1", Port: o.ServePort, Timeout: 60 * time.Second,
		Workers: 1, EnvManager: "local", ONNXRuntimeLib: o.ONNXRuntimeLib, MaxQueue: 256,
		MaxBodyBytes: 64 << 20, ModelName: o.ModelName, Source: src, Logger: o.Logger,
	}
	sc, err := NewScoring(opts)
	if err != nil {
		o.Logger.Warn("scoring port taken; using a free port", "port", o.ServePort, "err", err)
		opts.Port = 0
		return NewScoring(opts)
	}
	return sc, nil
}

// logQuickstartRun logs a small "training" run with the model folder as
// its "model" artifact and returns the run id.
func logQuickstartRun(ctx context.Context, o QuickstartOptions, serverURL string) (string, error) {
	c, err := tracking.NewClient(tracking.Config{TrackingURI: serverURL, Logger: o.Logger})
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close(ctx) }()
	expID, err := c.CreateExperiment(ctx, "quickstart")
	if err != nil {
		return "", fmt.Errorf("quickstart: %w", err)
	}
	run, err := c.CreateRun(ctx, expID, tracking.WithRunName("quickstart-linear"),
		tracking.WithRunTags(map[string]string{tracking.TagSourceType: "LOCAL", tracking.TagSourceName: "mlgate quickstart"}))
	if err != nil {
		return "", err
	}
	id := run.Info.RunID
	if err := c.LogParams(ctx, id, map[string]any{"model": "linear", "features": 3, "framework": "onnx"}); err != nil {
		return "", err
	}
	for step, mse := range []float64{1.9, 0.7, 0.21, 0.05, 0.01} {
		if err := c.LogMetric(ctx, id, "mse", mse, tracking.WithStep(int64(step))); err != nil {
			return "", err
		}
	}
	if err := c.LogArtifacts(ctx, id, o.ModelDir, "model"); err != nil {
		return "", err
	}
	if err := c.SetTerminated(ctx, id, tracking.StatusFinished); err != nil {
		return "", err
	}
	fmt.Fprintf(o.Stdout, "logged run %s in experiment %s (params, mse per step, model artifact)\n", id, expID)
	return id, nil
}
