package builtin

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/flavors/pyfunc"
)

// Options configures the built-in flavors.
type Options struct {
	// ONNXRuntimeLib is the path of libonnxruntime.so, found by
	// internal/ortlib (flag, env, cache, system path).
	ONNXRuntimeLib string
	// Logger is narrowed per flavor; nil discards.
	Logger *slog.Logger
	// Python is the interpreter of the local env manager (default python3).
	Python string
	// CacheDir holds worker scripts and built environments.
	CacheDir string
	// Registerer receives flavor metrics (worker restarts); nil records none.
	Registerer prometheus.Registerer
	// WorkerFlavors are key=command entries for external worker flavors,
	// registered before the built-in ones.
	WorkerFlavors []string
}

// Register adds mlgate's flavors to r in preference order: onnx (in-process,
// cgo builds only), then python_function. In a build without cgo the onnx
// stand-in is registered last, so that a model that also has a
// python_function flavor is served by it, and a pure ONNX model gets a clear
// error.
//
// External worker flavors (opts.WorkerFlavors) come first; a bad entry is
// returned as an error.
func Register(r *flavors.Registry, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	po := pyfunc.Options{Logger: opts.Logger, Python: opts.Python, CacheDir: opts.CacheDir, Registerer: opts.Registerer}
	if err := pyfunc.RegisterExternal(r, opts.WorkerFlavors, po); err != nil {
		return err
	}
	registerONNX(r, opts)
	r.Register(pyfunc.New(po)) // python_function, after onnx
	registerONNXStandIn(r, opts)
	return nil
}
