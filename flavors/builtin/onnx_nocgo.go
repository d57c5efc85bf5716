//go:build !cgo

package builtin

import (
	"context"
	"errors"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// ONNX reports whether this build serves ONNX models in-process.
const ONNX = false

// ErrNoONNX is what the stand-in's Load returns.
var ErrNoONNX = errors.New("this mlgate was built without ONNX Runtime (CGO_ENABLED=0): " +
	"rebuild with cgo to serve the onnx flavor, or serve the model's python_function flavor")

func registerONNX(*flavors.Registry, Options) {}

func registerONNXStandIn(r *flavors.Registry, _ Options) { r.Register(noONNX{}) }

// noONNX stands in for the onnx flavor in builds without cgo.
type noONNX struct{}

func (noONNX) Name() string { return "onnx" }

func (noONNX) Load(context.Context, string, *pkgformat.Model, flavors.LoadOptions) (flavors.Predictor, error) {
	return nil, ErrNoONNX
}

var _ flavors.Flavor = noONNX{}
