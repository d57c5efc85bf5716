package pyfunc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// Name is the MLmodel flavor key of python_function models.
const Name = "python_function"

// Keys of flavors.LoadOptions.Extra that this package reads.
const (
	// ExtraPython names the interpreter for the local env manager.
	ExtraPython = "pyfunc.python"
	// ExtraStartTimeout bounds a worker's start (a Go duration, e.g. "2m").
	ExtraStartTimeout = "pyfunc.start_timeout"
	// ExtraHangTimeout bounds how long an abandoned request may keep its
	// worker busy before the worker is killed (a Go duration).
	ExtraHangTimeout = "pyfunc.hang_timeout"
	// ExtraBatch forces the Batcher answer ("true" or "false").
	ExtraBatch = "pyfunc.batch"
	// ExtraFast turns the batch frame off ("false"): every request then
	// travels as an /invocations body that the worker parses itself.
	ExtraFast = "pyfunc.fast"
)

// Options configure the flavor; the zero value works (python3 from PATH,
// the OS temp dir as cache).
type Options struct {
	// Logger receives worker lifecycle events and stderr lines (debug).
	Logger *slog.Logger
	// CacheDir holds the worker script and built environments.
	CacheDir string
	// Python is the interpreter of the local env manager (default python3).
	Python string
	// StartTimeout bounds a worker's model load (default 5m).
	StartTimeout time.Duration
	// StopTimeout is the grace period between SIGTERM and SIGKILL (default 5s).
	StopTimeout time.Duration
	// HangTimeout bounds an abandoned request (default 60s).
	HangTimeout time.Duration
	// Env is the environment of workers (nil: the parent's).
	Env []string
	// Registerer receives the worker metrics (deaths, restarts, start
	// times), labelled with the flavor; nil records none.
	Registerer prometheus.Registerer
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(os.TempDir(), "mlgate-cache")
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 5 * time.Minute
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 5 * time.Second
	}
	if o.HangTimeout <= 0 {
		o.HangTimeout = 60 * time.Second
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	return o
}

// Flavor serves models from worker processes: the python_function flavor
// (New) or any flavor key with a command that speaks the worker protocol
// (NewExternal).
type Flavor struct {
	name    string
	command []string // nil: the embedded python_function worker
	opts    Options
	metrics *metrics
}

// New returns the python_function flavor.
func New(opts Options) *Flavor {
	return &Flavor{name: Name, opts: opts.withDefaults(), metrics: newMetrics(opts.Registerer, Name)}
}

// NewExternal returns a flavor named name whose workers run command (the
// program and its arguments; the model folder is appended as the last
// argument). The command must speak the worker protocol (docs/workers.md).
func NewExternal(name string, command []string, opts Options) (*Flavor, error) {
	if name == "" || len(command) == 0 || command[0] == "" {
		return nil, errors.New("pyfunc: an external worker flavor needs a name and a command")
	}
	return &Flavor{name: name, command: append([]string(nil), command...), opts: opts.withDefaults(), metrics: newMetrics(opts.Registerer, name)}, nil
}

// Name implements flavors.Flavor.
func (f *Flavor) Name() string { return f.name }

// Load starts opts.Workers workers for the model in dir and waits until
// every one has loaded it.
func (f *Flavor) Load(ctx context.Context, dir string, m *pkgformat.Model, opts flavors.LoadOptions) (flavors.Predictor, error) {
	o := f.opts
	if v := opts.Extra[ExtraStartTimeout]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", ExtraStartTimeout, v, err)
		}
		o.StartTimeout = d
	}
	if v := opts.Extra[ExtraHangTimeout]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", ExtraHangTimeout, v, err)
		}
		o.HangTimeout = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	sp := spec{
		name:         f.name + " worker",
		env:          append(append([]string(nil), o.Env...), "MLGATE_WORKER_PROTOCOL="+strconv.Itoa(Protocol), "MLGATE_MODEL_DIR="+abs, "MLGATE_FLAVOR="+f.name),
		dir:          abs,
		startTimeout: o.StartTimeout,
		stopTimeout:  o.StopTimeout,
	}
	if f.command != nil {
		sp.path, sp.args = f.command[0], append(append([]string(nil), f.command[1:]...), abs)
	} else {
		if _, ok := m.Flavor(Name); !ok {
			return nil, fmt.Errorf("%w: the model has no %s flavor", flavors.ErrNoFlavor, Name)
		}
		python, err := f.interpreter(ctx, abs, m, opts)
		if err != nil {
			return nil, err
		}
		script, err := writeWorkerScript(o.CacheDir)
		if err != nil {
			return nil, err
		}
		sp.path, sp.args = python, []string{"-u", script, abs}
		sp.env = append(sp.env, "MLFLOW_DISABLE_TELEMETRY=true", "PYTHONUNBUFFERED=1")
	}
	log := o.Logger.With(slog.String("flavor", f.name))
	pl, err := newPool(ctx, sp, opts.Workers, o.HangTimeout, log, f.metrics)
	if err != nil {
		return nil, err
	}
	hinted, _ := m.Extra["is_signature_from_type_hint"].(bool)
	p := &predictor{pool: pl, batch: canBatch(m, opts), hinted: hinted, stopTimeout: o.StopTimeout}
	if opts.Extra[ExtraFast] != "false" && pl.accept(frameBatch) {
		p.fast = newFastSchema(m, hinted)
	}
	return p, nil
}

// predictor is a loaded model served by a worker pool.
type predictor struct {
	pool        *pool
	batch       bool
	hinted      bool        // the signature came from type hints: Raw is the "inputs" value
	fast        *fastSchema // non-nil: frames that fit travel in batch frames
	stopTimeout time.Duration
	closeOnce   sync.Once
	mu          sync.RWMutex
	closed      bool
	inflight    sync.WaitGroup
}

// enter registers a call in flight; the caller must call
// p.inflight.Done when enter succeeds.
func (p *predictor) enter() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return fmt.Errorf("%w: %w", flavors.ErrUnavailable, errClosed)
	}
	p.inflight.Add(1)
	return nil
}

// Predict implements flavors.Predictor. A data frame that fits the model's
// scalar column signature travels decoded in a batch frame; anything else
// as an /invocations body that the worker parses with MLflow's own code.
func (p *predictor) Predict(ctx context.Context, in *flavors.Input) (*flavors.Output, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.inflight.Done()
	if p.fast.fits(in) {
		outs, errs, err := p.callBatch(ctx, []*flavors.Input{in}, in.Params)
		if err != nil {
			return nil, err
		}
		return outs[0], errs[0]
	}
	body, err := encodeRequest(in, p.hinted)
	if err != nil {
		return nil, err
	}
	f, err := p.pool.predict(ctx, framePredict, body)
	if err != nil {
		return nil, err
	}
	return decodeAnswer(f)
}

// CanBatch implements flavors.Batcher.
func (p *predictor) CanBatch() bool { return p.batch }

// Close stops the workers: gracefully first, then by killing their process
// groups. It is idempotent.
func (p *predictor) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), p.stopTimeout+time.Second)
		defer cancel()
		p.pool.close(ctx)
		p.inflight.Wait()
	})
	return nil
}

// canBatch says whether requests for m may be merged: a column-based
// signature without params, served by a loader whose predictions are one
// per row. LoadOptions.Extra[ExtraBatch] overrides.
func canBatch(m *pkgformat.Model, opts flavors.LoadOptions) bool {
	switch opts.Extra[ExtraBatch] {
	case "true":
		return true
	case "false":
		return false
	}
	cfg, ok := m.Flavor(Name)
	if !ok || m.Signature == nil || m.Signature.Inputs == nil || m.Signature.Inputs.IsTensor() {
		return false
	}
	if m.Signature.Params != nil && len(m.Signature.Params.Params) > 0 {
		return false
	}
	switch cfg["loader_module"] {
	case "mlflow.sklearn", "mlflow.xgboost", "mlflow.lightgbm", "mlflow.catboost":
		return true
	}
	return false
}

var (
	_ flavors.Flavor        = (*Flavor)(nil)
	_ flavors.Predictor     = (*predictor)(nil)
	_ flavors.Batcher       = (*predictor)(nil)
	_ flavors.ManyPredictor = (*predictor)(nil)
)

// ParseWorkerFlavor parses a "key=command" entry (the --worker-flavor
// option): a flavor key and a command line split on white space (no shell
// quoting). The model folder is appended to the command when it runs.
func ParseWorkerFlavor(s string) (name string, command []string, err error) {
	name, cmd, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	command = strings.Fields(cmd)
	if !ok || name == "" || len(command) == 0 {
		return "", nil, fmt.Errorf("worker flavor %q: want key=command, e.g. js_linear='node worker.js'", s)
	}
	return name, command, nil
}

// RegisterExternal registers one external worker flavor per "key=command"
// entry (the --worker-flavor option). Call it before builtin.Register so
// that a configured flavor is preferred over the built-in ones.
func RegisterExternal(r *flavors.Registry, entries []string, opts Options) error {
	for _, e := range entries {
		name, cmd, err := ParseWorkerFlavor(e)
		if err != nil {
			return err
		}
		f, err := NewExternal(name, cmd, opts)
		if err != nil {
			return err
		}
		if _, dup := r.Get(name); dup {
			return fmt.Errorf("worker flavor %q is configured twice", name)
		}
		r.Register(f)
	}
	return nil
}
