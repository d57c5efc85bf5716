// Command train is an end-to-end example of mlgate's Go tracking API: it
// "trains" a linear model with gradient descent, logs parameters, metrics
// per epoch, tags and artifacts with the fluent API (the functions of
// MLflow's tracking API), logs an MLflow model folder, registers it in the
// model registry and points the alias "champion" at the new version.
//
//	go run ./examples/train -tracking-uri http://127.0.0.1:5000 -model examples/models/linear
//
// The model folder is the example ONNX model of examples/models (the same
// function the loop below learns), so the registered model can be served with
// `mlgate models serve -m models:/linear-example@champion`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/tracking"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

// options are the example's flags.
type options struct {
	trackingURI, experiment, modelDir, modelName string
	epochs                                       int
	lr                                           float64
}

func run(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.StringVar(&o.trackingURI, "tracking-uri", "", "tracking server (default $MLFLOW_TRACKING_URI)")
	fs.StringVar(&o.experiment, "experiment", "go-example", "experiment name")
	fs.StringVar(&o.modelDir, "model", "examples/models/linear", "MLflow model folder to log and register")
	fs.StringVar(&o.modelName, "name", "linear-example", "registered model name")
	fs.IntVar(&o.epochs, "epochs", 20, "training epochs")
	fs.Float64Var(&o.lr, "lr", 0.1, "learning rate")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// Configuration comes from the environment once, then flags override it.
	tracking.Configure(tracking.FromEnv(os.Getenv))
	if o.trackingURI != "" {
		tracking.SetTrackingURI(o.trackingURI)
	}
	fmt.Println("tracking URI:", tracking.GetTrackingURI())

	// CreateExperiment fails when the experiment exists; SetExperiment
	// creates or reuses it and makes it active.
	if _, err := tracking.CreateExperiment(ctx, o.experiment+"-scratch-"+fmt.Sprint(time.Now().UnixNano())); err != nil {
		return err
	}
	exp, err := tracking.SetExperiment(ctx, o.experiment)
	if err != nil {
		return err
	}

	run, err := tracking.StartRun(ctx, tracking.WithRunName("gd-linear"))
	if err != nil {
		return err
	}
	if err := train(ctx, o, run); err != nil {
		_ = tracking.EndRun(context.WithoutCancel(ctx), tracking.StatusFailed)
		return err
	}
	if err := tracking.EndRun(ctx); err != nil {
		return err
	}
	last, err := tracking.LastActiveRun(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("run %s in experiment %s finished with status %s\n", last.Info.RunID, exp.ExperimentID, last.Info.Status)

	// Register the logged model and point the alias at it.
	c, err := tracking.DefaultClient()
	if err != nil {
		return err
	}
	if c.Transport() == nil {
		fmt.Println("embedded tracking URI: registration needs a server; skipped")
		return nil
	}
	reg := registry.NewClient(c.Transport())
	mv, err := reg.RegisterModel(ctx, "runs:/"+last.Info.RunID+"/model", o.modelName, 0)
	if err != nil {
		return err
	}
	if err := reg.SetRegisteredModelAlias(ctx, o.modelName, "champion", mv.Version); err != nil {
		return err
	}
	fmt.Printf("registered %s version %s as models:/%s@champion\n", o.modelName, mv.Version, o.modelName)
	return nil
}

// train fits y = w·x + b to data from y = 2·x0 − 3·x1 + 0.5·x2 + 1 with
// gradient descent and logs to the active run.
func train(ctx context.Context, o options, run *tracking.Run) error {
	if tracking.ActiveRun() == nil || tracking.ActiveRun().Info.RunID != run.Info.RunID {
		return errors.New("the started run is not active")
	}
	if err := tracking.LogParam(ctx, "optimizer", "gd"); err != nil {
		return err
	}
	if err := tracking.LogParams(ctx, map[string]any{"epochs": o.epochs, "lr": o.lr, "features": 3}); err != nil {
		return err
	}
	if err := tracking.SetTag(ctx, "example", "train"); err != nil {
		return err
	}
	if err := tracking.SetTags(ctx, map[string]any{"language": "go", "model_flavor": "onnx"}); err != nil {
		return err
	}

	rng := rand.New(rand.NewPCG(1, 2))
	const n = 256
	xs := make([][3]float64, n)
	ys := make([]float64, n)
	for i := range xs {
		for j := range 3 {
			xs[i][j] = rng.NormFloat64()
		}
		ys[i] = 2*xs[i][0] - 3*xs[i][1] + 0.5*xs[i][2] + 1
	}
	var w [3]float64
	var b float64
	for epoch := range o.epochs {
		var gw [3]float64
		var gb, loss float64
		for i := range xs {
			pred := w[0]*xs[i][0] + w[1]*xs[i][1] + w[2]*xs[i][2] + b
			d := pred - ys[i]
			loss += d * d / n
			for j := range 3 {
				gw[j] += 2 * d * xs[i][j] / n
			}
			gb += 2 * d / n
		}
		for j := range 3 {
			w[j] -= o.lr * gw[j]
		}
		b -= o.lr * gb
		if err := tracking.LogMetric(ctx, "mse", loss, tracking.WithStep(int64(epoch))); err != nil {
			return err
		}
	}
	if err := tracking.LogMetrics(ctx, map[string]float64{"w0": w[0], "w1": w[1], "w2": w[2], "b": b}); err != nil {
		return err
	}

	// Artifacts: a weights file and the model folder.
	tmp, err := os.MkdirTemp("", "train-example-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	weights := filepath.Join(tmp, "weights.json")
	data, _ := json.Marshal(map[string]any{"w": w, "b": b})
	if err := os.WriteFile(weights, data, 0o644); err != nil {
		return err
	}
	if err := tracking.LogArtifact(ctx, weights, "training"); err != nil {
		return err
	}
	if err := tracking.LogArtifacts(ctx, o.modelDir, "model"); err != nil {
		return err
	}
	uri, err := tracking.GetArtifactURI(ctx, "model")
	if err != nil {
		return err
	}
	fmt.Printf("learned w=%.3f b=%.3f; model logged at %s\n", w, b, uri)
	return nil
}
