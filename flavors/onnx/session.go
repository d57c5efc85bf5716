//go:build cgo

package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/mlgate/mlgate/flavors"
)

// sessionOptions builds ORT session options: the MLmodel's
// onnx_session_options first, then the thread counts from flags. With
// neither, a session runs each prediction on one intra-op thread: the
// server runs one prediction per core at once, and ORT's own pool (one
// spinning thread per core) would fight those for the CPUs. On 2 cores this
// gave 1.5x the throughput on a 1M-parameter MLP at 16 concurrent requests
// and no loss at concurrency 1 (docs/flavors.md).
func sessionOptions(c sessionConfig, lo flavors.LoadOptions) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	intra, inter := c.IntraOpThreads, c.InterOpThreads
	if lo.IntraOpThreads > 0 {
		intra = lo.IntraOpThreads
	}
	if intra <= 0 {
		intra = DefaultIntraOpThreads
	}
	if lo.InterOpThreads > 0 {
		inter = lo.InterOpThreads
	}
	var errs []error
	if intra > 0 {
		errs = append(errs, so.SetIntraOpNumThreads(intra))
	}
	if inter > 0 {
		errs = append(errs, so.SetInterOpNumThreads(inter))
	}
	switch c.ExecutionMode {
	case "sequential":
		errs = append(errs, so.SetExecutionMode(ort.ExecutionModeSequential))
	case "parallel":
		errs = append(errs, so.SetExecutionMode(ort.ExecutionModeParallel))
	}
	if c.HasGraphOpt {
		errs = append(errs, so.SetGraphOptimizationLevel(ort.GraphOptimizationLevel(c.GraphOptimizationLevel)))
	}
	for k, v := range c.Extra {
		errs = append(errs, so.AddSessionConfigEntry(k, v))
	}
	if err := errors.Join(errs...); err != nil {
		_ = so.Destroy()
		return nil, fmt.Errorf("onnx_session_options: %w", err)
	}
	return so, nil
}

// DefaultIntraOpThreads is the intra-op thread count of a session whose
// MLmodel and flags name none.
const DefaultIntraOpThreads = 1

// open creates the session for dir/cfg.Data. ORT resolves external weight
// files relative to the model file's folder.
func open(dir string, cfg config, lo flavors.LoadOptions) (*Predictor, error) {
	path := filepath.Join(dir, cfg.Data)
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: model file: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("onnx: model file %s is a folder", path)
	}
	so, err := sessionOptions(cfg.Session, lo)
	if err != nil {
		return nil, err
	}
	defer func() { _ = so.Destroy() }()
	ins, outs, err := ort.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, fmt.Errorf("onnx: loading %s: %w", cfg.Data, err)
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("onnx: %s has no inputs", cfg.Data)
	}
	p := &Predictor{inputs: toIOInfo(ins), outputs: toIOInfo(outs), opts: newRunOptsPool()}
	p.shapes.on = preallocatable(p.outputs)
	p.sess, err = ort.NewDynamicAdvancedSession(path, inputNames(p.inputs), inputNames(p.outputs), so)
	if err != nil {
		return nil, fmt.Errorf("onnx: loading %s: %w", cfg.Data, err)
	}
	return p, nil
}

func toIOInfo(infos []ort.InputOutputInfo) []ioInfo {
	out := make([]ioInfo, len(infos))
	for i, in := range infos {
		io := ioInfo{Name: in.Name, Kind: kindOther}
		switch in.OrtValueType {
		case ort.ONNXTypeTensor:
			io.Kind = kindTensor
			io.Elem = dtypeOf(in.DataType)
			io.Dims = append([]int64{}, in.Dimensions...)
		case ort.ONNXTypeSequence:
			io.Kind = kindSequence
		case ort.ONNXTypeMap:
			io.Kind = kindMap
		}
		out[i] = io
	}
	return out
}

// dtypeOf maps an ONNX element type to mlgate's dtype; types mlgate does not
// carry (bfloat16, float8, complex, int4) keep a descriptive name.
func dtypeOf(t ort.TensorElementDataType) flavors.DType {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return flavors.Float32
	case ort.TensorElementDataTypeDouble:
		return flavors.Float64
	case ort.TensorElementDataTypeFloat16:
		return flavors.Float16
	case ort.TensorElementDataTypeInt8:
		return flavors.Int8
	case ort.TensorElementDataTypeInt16:
		return flavors.Int16
	case ort.TensorElementDataTypeInt32:
		return flavors.Int32
	case ort.TensorElementDataTypeInt64:
		return flavors.Int64
	case ort.TensorElementDataTypeUint8:
		return flavors.Uint8
	case ort.TensorElementDataTypeUint16:
		return flavors.Uint16
	case ort.TensorElementDataTypeUint32:
		return flavors.Uint32
	case ort.TensorElementDataTypeUint64:
		return flavors.Uint64
	case ort.TensorElementDataTypeBool:
		return flavors.Bool
	case ort.TensorElementDataTypeString:
		return flavors.String
	case ort.TensorElementDataTypeBFloat16:
		return "bfloat16"
	}
	return flavors.DType(fmt.Sprintf("onnx-type-%d", int(t)))
}
