package serve

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/pkgformat"
)

// The Open Inference Protocol (KServe v2) over REST. Errors keep the
// status apierr picks and are written as {"error": msg} (what Triton and
// KServe clients read) plus MLflow's "error_code" and "message".

// oipHandle adapts an OIP handler: errors are rendered in OIP form.
func (s *Server) oipHandle(f apierr.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := f(c); err != nil {
			e := apierr.From(err)
			for k, v := range e.Headers {
				c.Header(k, v)
			}
			oe := oipError{Error: e.Message, ErrorCode: string(e.Code), Message: e.Message}
			b, _ := apierr.MarshalLong(&oe, &oe.Error, &oe.Message)
			c.Abort()
			c.Data(e.HTTPStatus(), "application/json", b)
		}
	}
}

type oipError struct {
	Error     string `json:"error"`
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// oipTypes maps OIP datatypes to element types.
var oipTypes = map[string]flavors.DType{
	"BOOL": flavors.Bool, "UINT8": flavors.Uint8, "UINT16": flavors.Uint16, "UINT32": flavors.Uint32,
	"UINT64": flavors.Uint64, "INT8": flavors.Int8, "INT16": flavors.Int16, "INT32": flavors.Int32,
	"INT64": flavors.Int64, "FP16": flavors.Float16, "FP32": flavors.Float32, "FP64": flavors.Float64,
	"BYTES": flavors.String,
}

func oipType(d flavors.DType) string {
	for k, v := range oipTypes {
		if v == d {
			return k
		}
	}
	return "BYTES"
}

func (s *Server) oipServerMeta(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"name": "mlgate", "version": s.opts.ServerVersion, "extensions": []string{binaryExtension}})
	return nil
}

func (s *Server) oipLive(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"live": true})
	return nil
}

func (s *Server) oipReady(c *gin.Context) error {
	if !s.Ready() {
		return apierr.New(apierr.TemporarilyUnavailable, "the server is not ready")
	}
	c.JSON(http.StatusOK, gin.H{"ready": true})
	return nil
}

// oipModel resolves the model named in the path, with a reference held.
func (s *Server) oipModel(c *gin.Context, split bool) (*handle, error) {
	name, version := c.Param("name"), c.Param("version")
	var h *handle
	if name == s.opts.Name {
		h = s.route(c, version, split)
	} else {
		h = s.acquire(name)
	}
	if h == nil {
		if name == s.opts.Name {
			return nil, apierr.New(apierr.TemporarilyUnavailable, "model %s is not loaded", name)
		}
		return nil, apierr.New(apierr.ResourceDoesNotExist, "model %s not found", name)
	}
	if version != "" && version != h.m.Version {
		h.release()
		return nil, apierr.New(apierr.ResourceDoesNotExist, "model %s version %s not found", name, version)
	}
	return h, nil
}

func (s *Server) oipModelReady(c *gin.Context) error {
	h, err := s.oipModel(c, false)
	if err != nil {
		return err
	}
	defer h.release()
	if s.draining.Load() {
		return apierr.New(apierr.TemporarilyUnavailable, "the server is shutting down")
	}
	c.JSON(http.StatusOK, gin.H{"name": h.m.Name, "ready": true})
	return nil
}

func (s *Server) oipModelMeta(c *gin.Context) error {
	h, err := s.oipModel(c, false)
	if err != nil {
		return err
	}
	defer h.release()
	md := describe(h.m)
	resp := gin.H{"name": h.m.Name, "platform": h.m.Flavor, "inputs": oipMeta(md.Inputs), "outputs": oipMeta(md.Outputs)}
	if h.m.Version != "" {
		resp["versions"] = []string{h.m.Version}
	}
	c.JSON(http.StatusOK, resp)
	return nil
}

type oipTensorMeta struct {
	Name     string  `json:"name"`
	DataType string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

func oipMeta(ts []flavors.TensorMeta) []oipTensorMeta {
	out := make([]oipTensorMeta, 0, len(ts))
	for _, t := range ts {
		out = append(out, oipTensorMeta{Name: t.Name, DataType: oipType(t.DType), Shape: t.Shape})
	}
	return out
}

// describe lists the model's tensors: from the predictor when it knows
// them, else from the signature (columns as [-1, 1], as MLServer does).
func describe(m *Model) flavors.Metadata {
	if d, ok := m.Predictor.(flavors.Describer); ok {
		return d.Describe()
	}
	var md flavors.Metadata
	sig := m.signature()
	if sig == nil {
		return md
	}
	conv := func(s *pkgformat.Schema, prefix string) []flavors.TensorMeta {
		if s == nil {
			return nil
		}
		var out []flavors.TensorMeta
		for i, t := range s.Tensors {
			name := t.Name
			if name == "" {
				name = prefix + "-" + itoa(i)
			}
			out = append(out, flavors.TensorMeta{Name: name, DType: normDType(t.DType), Shape: t.Shape})
		}
		for i, c := range s.Columns {
			name := c.Name
			if name == "" {
				name = prefix + "-" + itoa(i)
			}
			out = append(out, flavors.TensorMeta{Name: name, DType: columnDType(c.Type.Type), Shape: []int64{-1, 1}})
		}
		return out
	}
	md.Inputs = conv(sig.Inputs, "input")
	md.Outputs = conv(sig.Outputs, "output")
	return md
}

func columnDType(t string) flavors.DType {
	switch t {
	case "boolean":
		return flavors.Bool
	case "integer":
		return flavors.Int32
	case "long":
		return flavors.Int64
	case "float":
		return flavors.Float32
	case "double":
		return flavors.Float64
	}
	return flavors.String
}

// oipInfer runs an inference request through the same path as
// /invocations: named tensors become an "inputs" object (a column schema
// or content_type "pd" makes them data frame columns).
func (s *Server) oipInfer(c *gin.Context) error {
	ctx, cancel := s.requestContext(c)
	defer cancel()
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	n := len(body)
	if body, err = decodeContent(body, c.GetHeader("Content-Encoding"), s.opts.MaxBodyBytes, s.tooLarge); err != nil {
		return err
	}
	if len(body) != n { // inflated
		noteDecoded(c, len(body))
	}
	keepRequest(c, body) // decoded
	header, binData, err := splitBinary(body, c.GetHeader(binaryHeader))
	if err != nil {
		return err
	}
	var bin *binaryReader
	if binData != nil {
		bin = &binaryReader{buf: binData}
	}
	h, err := s.oipModel(c, true)
	if err != nil {
		return err
	}
	defer h.release()
	s.answeredBy(c, h)
	// packed: numeric tensor data stays number literals in place until
	// the cast (see nestPacked)
	root, err := parseJSONPacked(header)
	if errors.Is(err, errIntTooLarge) {
		return invalidInput("%v", err)
	}
	if err != nil || root.k != kObject {
		return apierr.New(apierr.BadRequest, "invalid inference request: the body must be a JSON object")
	}
	inputs, ok := root.get("inputs")
	if !ok || inputs.k != kArray || len(inputs.items()) == 0 {
		return apierr.New(apierr.BadRequest, "invalid inference request: \"inputs\" must be a non-empty list")
	}
	sig := h.m.signature()
	asFrame := contentType(&root) == "pd" || (sig != nil && sig.Inputs != nil && len(sig.Inputs.Columns) > 0)
	obj := value{k: kObject}
	for i := range inputs.arr {
		name, v, err := oipTensorFrom(&inputs.arr[i], asFrame, bin, int64(len(body))+1)
		if err != nil {
			return err
		}
		obj.keys = append(obj.keys, name)
		obj.vals = append(obj.vals, v)
	}
	if err := bin.rest(); err != nil {
		return err
	}
	req := &request{format: fmtInputs, data: &obj}
	if p, ok := root.get("parameters"); ok && p.k == kObject {
		params := &value{k: kObject}
		for i, k := range p.keys {
			if k != "content_type" && k != "binary_data_output" {
				params.keys = append(params.keys, k)
				params.vals = append(params.vals, p.vals[i])
			}
		}
		req.params = params
	}
	if sig != nil && sig.Inputs != nil && !sig.Inputs.HasNames() && len(obj.keys) == 1 && !asFrame {
		req.data = &obj.vals[0]
	}
	in, err := buildInput(req, sig)
	if err != nil {
		return err
	}
	out, err := s.predict(ctx, h, in)
	if err != nil {
		return s.predictError(err)
	}
	outs, err := oipOutputs(out, describe(h.m))
	if err != nil {
		return apierr.New(apierr.InternalError, "%s", err.Error())
	}
	want, ok := root.get("outputs")
	if !ok || want.k != kArray || len(want.items()) == 0 {
		want = nil
	}
	if want != nil {
		var sel []oipOut
		for i := range want.arr {
			n, _ := want.arr[i].get("name")
			if n == nil || n.k != kString {
				return apierr.New(apierr.BadRequest, "requested outputs need a name")
			}
			found := false
			for _, o := range outs {
				if o.Name == n.s {
					sel, found = append(sel, o), true
				}
			}
			if !found {
				return apierr.New(apierr.BadRequest, "unknown output %q", n.s)
			}
		}
		outs = sel
	}
	id := ""
	if v, ok := root.get("id"); ok && v.k == kString {
		id = v.s
	} else {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	var tail []byte
	for i := range outs {
		if !binaryWanted(&root, want, outs[i].Name) {
			continue
		}
		start := len(tail)
		if tail, err = encodeBinary(tail, &outs[i]); err != nil {
			return apierr.New(apierr.InternalError, "output %q: %s", outs[i].Name, err.Error())
		}
		outs[i].Binary = tail[start:len(tail):len(tail)]
	}
	resp := oipResponse{ModelName: h.m.Name, ModelVersion: h.m.Version, ID: id, Outputs: outs}
	b := appendOIPResponse(nil, &resp)
	if tail == nil {
		c.Data(http.StatusOK, "application/json", b)
	} else {
		c.Header(binaryHeader, strconv.Itoa(len(b)))
		c.Data(http.StatusOK, "application/octet-stream", append(b, tail...))
	}
	s.mirror(h, in, out, nil)
	return nil
}

func contentType(root *value) string {
	if p, ok := root.get("parameters"); ok && p.k == kObject {
		if ct, ok := p.get("content_type"); ok && ct.k == kString {
			return ct.s
		}
	}
	return ""
}

// oipTensor checks one JSON request tensor and returns its data nested to
// its shape (or as a flat column for a data frame).
func oipTensor(t *value, flat bool) (string, value, error) {
	return oipTensorFrom(t, flat, nil, 1<<26)
}

// oipTensorFrom is oipTensor for a request that may carry binary data: a
// tensor with parameters.binary_data_size takes its data from bin. A
// shape may not describe more than maxElems elements (each needs at least
// one byte of the request body).
func oipTensorFrom(t *value, flat bool, bin *binaryReader, maxElems int64) (string, value, error) {
	if t.k != kObject {
		return "", value{}, apierr.New(apierr.BadRequest, "each input must be an object")
	}
	nv, _ := t.get("name")
	sv, _ := t.get("shape")
	dv, _ := t.get("datatype")
	data, hasData := t.get("data")
	if nv == nil || nv.k != kString || sv == nil || sv.k != kArray || dv == nil || dv.k != kString {
		return "", value{}, apierr.New(apierr.BadRequest, "each input needs \"name\", \"shape\" and \"datatype\"")
	}
	name := nv.s
	size, err := binarySize(t)
	if err != nil {
		return "", value{}, apierr.New(apierr.BadRequest, "input %q: %s", name, err.Error())
	}
	switch {
	case hasData && size >= 0:
		return "", value{}, apierr.New(apierr.BadRequest, "input %q has both \"data\" and binary_data_size", name)
	case !hasData && size < 0:
		return "", value{}, apierr.New(apierr.BadRequest, "input %q has neither \"data\" nor binary_data_size", name)
	case size >= 0 && bin == nil:
		return "", value{}, apierr.New(apierr.BadRequest, "input %q has binary_data_size but the request has no %s header", name, binaryHeader)
	}
	if _, ok := oipTypes[dv.s]; !ok {
		return "", value{}, apierr.New(apierr.BadRequest, "input %q: unsupported datatype %q", name, dv.s)
	}
	dims := sv.items()
	shape := make([]int64, len(dims))
	for i := range dims {
		d := &dims[i]
		if !d.isInt() || strings.HasPrefix(d.num, "-") {
			return "", value{}, apierr.New(apierr.BadRequest, "input %q: shape must hold non-negative integers", name)
		}
		shape[i] = int64(d.float())
	}
	count, ok := shapeCount(shape, maxElems)
	if !ok {
		return "", value{}, apierr.New(apierr.BadRequest, "input %q: shape %v is too large", name, shape)
	}
	var flatVals []*value
	switch {
	case size >= 0:
		raw, err := bin.next(name, size)
		if err != nil {
			return "", value{}, err
		}
		if n, ok := decodePacked(dv.s, count, raw); ok && count > 0 {
			if flat {
				return name, value{k: kArray, nums: n}, nil
			}
			return name, nestPacked(n, shape), nil
		}
		vals, err := decodeBinary(name, dv.s, count, raw)
		if err != nil {
			return "", value{}, err
		}
		// decoded elements are scalars of the declared type, contiguous in
		// row-major order: nest them by slicing, without copying
		if flat {
			return name, value{k: kArray, arr: vals}, nil
		}
		return name, nestSlices(vals, shape), nil
	case data.k != kArray:
		flatVals = []*value{data}
	case data.nums != nil && data.nums.len() == count:
		// a flat list of plain numbers: nest it by slicing its literals
		if flat {
			return name, *data, nil
		}
		return name, nestPacked(data.nums, shape), nil
	default:
		flatVals = leaves(data, nil)
	}
	if count != len(flatVals) {
		return "", value{}, apierr.New(apierr.BadRequest, "input %q: shape %v holds %d elements but data has %d",
			name, shape, count, len(flatVals))
	}
	for _, v := range flatVals {
		if v.k == kArray || v.k == kObject {
			return "", value{}, apierr.New(apierr.BadRequest, "input %q: data elements must be scalars", name)
		}
		if dv.s != "BYTES" && dv.s != "BOOL" && v.k == kString {
			return "", value{}, apierr.New(apierr.BadRequest, "input %q: %s data must be numbers", name, dv.s)
		}
	}
	if flat {
		col := value{k: kArray, arr: make([]value, len(flatVals))}
		for i, v := range flatVals {
			col.arr[i] = *v
		}
		return name, col, nil
	}
	i := 0
	var nest func(dim int) value
	nest = func(dim int) value {
		if dim == len(shape) {
			v := *flatVals[i]
			i++
			return v
		}
		out := value{k: kArray, arr: make([]value, shape[dim])}
		for j := range out.arr {
			out.arr[j] = nest(dim + 1)
		}
		return out
	}
	return name, nest(0), nil
}

type oipOut struct {
	Name     string
	DataType string
	Shape    []int64
	Tensor   *flavors.Tensor
	Column   []any
	// Binary, when non-nil, is the output's binary form: the response
	// lists its binary_data_size instead of data and appends it.
	Binary []byte
}

type oipResponse struct {
	ModelName    string
	ModelVersion string
	ID           string
	Outputs      []oipOut
}

// oipOutputs turns a predictor output into OIP output tensors.
func oipOutputs(out *flavors.Output, md flavors.Metadata) ([]oipOut, error) {
	var outs []oipOut
	add := func(name string, t *flavors.Tensor) {
		outs = append(outs, oipOut{Name: name, DataType: oipType(t.DType), Shape: t.Shape, Tensor: t})
	}
	switch {
	case out.Tensor != nil:
		name := "output-0"
		if len(md.Outputs) == 1 {
			name = md.Outputs[0].Name
		}
		add(name, out.Tensor)
	case out.Tensors != nil:
		order := out.Order
		if len(order) == 0 {
			for k := range out.Tensors {
				order = append(order, k)
			}
		}
		for _, n := range order {
			add(n, out.Tensors[n])
		}
	case out.Frame != nil:
		for c, name := range out.Frame.Columns {
			col := out.Frame.Data[c]
			outs = append(outs, oipOut{Name: name, DataType: columnOIPType(col), Shape: []int64{int64(len(col))}, Column: col})
		}
	case out.JSON != nil:
		outs = append(outs, oipOut{Name: "output-0", DataType: "BYTES", Shape: []int64{1}, Column: []any{string(out.JSON)}})
	}
	return outs, nil
}

func columnOIPType(col []any) string {
	if len(col) == 0 {
		return "BYTES"
	}
	switch col[0].(type) {
	case float64:
		return "FP64"
	case float32:
		return "FP32"
	case int64:
		return "INT64"
	case int32:
		return "INT32"
	case bool:
		return "BOOL"
	}
	return "BYTES"
}

func appendOIPResponse(b []byte, r *oipResponse) []byte {
	b = append(b, `{"model_name": `...)
	b = appendString(b, r.ModelName)
	if r.ModelVersion != "" {
		b = append(b, `, "model_version": `...)
		b = appendString(b, r.ModelVersion)
	}
	b = append(b, `, "id": `...)
	b = appendString(b, r.ID)
	b = append(b, `, "outputs": [`...)
	for i, o := range r.Outputs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, `{"name": `...)
		b = appendString(b, o.Name)
		b = append(b, `, "datatype": `...)
		b = appendString(b, o.DataType)
		b = append(b, `, "shape": [`...)
		for j, d := range o.Shape {
			if j > 0 {
				b = append(b, ", "...)
			}
			b = appendJSON(b, d)
		}
		b = append(b, ']')
		if o.Binary != nil {
			b = append(b, `, "parameters": {"binary_data_size": `...)
			b = strconv.AppendInt(b, int64(len(o.Binary)), 10)
			b = append(b, "}}"...)
			continue
		}
		b = append(b, `, "data": `...)
		if o.Tensor != nil {
			flat := *o.Tensor
			flat.Shape = []int64{int64(numel(o.Tensor.Shape))}
			var err error
			if b, err = appendTensor(b, &flat); err != nil {
				b = append(b, "[]"...)
			}
		} else {
			b = appendJSON(b, o.Column)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// nestSlices nests row-major scalars to shape: the innermost lists are
// slices of vals.
func nestSlices(vals []value, shape []int64) value {
	if len(shape) == 0 {
		return vals[0]
	}
	if len(shape) == 1 {
		return value{k: kArray, arr: vals[:shape[0]:shape[0]]}
	}
	out := value{k: kArray, arr: make([]value, shape[0])}
	if shape[0] == 0 {
		return out
	}
	step := len(vals) / int(shape[0])
	for j := range out.arr {
		out.arr[j] = nestSlices(vals[j*step:(j+1)*step], shape[1:])
	}
	return out
}

// nestPacked nests a packed list of count number literals to shape: the
// innermost lists are slices of it.
func nestPacked(n *packedNums, shape []int64) value {
	switch len(shape) {
	case 0:
		return value{k: kNumber, num: n.at(0)}
	case 1:
		return value{k: kArray, nums: n}
	}
	out := value{k: kArray, arr: make([]value, shape[0])}
	if shape[0] == 0 {
		return out
	}
	step := n.len() / int(shape[0])
	for j := range out.arr {
		out.arr[j] = nestPacked(n.slice(j*step, (j+1)*step), shape[1:])
	}
	return out
}

// shapeCount is the element count of a request shape; false when the
// product of its non-zero dimensions exceeds limit (nesting the data, even
// of an empty tensor, allocates that many values).
func shapeCount(shape []int64, limit int64) (int, bool) {
	n, nz := int64(1), int64(1)
	for _, d := range shape {
		if d == 0 {
			n = 0
			continue
		}
		if d > limit || nz > limit/d {
			return 0, false
		}
		nz *= d
		n *= d
	}
	return int(n), true
}

func itoa(i int) string {
	return string(appendJSON(nil, i))
}
