//go:build cgo

package builtin

import (
	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/flavors/onnx"
)

// ONNX reports whether this build serves ONNX models in-process.
const ONNX = true

func registerONNX(r *flavors.Registry, o Options) {
	r.Register(onnx.New(onnx.WithLibrary(o.ONNXRuntimeLib), onnx.WithLogger(o.Logger.With("flavor", onnx.FlavorName))))
}

func registerONNXStandIn(*flavors.Registry, Options) {}
