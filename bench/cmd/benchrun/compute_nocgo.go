//go:build !cgo

package main

import (
	"context"
	"errors"

	"github.com/mlgate/mlgate/bench"
)

// computeFloor needs ONNX Runtime through cgo.
func computeFloor(context.Context, *model) (bench.Op, func(), error) {
	return nil, nil, errors.New("benchrun was built without cgo: no ONNX Runtime compute floor")
}
