package pyfunc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// The batch frame ('B') carries data frames that mlgate has already parsed
// and cast per the model's signature, column-major, so that the worker
// builds the pandas DataFrame directly (one numpy array per column, the
// dtypes MLflow's own parsing gives) instead of parsing an /invocations
// body. It carries one input or several merged ones (a dynamic batch):
//
//	{"columns": [...], "types": [...], "data": [[column 0], [column 1], ...],
//	 "rows": [rows of input 0, rows of input 1, ...], "params": {...}}
//
// The worker answers 'M': for each input, in order, a sub-frame (4-byte
// big-endian length, type byte 'O' or 'E', body), exactly what a 'P' frame
// for that input alone would have been answered with.

// fastTypes are the column types the batch frame carries, with the Go type
// each cell must have after the server's cast.
var fastTypes = map[string]func(any) bool{
	"double":  func(v any) bool { _, ok := v.(float64); return ok },
	"float":   func(v any) bool { _, ok := v.(float32); return ok },
	"long":    func(v any) bool { _, ok := v.(int64); return ok },
	"integer": func(v any) bool { _, ok := v.(int32); return ok },
	"boolean": func(v any) bool { _, ok := v.(bool); return ok },
	"string":  func(v any) bool { _, ok := v.(string); return ok },
}

// fastSchema is a named column signature that the batch frame can carry:
// every column of a scalar type above. nil when the model does not fit.
type fastSchema struct {
	columns []string
	types   []string
}

// newFastSchema returns the fast schema of m, or nil: the batch frame is
// only used for named column signatures of scalar types, and not for
// models whose signature comes from type hints.
func newFastSchema(m *pkgformat.Model, hinted bool) *fastSchema {
	if hinted || m.Signature == nil || m.Signature.Inputs == nil {
		return nil
	}
	in := m.Signature.Inputs
	if in.IsTensor() || !in.HasNames() || len(in.Columns) == 0 {
		return nil
	}
	fs := &fastSchema{}
	for _, c := range in.Columns {
		if _, ok := fastTypes[c.Type.Type]; !ok || c.Name == "" {
			return nil
		}
		fs.columns = append(fs.columns, c.Name)
		fs.types = append(fs.types, c.Type.Type)
	}
	return fs
}

// fits says whether in can travel in a batch frame: a non-empty frame
// with exactly the schema's columns, in order, every cell of the Go type
// of its column (no missing values except NaN in float columns).
func (fs *fastSchema) fits(in *flavors.Input) bool {
	if fs == nil || in == nil || in.Frame == nil || in.Raw != nil {
		return false
	}
	f := in.Frame
	if len(f.Columns) != len(fs.columns) || len(f.Data) != len(fs.columns) || f.Rows() == 0 {
		return false
	}
	rows := f.Rows()
	for c, name := range fs.columns {
		if f.Columns[c] != name || len(f.Data[c]) != rows {
			return false
		}
		if c < len(f.Types) && f.Types[c] != fs.types[c] {
			return false
		}
		ok := fastTypes[fs.types[c]]
		for _, v := range f.Data[c] {
			if !ok(v) {
				return false
			}
		}
	}
	return true
}

// encodeBatch renders inputs (all fitting fs) as one batch frame body.
func (fs *fastSchema) encodeBatch(ins []*flavors.Input, params map[string]any) ([]byte, error) {
	total := 0
	for _, in := range ins {
		total += in.Frame.Rows()
	}
	e := &encoder{buf: make([]byte, 0, 64+total*len(fs.columns)*12)}
	e.buf = append(e.buf, `{"columns":[`...)
	for i, c := range fs.columns {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(c)
	}
	e.buf = append(e.buf, `],"types":[`...)
	for i, t := range fs.types {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(t)
	}
	e.buf = append(e.buf, `],"data":[`...)
	for c := range fs.columns {
		if c > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '[')
		first := true
		for _, in := range ins {
			for _, v := range in.Frame.Data[c] {
				if !first {
					e.buf = append(e.buf, ',')
				}
				first = false
				e.value(v)
			}
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, `],"rows":[`...)
	for i, in := range ins {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = strconv.AppendInt(e.buf, int64(in.Frame.Rows()), 10)
	}
	e.buf = append(e.buf, ']')
	if len(params) > 0 {
		e.buf = append(e.buf, `,"params":`...)
		e.value(params)
	}
	e.buf = append(e.buf, '}')
	return e.buf, e.err
}

// decodeMany splits an 'M' body into n answers: an output or an error per
// input.
func decodeMany(body []byte, n int) ([]*flavors.Output, []error, error) {
	outs := make([]*flavors.Output, 0, n)
	errs := make([]error, 0, n)
	for len(body) > 0 {
		if len(body) < 5 {
			return nil, nil, fmt.Errorf("%w: truncated sub-frame in a batch answer", ErrProtocol)
		}
		size := binary.BigEndian.Uint32(body[:4])
		if size == 0 || uint64(size) > uint64(len(body)-4) {
			return nil, nil, fmt.Errorf("%w: sub-frame length %d in a batch answer of %d bytes", ErrProtocol, size, len(body))
		}
		f := frame{kind: body[4], body: body[5 : 4+size]}
		body = body[4+size:]
		if f.kind != frameOK && f.kind != frameError {
			return nil, nil, fmt.Errorf("%w: sub-frame type %q in a batch answer", ErrProtocol, f.kind)
		}
		out, err := decodeAnswer(f)
		outs = append(outs, out)
		errs = append(errs, err)
	}
	if len(outs) != n {
		return nil, nil, fmt.Errorf("%w: the worker answered %d inputs of %d", ErrProtocol, len(outs), n)
	}
	return outs, errs, nil
}

// callBatch sends ins as one batch frame and returns one answer per input.
func (p *predictor) callBatch(ctx context.Context, ins []*flavors.Input, params map[string]any) ([]*flavors.Output, []error, error) {
	body, err := p.fast.encodeBatch(ins, params)
	if err != nil {
		return nil, nil, err
	}
	f, err := p.pool.predict(ctx, frameBatch, body)
	if err != nil {
		return nil, nil, err
	}
	switch f.kind {
	case frameMany:
		return decodeMany(f.body, len(ins))
	case frameError:
		_, err := decodeAnswer(f)
		return nil, nil, err
	}
	return nil, nil, fmt.Errorf("%w: answer frame type %q to a batch frame", ErrProtocol, f.kind)
}

// errNoBatch means PredictMany got inputs that cannot travel together; the
// server then predicts them one by one.
var errNoBatch = errors.New("pyfunc: these inputs cannot be predicted as one batch")

// maxBatchRows bounds the rows of one batch frame.
const maxBatchRows = math.MaxInt32

// PredictMany implements flavors.ManyPredictor: the inputs travel in one
// batch frame, the worker predicts them at once and splits the
// predictions per input (or predicts each input alone when the model's
// output cannot be split, or when the merged prediction fails, so that a
// bad input fails only itself).
func (p *predictor) PredictMany(ctx context.Context, ins []*flavors.Input) ([]*flavors.Output, []error, error) {
	if !p.batch || p.fast == nil || len(ins) == 0 {
		return nil, nil, errNoBatch
	}
	total := 0
	for _, in := range ins {
		if !p.fast.fits(in) || len(in.Params) > 0 {
			return nil, nil, errNoBatch
		}
		total += in.Frame.Rows()
	}
	if total > maxBatchRows {
		return nil, nil, errNoBatch
	}
	if err := p.enter(); err != nil {
		return nil, nil, err
	}
	defer p.inflight.Done()
	return p.callBatch(ctx, ins, nil)
}
