package serve

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/pkgformat"
)

// binTensor is one tensor of a binary request: its OIP datatype, the
// numpy dtype of its signature and its little-endian bytes.
type binTensor struct {
	name, datatype, dtype string
	shape                 []int64
	raw                   []byte
}

func le16(xs ...uint16) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func le32(xs ...uint32) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func le64(xs ...uint64) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

func f32(xs ...float32) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func f64(xs ...float64) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func byteElems(xs ...string) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(x)))
		b = append(b, x...)
	}
	return b
}

// allTypes holds a [2, 2] tensor of every OIP datatype, named so that the
// echo predictor's sorted output order is this order.
var allTypes = []binTensor{
	{"a_bool", "BOOL", "bool", []int64{2, 2}, []byte{1, 0, 0, 1}},
	{"b_u8", "UINT8", "uint8", []int64{2, 2}, []byte{0, 1, 200, 255}},
	{"c_u16", "UINT16", "uint16", []int64{2, 2}, le16(0, 1, 40000, 65535)},
	{"d_u32", "UINT32", "uint32", []int64{2, 2}, le32(0, 7, 3000000000, math.MaxUint32)},
	{"e_u64", "UINT64", "uint64", []int64{2, 2}, le64(0, 9, 1<<53+1, math.MaxUint64)},
	{"f_i8", "INT8", "int8", []int64{2, 2}, []byte{0, 1, 0x80, 0xff}},
	{"g_i16", "INT16", "int16", []int64{2, 2}, le16(0, 1, 0x8000, 0xffff)},
	{"h_i32", "INT32", "int32", []int64{2, 2}, le32(0, 1, 0x80000000, 0xffffffff)},
	{"i_i64", "INT64", "int64", []int64{2, 2}, le64(0, 1<<53+1, 1<<63, math.MaxUint64)},
	// 1.0, -2.0, 0.5, the smallest subnormal: all exact in binary16
	{"j_f16", "FP16", "float16", []int64{2, 2}, le16(0x3c00, 0xc000, 0x3800, 0x0001)},
	{"k_f32", "FP32", "float32", []int64{2, 2}, f32(1.5, -0.1, 3.4e38, 1e-45)},
	{"l_f64", "FP64", "float64", []int64{2, 2}, f64(1.5, -0.1, math.MaxFloat64, 5e-324)},
	{"m_bytes", "BYTES", "str", []int64{2, 2}, byteElems("", "a", "héllo", strings.Repeat("z", 300))},
}

// binaryRequest builds a request body and its header length.
func binaryRequest(t *testing.T, ts []binTensor, extra map[string]any) ([]byte, int) {
	t.Helper()
	var inputs []map[string]any
	var tail []byte
	for _, x := range ts {
		inputs = append(inputs, map[string]any{"name": x.name, "datatype": x.datatype, "shape": x.shape,
			"parameters": map[string]any{"binary_data_size": len(x.raw)}})
		tail = append(tail, x.raw...)
	}
	req := map[string]any{"inputs": inputs}
	for k, v := range extra {
		req[k] = v
	}
	head, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return append(head, tail...), len(head)
}

func sigOf(ts []binTensor) *pkgformat.Signature {
	var specs []pkgformat.TensorSpec
	for _, x := range ts {
		shape := append([]int64{-1}, x.shape[1:]...)
		specs = append(specs, tensor(x.name, x.dtype, shape...))
	}
	return &pkgformat.Signature{Inputs: &pkgformat.Schema{Tensors: specs}}
}

type binResponse struct {
	status int
	ctype  string
	header map[string]any
	bin    []byte
	raw    string
}

func postBinary(t *testing.T, url string, body []byte, headerLen int, hdr map[string]string) binResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if headerLen >= 0 {
		req.Header.Set(binaryHeader, strconv.Itoa(headerLen))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := binResponse{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), raw: string(b)}
	n := len(b)
	if h := resp.Header.Get(binaryHeader); h != "" {
		if n, err = strconv.Atoi(h); err != nil || n > len(b) {
			t.Fatalf("bad %s %q for %d bytes", binaryHeader, h, len(b))
		}
	}
	if err := json.Unmarshal(b[:n], &r.header); err != nil {
		t.Fatalf("response JSON %q: %v", b[:n], err)
	}
	r.bin = b[n:]
	return r
}

// outputsOf returns the response outputs by name.
func outputsOf(t *testing.T, r binResponse) map[string]map[string]any {
	t.Helper()
	outs := map[string]map[string]any{}
	list, _ := r.header["outputs"].([]any)
	for _, o := range list {
		m := o.(map[string]any)
		outs[m["name"].(string)] = m
	}
	return outs
}

func TestOIPBinaryRoundTripsEveryDatatype(t *testing.T) {
	_, ts := newTestServer(t, &echo{}, sigOf(allTypes), nil)
	body, n := binaryRequest(t, allTypes, map[string]any{"id": "b1", "parameters": map[string]any{"binary_data_output": true}})
	r := postBinary(t, ts.URL+"/v2/models/m/infer", body, n, nil)
	if r.status != 200 {
		t.Fatalf("binary infer: %d %s", r.status, r.raw)
	}
	if r.ctype != "application/octet-stream" {
		t.Fatalf("content type %q, want application/octet-stream", r.ctype)
	}
	list, _ := r.header["outputs"].([]any)
	if len(list) != len(allTypes) || r.header["id"] != "b1" {
		t.Fatalf("outputs %v", r.header)
	}
	off := 0
	for i, x := range allTypes {
		o := list[i].(map[string]any)
		if o["name"] != x.name || o["datatype"] != x.datatype || fmt.Sprint(o["shape"]) != "[2 2]" {
			t.Errorf("output %d: %v, want %s %s", i, o, x.name, x.datatype)
			continue
		}
		if _, has := o["data"]; has {
			t.Errorf("%s: binary output also has data", x.name)
		}
		size := int(o["parameters"].(map[string]any)["binary_data_size"].(float64))
		if off+size > len(r.bin) {
			t.Fatalf("%s: binary_data_size %d past the end (%d bytes)", x.name, size, len(r.bin))
		}
		if got := r.bin[off : off+size]; !bytes.Equal(got, x.raw) {
			t.Errorf("%s: round trip\n got % x\nwant % x", x.name, got, x.raw)
		}
		off += size
	}
	if off != len(r.bin) {
		t.Errorf("%d binary bytes, outputs account for %d", len(r.bin), off)
	}
}

func TestOIPBinaryInputJSONOutput(t *testing.T) {
	ts3 := []binTensor{
		{"p", "FP32", "float32", []int64{1, 3}, f32(1, 2.5, -3)},
		{"q", "INT32", "int32", []int64{3}, le32(1, 2, 0xfffffffd)},
		{"s", "BYTES", "str", []int64{2}, byteElems("ab", "")},
	}
	_, ts := newTestServer(t, &echo{}, sigOf(ts3), nil)
	body, n := binaryRequest(t, ts3, nil)
	r := postBinary(t, ts.URL+"/v2/models/m/infer", body, n, nil)
	if r.status != 200 || !strings.HasPrefix(r.ctype, "application/json") || len(r.bin) != 0 {
		t.Fatalf("binary in, JSON out: %d %q %s", r.status, r.ctype, r.raw)
	}
	outs := outputsOf(t, r)
	if got := fmt.Sprint(outs["p"]["data"]); got != "[1 2.5 -3]" {
		t.Errorf("p: %s", got)
	}
	if got := fmt.Sprint(outs["q"]["data"]); got != "[1 2 -3]" {
		t.Errorf("q: %s", got)
	}
	if got := fmt.Sprintf("%q", outs["s"]["data"]); got != `["ab" ""]` {
		t.Errorf("s: %s", got)
	}
}

func TestOIPJSONInputSelectedBinaryOutput(t *testing.T) {
	_, ts := newTestServer(t, &echo{}, namedTensorSig, nil)
	req := `{"inputs": [
		{"name": "p", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]},
		{"name": "q", "shape": [1], "datatype": "INT64", "data": [7]}],
		"parameters": {"binary_data_output": true},
		"outputs": [{"name": "q", "parameters": {"binary_data": false}}, {"name": "p"}]}`
	r := postBinary(t, ts.URL+"/v2/models/m/infer", []byte(req), -1, nil)
	if r.status != 200 || r.ctype != "application/octet-stream" {
		t.Fatalf("%d %q %s", r.status, r.ctype, r.raw)
	}
	outs := outputsOf(t, r)
	if fmt.Sprint(outs["q"]["data"]) != "[7]" {
		t.Errorf("q (binary_data false) should be JSON: %v", outs["q"])
	}
	if _, has := outs["p"]["data"]; has || !bytes.Equal(r.bin, f64(1, 2)) {
		t.Errorf("p (binary_data_output default) should be binary: %v % x", outs["p"], r.bin)
	}

	// without any binary output the answer is plain JSON with no length header
	plain := `{"inputs": [{"name": "p", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]},
		{"name": "q", "shape": [1], "datatype": "INT64", "data": [7]}]}`
	status, body, hdr := post(t, ts.URL+"/v2/models/m/infer", "application/json", plain)
	if status != 200 || hdr.Get(binaryHeader) != "" || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("JSON request: %d %v %s", status, hdr, body)
	}

	// an integer literal beyond float64 is refused as /invocations refuses it
	huge := `{"inputs": [{"name": "p", "shape": [1, 2], "datatype": "FP64", "data": [1, ` + big400 + `]}]}`
	status, body, _ = post(t, ts.URL+"/v2/models/m/infer", "application/json", huge)
	if status != 400 || !strings.Contains(body, `"error_code":"BAD_REQUEST"`) || !strings.Contains(body, "int too large to convert to float") {
		t.Fatalf("10^400: %d %s", status, body)
	}
}

func TestOIPBinaryCompressedRequests(t *testing.T) {
	ts1 := []binTensor{{"p", "FP32", "float32", []int64{1, 2}, f32(4, 5)}}
	_, ts := newTestServer(t, &echo{}, sigOf(ts1), func(o *Options) { o.MaxBodyBytes = 1 << 10 })
	body, n := binaryRequest(t, ts1, map[string]any{"parameters": map[string]any{"binary_data_output": true}})
	compress := map[string]func(io.Writer) io.WriteCloser{
		"gzip":    func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"deflate": func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }, // what tritonclient sends
		"Deflate": func(w io.Writer) io.WriteCloser { z, _ := flate.NewWriter(w, 5); return z },
	}
	for enc, mk := range compress {
		var z bytes.Buffer
		w := mk(&z)
		_, _ = w.Write(body)
		_ = w.Close()
		r := postBinary(t, ts.URL+"/v2/models/m/infer", z.Bytes(), n, map[string]string{"Content-Encoding": enc})
		if r.status != 200 || !bytes.Equal(r.bin, f32(4, 5)) {
			t.Errorf("%s request: %d %s", enc, r.status, r.raw)
		}
	}
	// a bomb: small compressed, over the body limit once inflated
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write(bytes.Repeat([]byte(" "), 1<<20))
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v2/models/m/infer", &z)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb: %d, want 413", resp.StatusCode)
	}
	for enc, data := range map[string]string{"gzip": "not gzip", "br": "x"} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v2/models/m/infer", strings.NewReader(data))
		req.Header.Set("Content-Encoding", enc)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Content-Encoding %s with a bad body: %d, want 400", enc, resp.StatusCode)
		}
	}
}

func TestOIPBinaryBadRequestsAnswer400(t *testing.T) {
	_, ts := newTestServer(t, &echo{}, sigOf(allTypes), nil)
	one := func(name, dt string, shape string, size int) string {
		return fmt.Sprintf(`{"inputs": [{"name": %q, "datatype": %q, "shape": %s, "parameters": {"binary_data_size": %d}}]}`,
			name, dt, shape, size)
	}
	cases := []struct {
		name   string
		header string
		tail   []byte
		hdrLen string // "" = len(header); "-" = no header
		want   string
	}{
		{"size too small for the shape", one("b_u8", "UINT8", "[2, 2]", 3), []byte{1, 2, 3}, "", "does not match 4 UINT8 elements"},
		{"size past the end", one("d_u32", "UINT32", "[1, 2]", 8), le32(1), "", "only 4 bytes of binary data are left"},
		{"leftover bytes", one("b_u8", "UINT8", "[1, 2]", 2), []byte{1, 2, 3}, "", "1 bytes of binary data follow"},
		{"odd width", one("c_u16", "UINT16", "[1, 2]", 3), []byte{1, 2, 3}, "", "does not match"},
		{"negative size", one("b_u8", "UINT8", "[1, 2]", -2), nil, "", "non-negative integer"},
		{"bytes count short", one("m_bytes", "BYTES", "[1, 2]", 5), byteElems("a"), "", "holds 1 BYTES elements, its shape 2"},
		{"bytes count long", one("m_bytes", "BYTES", "[1, 1]", 10), byteElems("a", "b"), "", "more than the 1 BYTES elements"},
		{"bytes length past the end", one("m_bytes", "BYTES", "[1, 1]", 6), append(le32(100), 'a', 'b'), "", "a BYTES element of 100 bytes"},
		{"bytes truncated prefix", one("m_bytes", "BYTES", "[1, 1]", 2), []byte{1, 0}, "", "needs 4 bytes"},
		{"bool not 0 or 1", one("a_bool", "BOOL", "[1, 2]", 2), []byte{1, 2}, "", "BOOL bytes must be 0 or 1"},
		{"both data and size", `{"inputs": [{"name": "b_u8", "datatype": "UINT8", "shape": [1], "data": [1], "parameters": {"binary_data_size": 1}}]}`,
			[]byte{1}, "", "both"},
		{"neither data nor size", `{"inputs": [{"name": "b_u8", "datatype": "UINT8", "shape": [1]}]}`, nil, "", "neither"},
		{"size without header", one("b_u8", "UINT8", "[1, 1]", 1), nil, "-", "no Inference-Header-Content-Length"},
		{"header past the body", one("b_u8", "UINT8", "[1, 1]", 1), []byte{1}, "100000", "but the body has only"},
		{"header not a number", one("b_u8", "UINT8", "[1, 1]", 1), []byte{1}, "ten", "must be a non-negative integer"},
		{"raw binary request", "", []byte{1, 2, 3}, "0", "is not supported"},
		{"huge shape", one("b_u8", "UINT8", "[4294967296, 4294967296]", 1), []byte{1}, "", "too large"},
		{"huge empty shape", one("b_u8", "UINT8", "[4294967296, 0]", 0), nil, "", "too large"},
	}
	for _, c := range cases {
		body := append([]byte(c.header), c.tail...)
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v2/models/m/infer", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		switch c.hdrLen {
		case "":
			req.Header.Set(binaryHeader, strconv.Itoa(len(c.header)))
		case "-":
		default:
			req.Header.Set(binaryHeader, c.hdrLen)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e map[string]any
		_ = json.Unmarshal(b, &e)
		msg, _ := e["error"].(string)
		if resp.StatusCode != 400 || e["error_code"] != "BAD_REQUEST" || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %s, want 400 mentioning %q", c.name, resp.StatusCode, b, c.want)
		}
	}
}

func TestOIPServerMetadataListsBinaryExtension(t *testing.T) {
	_, ts := newTestServer(t, &echo{}, nil, nil)
	status, body := get(t, ts.URL+"/v2")
	if status != 200 || !strings.Contains(body, `"extensions":["binary_tensor_data"]`) {
		t.Fatalf("/v2: %d %s", status, body)
	}
}

func TestHalfConversions(t *testing.T) {
	for h := range 1 << 16 {
		f := halfToFloat(uint16(h))
		back := floatToHalf(f)
		if math.IsNaN(float64(f)) {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
			continue
		}
		if back != uint16(h) {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f, back)
		}
	}
	cases := map[float32]uint16{1: 0x3c00, 65504: 0x7bff, 65520: 0x7c00, 1e6: 0x7c00, -2: 0xc000,
		1.0 + 1.0/2048: 0x3c00 /* tie to even */, 1.0 + 3.0/2048: 0x3c02, 2.9802322e-08: 0x0000, 2.9802326e-08: 0x0001}
	for f, want := range cases {
		if got := floatToHalf(f); got != want {
			t.Errorf("floatToHalf(%g) = %#04x, want %#04x", f, got, want)
		}
	}
}

func TestShapeCount(t *testing.T) {
	cases := []struct {
		shape []int64
		n     int
		ok    bool
	}{
		{nil, 1, true}, {[]int64{2, 3}, 6, true}, {[]int64{5, 0}, 0, true}, {[]int64{0, 5}, 0, true},
		{[]int64{11}, 0, false}, {[]int64{4, 0, 4}, 0, false}, {[]int64{1 << 62, 1 << 62}, 0, false},
	}
	for _, c := range cases {
		n, ok := shapeCount(c.shape, 10)
		if n != c.n || ok != c.ok {
			t.Errorf("shapeCount(%v, 10) = %d %v, want %d %v", c.shape, n, ok, c.n, c.ok)
		}
	}
}

// parseBinaryRequest runs an inference request body through the binary
// extension's parsing as oipInfer does, up to the tensors.
func parseBinaryRequest(body []byte, hdr string, flat bool) ([]value, error) {
	head, binData, err := splitBinary(body, hdr)
	if err != nil {
		return nil, err
	}
	var bin *binaryReader
	if binData != nil {
		bin = &binaryReader{buf: binData}
	}
	root, err := parseJSONPacked(head)
	if err != nil || root.k != kObject {
		return nil, oipBadRequest("not an object")
	}
	inputs, ok := root.get("inputs")
	if !ok || inputs.k != kArray {
		return nil, oipBadRequest("no inputs")
	}
	var out []value
	items := inputs.items()
	for i := range items {
		_, v, err := oipTensorFrom(&items[i], flat, bin, int64(len(body))+1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, bin.rest()
}

func FuzzOIPBinary(f *testing.F) {
	head := `{"inputs": [{"name": "a", "datatype": "UINT32", "shape": [2], "parameters": {"binary_data_size": 8}},` +
		`{"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}}]}`
	f.Add([]byte(head+"\x01\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00hi"), int64(len(head)))
	f.Add([]byte(`{"inputs": [{"name": "h", "datatype": "FP16", "shape": [1], "parameters": {"binary_data_size": 2}}]}`+"\x00\x3c"), int64(-1))
	f.Add([]byte(`{"inputs": [{"name": "b", "datatype": "BOOL", "shape": [3, 0], "parameters": {"binary_data_size": 0}}]}`), int64(0))
	f.Add([]byte(`{"inputs": [{"name": "p", "datatype": "FP32", "shape": [2, 1, 2], "data": [1, 2.5, -3, 4e2]}]}`), int64(-2))
	f.Fuzz(func(t *testing.T, body []byte, hdrLen int64) {
		hdr := ""
		switch {
		case hdrLen == -1:
			// find the JSON's end: the seed corpus's bodies are JSON then bytes
			if i := bytes.LastIndexByte(body, '}'); i >= 0 {
				hdr = strconv.Itoa(i + 1)
			}
		case hdrLen >= 0:
			hdr = strconv.FormatInt(hdrLen, 10)
		}
		for _, flat := range []bool{true, false} {
			vals, err := parseBinaryRequest(body, hdr, flat)
			if err != nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.HTTPStatus() != http.StatusBadRequest {
					t.Fatalf("error %v is not a 400 API error", err)
				}
				return
			}
			for _, v := range vals {
				if n := len(leaves(&v, nil)); n > len(body) || (flat && v.k != kArray) {
					t.Fatalf("a tensor of %d elements (flat %v) from a %d-byte body", n, flat, len(body))
				}
				if !flat && v.k == kArray {
					if _, err := shapeOf(&v); err != nil {
						t.Fatalf("nested data is not rectangular: %v", err)
					}
				}
			}
		}
	})
}

func FuzzDecodeBinary(f *testing.F) {
	f.Add("UINT16", 2, []byte{1, 0, 2, 0})
	f.Add("BYTES", 2, byteElems("a", "bc"))
	f.Add("FP16", 1, []byte{0x00, 0x7e})
	f.Add("BOOL", 1, []byte{2})
	f.Fuzz(func(t *testing.T, dt string, count int, raw []byte) {
		if count < 0 || count > 1<<16 {
			return
		}
		vals, err := decodeBinary("x", dt, count, raw)
		if err != nil {
			return
		}
		if len(vals) != count {
			t.Fatalf("%s: %d elements decoded, %d asked", dt, len(vals), count)
		}
		if w := oipWidth(dt); w > 0 && len(raw) != w*count {
			t.Fatalf("%s: %d bytes accepted for %d elements", dt, len(raw), count)
		}
		if dt == "BYTES" {
			// re-encoding the elements gives the bytes back
			var b []byte
			for _, v := range vals {
				b = appendBytesElem(b, []byte(v.s))
			}
			if !bytes.Equal(b, raw) {
				t.Fatalf("BYTES re-encoded % x, sent % x", b, raw)
			}
		}
	})
}

// benchInfer posts body to a server echoing a [1, n] float32 tensor.
func benchInfer(b *testing.B, binaryIn bool, n int) {
	sig := &pkgformat.Signature{Inputs: &pkgformat.Schema{Tensors: []pkgformat.TensorSpec{tensor("x", "float32", -1, int64(n))}}}
	reg := newBenchServer(b, sig)
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i)/7 + 0.01 // never the echo predictor's forbidden 666
	}
	var body []byte
	hdr := -1
	if binaryIn {
		head := fmt.Sprintf(`{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, %d], "parameters": {"binary_data_size": %d}}], "parameters": {"binary_data_output": true}}`, n, 4*n)
		body, hdr = append([]byte(head), f32(vals...)...), len(head)
	} else {
		data, _ := json.Marshal(vals)
		body = []byte(fmt.Sprintf(`{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, %d], "data": %s}]}`, n, data))
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest(http.MethodPost, reg+"/v2/models/m/infer", bytes.NewReader(body))
		if hdr >= 0 {
			req.Header.Set(binaryHeader, strconv.Itoa(hdr))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d: %.300s", resp.StatusCode, out)
		}
	}
}

func newBenchServer(b *testing.B, sig *pkgformat.Signature) string {
	b.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(Options{Name: "m", Registerer: reg, Gatherer: reg})
	if err != nil {
		b.Fatal(err)
	}
	s.Install(&Model{Meta: &pkgformat.Model{Signature: sig}, Predictor: &echo{}, Flavor: "fake"})
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(func() {
		ts.Close()
		_ = s.Close()
	})
	return ts.URL
}

func BenchmarkOIPInferJSON64k(b *testing.B)   { benchInfer(b, false, 1<<16) }
func BenchmarkOIPInferBinary64k(b *testing.B) { benchInfer(b, true, 1<<16) }

func TestOIPColumnSignatureFromPackedAndBinaryData(t *testing.T) {
	_, ts := newTestServer(t, &echo{}, colSig, nil)
	head := `{"inputs": [
		{"name": "a", "shape": [2], "datatype": "FP64", "data": [1.5, 2]},
		{"name": "b", "shape": [2, 1], "datatype": "INT64", "parameters": {"binary_data_size": 16}},
		{"name": "c", "shape": [2], "datatype": "BYTES", "data": ["x", "y"]}]}`
	body := append([]byte(head), le64(3, 1<<40)...)
	r := postBinary(t, ts.URL+"/v2/models/m/infer", body, len(head), nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	outs := outputsOf(t, r)
	if fmt.Sprint(outs["a"]["data"]) != "[1.5 2]" || fmt.Sprint(outs["b"]["data"]) != "[3 1.099511627776e+12]" ||
		fmt.Sprint(outs["c"]["data"]) != "[x y]" || outs["a"]["datatype"] != "FP64" || outs["b"]["datatype"] != "INT64" {
		t.Fatalf("frame outputs %s", r.raw)
	}
}

func TestOIPBinaryNonFiniteFloats(t *testing.T) {
	ts1 := []binTensor{{"p", "FP32", "float32", []int64{1, 4}, f32(float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 2)}}
	_, ts := newTestServer(t, &echo{}, sigOf(ts1), nil)
	body, n := binaryRequest(t, ts1, map[string]any{"parameters": map[string]any{"binary_data_output": true}})
	r := postBinary(t, ts.URL+"/v2/models/m/infer", body, n, nil)
	if r.status != 200 || len(r.bin) != 16 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	var got [4]float32
	for i := range got {
		got[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.bin[4*i:]))
	}
	if !math.IsNaN(float64(got[0])) || !math.IsInf(float64(got[1]), 1) || !math.IsInf(float64(got[2]), -1) || got[3] != 2 {
		t.Fatalf("non-finite floats came back as %v", got)
	}
	if _, ok := decodePacked("FP32", 1, f32(float32(math.NaN()))); ok {
		t.Fatal("a NaN was packed as a plain number literal")
	}
}
