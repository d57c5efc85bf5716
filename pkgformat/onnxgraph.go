package pkgformat

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrBadONNX is wrapped by ONNX model parse errors.
var ErrBadONNX error = formatError("invalid ONNX model")

// ONNXGraph is what pkgformat reads from an ONNX ModelProto: enough to
// write a signature and to find external data files, without ONNX Runtime.
type ONNXGraph struct {
	IRVersion int64
	// Opsets maps operator set domains ("" for the default) to versions.
	Opsets map[string]int64
	// ProducerName and ProducerVersion describe the exporter.
	ProducerName    string
	ProducerVersion string
	// Inputs are the graph inputs that are not initializers.
	Inputs []ONNXValue
	// Outputs are the graph outputs.
	Outputs []ONNXValue
	// ExternalData are the files that initializers keep their data in,
	// relative to the model file, in first-use order.
	ExternalData []string
}

// ONNXValue is a graph input or output.
type ONNXValue struct {
	Name string
	// ElemType is the ONNX TensorProto.DataType; zero for non-tensors.
	ElemType int32
	// Shape has -1 for a dynamic axis; nil when the rank is unknown.
	Shape []int64
	// Kind is "tensor", "sequence", "map", "optional", "sparse_tensor" or
	// "unknown".
	Kind string
}

// onnxDTypes maps ONNX element types to numpy dtype names as MLflow writes
// them in tensor specs.
var onnxDTypes = map[int32]string{
	1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
	8: "object", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
	14: "complex64", 15: "complex128",
}

// ONNXElemTypeName returns the ONNX name of an element type, e.g. "FLOAT".
func ONNXElemTypeName(t int32) string {
	names := map[int32]string{
		1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
		8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64",
		14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16",
	}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

// NumpyDType returns the numpy dtype name for an ONNX tensor value.
func (v ONNXValue) NumpyDType() (string, bool) {
	d, ok := onnxDTypes[v.ElemType]
	return d, ok && v.Kind == "tensor"
}

// protobuf field numbers from onnx.proto.
const (
	modelIRVersion    = 1
	modelProducerName = 2
	modelProducerVer  = 3
	modelGraph        = 7
	modelOpsetImport  = 8
	graphInitializer  = 5
	graphInput        = 11
	graphOutput       = 12
	graphSparseInit   = 15
	tensorName        = 8
	tensorExternal    = 13
	tensorDataLoc     = 14
	valueName         = 1
	valueType         = 2
	typeTensor        = 1
	typeSequence      = 4
	typeMap           = 5
	typeSparse        = 8
	typeOptional      = 9
	tensorTypeElem    = 1
	tensorTypeShape   = 2
	shapeDim          = 1
	dimValue          = 1
	dimParam          = 2
	opsetDomain       = 1
	opsetVersion      = 2
	entryKey          = 1
	entryValue        = 2
	sparseValues      = 1
	sparseIndices     = 2
	locationExternal  = 1
)

// field is one decoded protobuf field.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	v     uint64
	bytes []byte
}

// fields decodes a protobuf message's top-level fields.
func fields(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		out = append(out, f)
	}
	return out, nil
}

// ParseONNX reads the graph signature of a serialized ONNX ModelProto.
func ParseONNX(data []byte) (*ONNXGraph, error) {
	top, err := fields(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadONNX, err)
	}
	g := &ONNXGraph{Opsets: map[string]int64{}}
	var graph []byte
	sawGraph := false
	for _, f := range top {
		switch {
		case f.num == modelIRVersion && f.typ == protowire.VarintType:
			g.IRVersion = int64(f.v)
		case f.num == modelProducerName && f.typ == protowire.BytesType:
			g.ProducerName = string(f.bytes)
		case f.num == modelProducerVer && f.typ == protowire.BytesType:
			g.ProducerVersion = string(f.bytes)
		case f.num == modelGraph && f.typ == protowire.BytesType:
			graph, sawGraph = f.bytes, true
		case f.num == modelOpsetImport && f.typ == protowire.BytesType:
			fs, err := fields(f.bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: opset_import: %w", ErrBadONNX, err)
			}
			var domain string
			var version int64
			for _, o := range fs {
				if o.num == opsetDomain && o.typ == protowire.BytesType {
					domain = string(o.bytes)
				} else if o.num == opsetVersion && o.typ == protowire.VarintType {
					version = int64(o.v)
				}
			}
			g.Opsets[domain] = version
		}
	}
	if !sawGraph || g.IRVersion == 0 {
		return nil, fmt.Errorf("%w: no ir_version or graph (is this an .onnx file?)", ErrBadONNX)
	}
	if err := g.parseGraph(graph); err != nil {
		return nil, fmt.Errorf("%w: graph: %w", ErrBadONNX, err)
	}
	return g, nil
}

func (g *ONNXGraph) parseGraph(b []byte) error {
	fs, err := fields(b)
	if err != nil {
		return err
	}
	inits := map[string]bool{}
	seenExt := map[string]bool{}
	addTensor := func(tb []byte) error {
		name, loc, err := tensorInfo(tb)
		if err != nil {
			return err
		}
		inits[name] = true
		if loc != "" && !seenExt[loc] {
			seenExt[loc] = true
			g.ExternalData = append(g.ExternalData, loc)
		}
		return nil
	}
	var inputs, outputs [][]byte
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case graphInitializer:
			if err := addTensor(f.bytes); err != nil {
				return fmt.Errorf("initializer: %w", err)
			}
		case graphSparseInit:
			sf, err := fields(f.bytes)
			if err != nil {
				return fmt.Errorf("sparse initializer: %w", err)
			}
			for _, s := range sf {
				if (s.num == sparseValues || s.num == sparseIndices) && s.typ == protowire.BytesType {
					if err := addTensor(s.bytes); err != nil {
						return fmt.Errorf("sparse initializer: %w", err)
					}
				}
			}
		case graphInput:
			inputs = append(inputs, f.bytes)
		case graphOutput:
			outputs = append(outputs, f.bytes)
		}
	}
	for _, b := range inputs {
		v, err := parseValueInfo(b)
		if err != nil {
			return fmt.Errorf("input: %w", err)
		}
		if !inits[v.Name] {
			g.Inputs = append(g.Inputs, v)
		}
	}
	for _, b := range outputs {
		v, err := parseValueInfo(b)
		if err != nil {
			return fmt.Errorf("output: %w", err)
		}
		g.Outputs = append(g.Outputs, v)
	}
	return nil
}

// tensorInfo returns a TensorProto's name and external data location.
func tensorInfo(b []byte) (name, location string, err error) {
	fs, err := fields(b)
	if err != nil {
		return "", "", err
	}
	external := false
	for _, f := range fs {
		switch {
		case f.num == tensorName && f.typ == protowire.BytesType:
			name = string(f.bytes)
		case f.num == tensorDataLoc && f.typ == protowire.VarintType:
			external = f.v == locationExternal
		case f.num == tensorExternal && f.typ == protowire.BytesType:
			ef, err := fields(f.bytes)
			if err != nil {
				return "", "", err
			}
			var k, v string
			for _, e := range ef {
				if e.typ != protowire.BytesType {
					continue
				}
				switch e.num {
				case entryKey:
					k = string(e.bytes)
				case entryValue:
					v = string(e.bytes)
				}
			}
			if k == "location" {
				location = v
			}
		}
	}
	if !external {
		location = ""
	}
	return name, location, nil
}

func parseValueInfo(b []byte) (ONNXValue, error) {
	fs, err := fields(b)
	if err != nil {
		return ONNXValue{}, err
	}
	v := ONNXValue{Kind: "unknown"}
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case valueName:
			v.Name = string(f.bytes)
		case valueType:
			if err := v.parseType(f.bytes); err != nil {
				return ONNXValue{}, fmt.Errorf("%q: %w", v.Name, err)
			}
		}
	}
	return v, nil
}

func (v *ONNXValue) parseType(b []byte) error {
	fs, err := fields(b)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case typeTensor:
			v.Kind = "tensor"
			return v.parseTensorType(f.bytes)
		case typeSequence:
			v.Kind = "sequence"
		case typeMap:
			v.Kind = "map"
		case typeSparse:
			v.Kind = "sparse_tensor"
		case typeOptional:
			v.Kind = "optional"
		}
	}
	return nil
}

func (v *ONNXValue) parseTensorType(b []byte) error {
	fs, err := fields(b)
	if err != nil {
		return err
	}
	for _, f := range fs {
		switch {
		case f.num == tensorTypeElem && f.typ == protowire.VarintType:
			v.ElemType = int32(f.v)
		case f.num == tensorTypeShape && f.typ == protowire.BytesType:
			dims, err := fields(f.bytes)
			if err != nil {
				return err
			}
			v.Shape = []int64{}
			for _, d := range dims {
				if d.num != shapeDim || d.typ != protowire.BytesType {
					continue
				}
				df, err := fields(d.bytes)
				if err != nil {
					return err
				}
				dim := int64(-1)
				for _, x := range df {
					if x.num == dimValue && x.typ == protowire.VarintType && int64(x.v) > 0 {
						dim = int64(x.v)
					}
				}
				v.Shape = append(v.Shape, dim)
			}
		}
	}
	return nil
}

// Signature returns the MLflow tensor signature of the graph: every input
// (which must be a tensor with a numpy dtype and a known rank) and every
// such tensor output; other outputs (sequences, maps such as a
// classifier's ZipMap, tensors of unknown rank) are left out of the
// outputs schema.
func (g *ONNXGraph) Signature() (*Signature, error) {
	specs := func(vals []ONNXValue, strict bool) ([]TensorSpec, error) {
		var out []TensorSpec
		for _, v := range vals {
			dt, ok := v.NumpyDType()
			if !ok {
				if !strict {
					continue
				}
				if v.Kind != "tensor" {
					return nil, fmt.Errorf("input %q is a %s, not a tensor", v.Name, v.Kind)
				}
				return nil, fmt.Errorf("input %q has element type %s, which has no numpy dtype", v.Name, ONNXElemTypeName(v.ElemType))
			}
			if v.Shape == nil {
				// Unknown rank: MLflow's tensor specs need one.
				if strict {
					return nil, fmt.Errorf("input %q has no shape (unknown rank)", v.Name)
				}
				continue
			}
			out = append(out, TensorSpec{Name: v.Name, DType: dt, Shape: v.Shape})
		}
		return out, nil
	}
	in, err := specs(g.Inputs, true)
	if err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, errors.New("the graph has no inputs")
	}
	out, err := specs(g.Outputs, false)
	if err != nil {
		return nil, err
	}
	sig := &Signature{Inputs: &Schema{Tensors: in}}
	if len(out) > 0 {
		sig.Outputs = &Schema{Tensors: out}
	}
	return sig, nil
}
