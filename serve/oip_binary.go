package serve

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/internal/apierr"
)

// The Open Inference Protocol's binary tensor data extension (Triton,
// KServe, tritonclient): the JSON inference header is followed by the raw
// little-endian bytes of the tensors whose parameters carry
// binary_data_size, in JSON order; BYTES elements are each a uint32 length
// then the bytes. Inference-Header-Content-Length gives the JSON's length.

// binaryHeader names the JSON part's length in requests and responses.
const binaryHeader = "Inference-Header-Content-Length"

// binaryExtension is the extension name /v2 lists.
const binaryExtension = "binary_tensor_data"

func oipBadRequest(format string, args ...any) error {
	return apierr.New(apierr.BadRequest, format, args...)
}

// decodeContent undoes a gzip or deflate Content-Encoding, reading at most
// limit bytes of the result (a larger body is too large).
func decodeContent(body []byte, encoding string, limit int64, tooLarge func() error) ([]byte, error) {
	var r io.ReadCloser
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return body, nil
	case "gzip":
		z, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, oipBadRequest("the gzip request body is corrupt: %s", err.Error())
		}
		r = z
	case "deflate":
		// HTTP's deflate is zlib-wrapped (RFC 9110; tritonclient sends
		// zlib.compress); some clients send raw DEFLATE
		z, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			r = flate.NewReader(bytes.NewReader(body))
		} else {
			r = z
		}
	default:
		return nil, oipBadRequest("unsupported Content-Encoding %q (gzip and deflate are)", encoding)
	}
	defer func() { _ = r.Close() }()
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, oipBadRequest("the compressed request body is corrupt: %s", err.Error())
	}
	if int64(len(out)) > limit {
		return nil, tooLarge()
	}
	return out, nil
}

// splitBinary splits an inference request by its
// Inference-Header-Content-Length header value hdr: without it the whole
// body is JSON.
func splitBinary(body []byte, hdr string) (header, bin []byte, err error) {
	if hdr == "" {
		return body, nil, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(hdr), 10, 64)
	switch {
	case err != nil || n < 0:
		return nil, nil, oipBadRequest("%s must be a non-negative integer, got %q", binaryHeader, hdr)
	case n == 0:
		return nil, nil, oipBadRequest("%s: 0 (a raw binary request without a JSON header) is not supported", binaryHeader)
	case n > int64(len(body)):
		return nil, nil, oipBadRequest("%s is %d but the body has only %d bytes", binaryHeader, n, len(body))
	}
	return body[:n], body[n:], nil
}

// binaryReader hands out the binary section tensor by tensor.
type binaryReader struct {
	buf []byte
}

// next returns the next size bytes for the named input.
func (r *binaryReader) next(name string, size int64) ([]byte, error) {
	if r == nil || int64(len(r.buf)) < size {
		have := 0
		if r != nil {
			have = len(r.buf)
		}
		return nil, oipBadRequest("input %q: binary_data_size %d but only %d bytes of binary data are left", name, size, have)
	}
	b := r.buf[:size]
	r.buf = r.buf[size:]
	return b, nil
}

// rest reports unread bytes: each must belong to an input.
func (r *binaryReader) rest() error {
	if r != nil && len(r.buf) > 0 {
		return oipBadRequest("%d bytes of binary data follow the last binary input", len(r.buf))
	}
	return nil
}

// binarySize returns an input's parameters.binary_data_size, or -1.
func binarySize(t *value) (int64, error) {
	p, ok := t.get("parameters")
	if !ok || p.k != kObject {
		return -1, nil
	}
	s, ok := p.get("binary_data_size")
	if !ok {
		return -1, nil
	}
	if s.k != kNumber || !s.isInt() || strings.HasPrefix(s.num, "-") {
		return 0, oipBadRequest("binary_data_size must be a non-negative integer")
	}
	n, err := strconv.ParseInt(s.num, 10, 64)
	if err != nil {
		return 0, oipBadRequest("binary_data_size %s is out of range", s.num)
	}
	return n, nil
}

// oipWidth is the byte width of a fixed-size datatype (0 for BYTES).
func oipWidth(dt string) int {
	switch dt {
	case "BOOL", "UINT8", "INT8":
		return 1
	case "UINT16", "INT16", "FP16":
		return 2
	case "UINT32", "INT32", "FP32":
		return 4
	case "UINT64", "INT64", "FP64":
		return 8
	}
	return 0
}

// decodeBinary turns a tensor's binary bytes into count elements, as the
// values its JSON form would have parsed to.
func decodeBinary(name, dt string, count int, b []byte) ([]value, error) {
	if dt == "BYTES" {
		out := make([]value, 0, min(count, len(b)/4))
		for len(b) > 0 {
			if len(b) < 4 {
				return nil, oipBadRequest("input %q: a BYTES element length needs 4 bytes, %d left", name, len(b))
			}
			n := binary.LittleEndian.Uint32(b)
			b = b[4:]
			if uint64(n) > uint64(len(b)) {
				return nil, oipBadRequest("input %q: a BYTES element of %d bytes but only %d left", name, n, len(b))
			}
			if len(out) == count {
				return nil, oipBadRequest("input %q: binary data holds more than the %d BYTES elements of its shape", name, count)
			}
			out = append(out, value{k: kString, s: string(b[:n])})
			b = b[n:]
		}
		if len(out) != count {
			return nil, oipBadRequest("input %q: binary data holds %d BYTES elements, its shape %d", name, len(out), count)
		}
		return out, nil
	}
	w := oipWidth(dt)
	if w == 0 {
		return nil, oipBadRequest("input %q: unsupported datatype %q", name, dt)
	}
	if int64(len(b)) != int64(count)*int64(w) {
		return nil, oipBadRequest("input %q: binary_data_size %d does not match %d %s elements (%d bytes)",
			name, len(b), count, dt, int64(count)*int64(w))
	}
	out := make([]value, count)
	le := binary.LittleEndian
	for i := range out {
		e := b[i*w : (i+1)*w]
		switch dt {
		case "BOOL":
			if e[0] > 1 {
				return nil, oipBadRequest("input %q: BOOL bytes must be 0 or 1, got %d", name, e[0])
			}
			out[i] = value{k: kBool, b: e[0] == 1}
		case "UINT8":
			out[i] = intValue(uint64(e[0]), false)
		case "UINT16":
			out[i] = intValue(uint64(le.Uint16(e)), false)
		case "UINT32":
			out[i] = intValue(uint64(le.Uint32(e)), false)
		case "UINT64":
			out[i] = intValue(le.Uint64(e), false)
		case "INT8":
			out[i] = intValue(uint64(int64(int8(e[0]))), true)
		case "INT16":
			out[i] = intValue(uint64(int64(int16(le.Uint16(e)))), true)
		case "INT32":
			out[i] = intValue(uint64(int64(int32(le.Uint32(e)))), true)
		case "INT64":
			out[i] = intValue(le.Uint64(e), true)
		case "FP16":
			out[i] = floatValue(float64(halfToFloat(le.Uint16(e))), 32)
		case "FP32":
			out[i] = floatValue(float64(math.Float32frombits(le.Uint32(e))), 32)
		case "FP64":
			out[i] = floatValue(math.Float64frombits(le.Uint64(e)), 64)
		}
	}
	return out, nil
}

// decodePacked renders a numeric tensor's binary elements (size already
// checked by decodeBinary's rules: count × width bytes) as one packed list
// of number literals, the form the JSON parser gives large numeric arrays;
// ok is false for BOOL, BYTES and floats that are not finite (packed
// literals are plain numbers), which decodeBinary handles.
func decodePacked(dt string, count int, b []byte) (*packedNums, bool) {
	w := oipWidth(dt)
	if w == 0 || dt == "BOOL" || len(b) != count*w {
		return nil, false
	}
	buf := make([]byte, 0, count*(w+3))
	off := make([]uint32, 0, 2*count)
	le := binary.LittleEndian
	for i := range count {
		e := b[i*w : (i+1)*w]
		start := len(buf)
		switch dt {
		case "UINT8":
			buf = strconv.AppendUint(buf, uint64(e[0]), 10)
		case "UINT16":
			buf = strconv.AppendUint(buf, uint64(le.Uint16(e)), 10)
		case "UINT32":
			buf = strconv.AppendUint(buf, uint64(le.Uint32(e)), 10)
		case "UINT64":
			buf = strconv.AppendUint(buf, le.Uint64(e), 10)
		case "INT8":
			buf = strconv.AppendInt(buf, int64(int8(e[0])), 10)
		case "INT16":
			buf = strconv.AppendInt(buf, int64(int16(le.Uint16(e))), 10)
		case "INT32":
			buf = strconv.AppendInt(buf, int64(int32(le.Uint32(e))), 10)
		case "INT64":
			buf = strconv.AppendInt(buf, int64(le.Uint64(e)), 10)
		default:
			var f float64
			bits := 32
			switch dt {
			case "FP16":
				f = float64(halfToFloat(le.Uint16(e)))
			case "FP32":
				f = float64(math.Float32frombits(le.Uint32(e)))
			default:
				f, bits = math.Float64frombits(le.Uint64(e)), 64
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, false
			}
			buf = strconv.AppendFloat(buf, f, 'g', -1, bits)
			if bytes.IndexByte(buf[start:], '.') < 0 && bytes.IndexByte(buf[start:], 'e') < 0 {
				buf = append(buf, '.', '0')
			}
		}
		if len(buf) > math.MaxUint32 {
			return nil, false
		}
		off = append(off, uint32(start), uint32(len(buf)))
	}
	return &packedNums{src: string(buf), off: off}, true
}

func intValue(x uint64, signed bool) value {
	if signed {
		return value{k: kNumber, num: strconv.FormatInt(int64(x), 10)}
	}
	return value{k: kNumber, num: strconv.FormatUint(x, 10)}
}

// floatValue renders f as the literal a JSON client would send for it
// (always with a fraction or exponent, so that it stays a float).
func floatValue(f float64, bits int) value {
	switch {
	case math.IsNaN(f):
		return value{k: kNumber, num: "NaN"}
	case math.IsInf(f, 1):
		return value{k: kNumber, num: "Infinity"}
	case math.IsInf(f, -1):
		return value{k: kNumber, num: "-Infinity"}
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'g', -1, bits)
	if bytes.IndexByte(b, '.') < 0 && bytes.IndexByte(b, 'e') < 0 {
		b = append(b, '.', '0')
	}
	return value{k: kNumber, num: string(b)}
}

// halfToFloat converts IEEE 754 binary16 bits to a float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// floatToHalf converts f to IEEE 754 binary16 bits, rounding to nearest
// even; out-of-range values become infinities.
func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	frac := b & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if frac != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // subnormal or zero
		if e < -10 {
			return sign
		}
		m := frac | 0x800000
		shift := uint32(14 - e)
		half := m >> shift
		rem := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | frac>>13
	rem := frac & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, up to infinity: still right
	}
	return sign | uint16(half)
}

// errNotBinary is returned for output data that has no binary form.
var errNotBinary = errors.New("output element has no binary form")

// encodeBinary appends o's elements (flat, row-major) in binary form.
func encodeBinary(b []byte, o *oipOut) ([]byte, error) {
	le := binary.LittleEndian
	if o.Tensor != nil {
		switch d := o.Tensor.Data.(type) {
		case []bool:
			for _, x := range d {
				if x {
					b = append(b, 1)
				} else {
					b = append(b, 0)
				}
			}
		case []uint8:
			b = append(b, d...)
		case []int8:
			for _, x := range d {
				b = append(b, byte(x))
			}
		case []uint16:
			for _, x := range d {
				b = le.AppendUint16(b, x)
			}
		case []int16:
			for _, x := range d {
				b = le.AppendUint16(b, uint16(x))
			}
		case []uint32:
			for _, x := range d {
				b = le.AppendUint32(b, x)
			}
		case []int32:
			for _, x := range d {
				b = le.AppendUint32(b, uint32(x))
			}
		case []uint64:
			for _, x := range d {
				b = le.AppendUint64(b, x)
			}
		case []int64:
			for _, x := range d {
				b = le.AppendUint64(b, uint64(x))
			}
		case []float32:
			if o.Tensor.DType == flavors.Float16 {
				for _, x := range d {
					b = le.AppendUint16(b, floatToHalf(x))
				}
			} else {
				for _, x := range d {
					b = le.AppendUint32(b, math.Float32bits(x))
				}
			}
		case []float64:
			for _, x := range d {
				b = le.AppendUint64(b, math.Float64bits(x))
			}
		case []string:
			for _, x := range d {
				b = appendBytesElem(b, []byte(x))
			}
		case []any:
			return encodeColumn(b, "BYTES", d)
		default:
			return nil, errNotBinary
		}
		return b, nil
	}
	return encodeColumn(b, o.DataType, o.Column)
}

func appendBytesElem(b, x []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(x)))
	return append(b, x...)
}

// encodeColumn encodes a data frame column (or an object tensor) with the
// datatype columnOIPType chose for it.
func encodeColumn(b []byte, dt string, col []any) ([]byte, error) {
	le := binary.LittleEndian
	for _, v := range col {
		switch dt {
		case "FP64", "FP32":
			f, ok := asFloat(v)
			if !ok {
				return nil, errNotBinary
			}
			if dt == "FP32" {
				b = le.AppendUint32(b, math.Float32bits(float32(f)))
			} else {
				b = le.AppendUint64(b, math.Float64bits(f))
			}
		case "INT64", "INT32":
			var n int64
			switch x := v.(type) {
			case int64:
				n = x
			case int32:
				n = int64(x)
			default:
				return nil, errNotBinary
			}
			if dt == "INT32" {
				b = le.AppendUint32(b, uint32(n))
			} else {
				b = le.AppendUint64(b, uint64(n))
			}
		case "BOOL":
			x, ok := v.(bool)
			if !ok {
				return nil, errNotBinary
			}
			if x {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		default: // BYTES: strings and bytes as they are, anything else as its JSON
			switch x := v.(type) {
			case string:
				b = appendBytesElem(b, []byte(x))
			case []byte:
				b = appendBytesElem(b, x)
			default:
				b = appendBytesElem(b, appendJSON(nil, v))
			}
		}
	}
	return b, nil
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case nil:
		return math.NaN(), true
	}
	return 0, false
}

// binaryWanted resolves which outputs are returned in binary form: an
// output's own parameters.binary_data, else the request's
// parameters.binary_data_output (default false).
func binaryWanted(root *value, want *value, name string) bool {
	def := false
	if p, ok := root.get("parameters"); ok && p.k == kObject {
		if v, ok := p.get("binary_data_output"); ok && v.k == kBool {
			def = v.b
		}
	}
	if want == nil {
		return def
	}
	for i := range want.arr {
		o := &want.arr[i]
		if n, ok := o.get("name"); !ok || n.k != kString || n.s != name {
			continue
		}
		if p, ok := o.get("parameters"); ok && p.k == kObject {
			if v, ok := p.get("binary_data"); ok && v.k == kBool {
				return v.b
			}
		}
	}
	return def
}
