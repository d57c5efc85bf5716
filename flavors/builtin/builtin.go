package builtin

import (
	"log/slog"

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
}

// Register adds mlgate's flavors to r in preference order: onnx (in-process,
// cgo builds only), then python_function. In a build without cgo the onnx
// stand-in is registered last, so that a model that also has a
// python_function flavor is served by it, and a pure ONNX model gets a clear
// error.
func Register(r *flavors.Registry, opts Options) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	registerONNX(r, opts)
	r.Register(pyfunc.New(pyfunc.Options{Logger: opts.Logger})) // python_function, after onnx
	registerONNXStandIn(r, opts)
}
