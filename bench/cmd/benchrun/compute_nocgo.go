//go:build !cgo

package main

import (
	"context"
	"errors"
	"time"

	"github.com/mlgate/mlgate/bench"
)

// computeFloor needs ONNX Runtime through cgo.
func computeFloor(context.Context, *model) (bench.Op, func(), error) {
	return nil, nil, errors.New("benchrun was built without cgo: no ONNX Runtime compute floor")
}

// rowCost needs ONNX Runtime through cgo.
func rowCost(context.Context, *model, int) (time.Duration, error) {
	return 0, errors.New("benchrun was built without cgo: no ONNX Runtime row cost")
}
