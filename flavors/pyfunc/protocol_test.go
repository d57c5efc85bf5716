package pyfunc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/flavors"
)

func TestHandshake(t *testing.T) {
	cases := []struct {
		name, in string
		wantErr  string // "" = ok
		code     string // a WorkerError's code
	}{
		{"ok", "mlgate-worker 2 {\"pid\":7,\"runtime\":\"python 3.11\",\"frames\":[\"B\"]}\n", "", ""},
		{"ok_no_info", "mlgate-worker 2\n", "", ""},
		{"noise_first", "hello from a model\nmlgate-worker 2 {}\n", "", ""},
		{"older", "mlgate-worker 1 {}\n", "speaks protocol version 1, this mlgate speaks 2", ""},
		{"newer", "mlgate-worker 3 {}\n", "speaks protocol version 3, this mlgate speaks 2", ""},
		{"bad_version", "mlgate-worker x {}\n", "bad handshake line", ""},
		{"bad_info", "mlgate-worker 2 {nope\n", "bad handshake info", ""},
		{"load_error", "mlgate-worker-error 2 {\"error_code\":\"INVALID_STATE\",\"message\":\"no module named x\"}\n", "no module named x", "INVALID_STATE"},
		{"eof", "", "closed stdout before its handshake", ""},
		{"too_much_noise", strings.Repeat("x", 70<<10) + "\n", "no handshake line", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := readHandshake(bufio.NewReader(strings.NewReader(c.in)), nil)
			if c.wantErr == "" {
				if err != nil || info == nil {
					t.Fatalf("want ok, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("want error containing %q, got %v", c.wantErr, err)
			}
			var we *WorkerError
			if c.code != "" && (!errors.As(err, &we) || we.ErrorCode() != c.code) {
				t.Fatalf("want WorkerError %s, got %#v", c.code, err)
			}
			if c.code == "" && !errors.Is(err, ErrProtocol) {
				t.Fatalf("want ErrProtocol, got %v", err)
			}
		})
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	big := bytes.Repeat([]byte("a"), 100<<10)
	for _, body := range [][]byte{[]byte(`{"inputs":[1]}`), nil, big} {
		if err := writeFrame(&buf, framePredict, body); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range [][]byte{[]byte(`{"inputs":[1]}`), {}, big} {
		kind, body, err := readFrame(&buf)
		if err != nil || kind != framePredict || !bytes.Equal(body, want) {
			t.Fatalf("readFrame = %q %d bytes %v", kind, len(body), err)
		}
	}
	if _, _, err := readFrame(&buf); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF at the end, got %v", err)
	}
	if _, _, err := readFrame(bytes.NewReader([]byte{0, 0, 0, 0})); !errors.Is(err, ErrProtocol) {
		t.Fatalf("zero length: want ErrProtocol, got %v", err)
	}
	if _, _, err := readFrame(bytes.NewReader([]byte{0, 0, 0, 9, 'O'})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short frame: want ErrUnexpectedEOF, got %v", err)
	}
}

func TestDecodeAnswer(t *testing.T) {
	out, err := decodeAnswer(frame{kind: frameOK, body: []byte(`[1.0, 2.0]`)})
	if err != nil || string(out.JSON) != `[1.0, 2.0]` {
		t.Fatalf("ok frame: %v %v", out, err)
	}
	_, err = decodeAnswer(frame{kind: frameError, body: []byte(`{"error_code":"BAD_REQUEST","message":"no"}`)})
	var we *WorkerError
	if !errors.As(err, &we) || we.ErrorCode() != "BAD_REQUEST" || !errors.Is(err, flavors.ErrBadInput) {
		t.Fatalf("error frame: %#v", err)
	}
	_, err = decodeAnswer(frame{kind: frameError, body: []byte(`garbage`)})
	if !errors.As(err, &we) || we.ErrorCode() != "INTERNAL_ERROR" || errors.Is(err, flavors.ErrBadInput) {
		t.Fatalf("malformed error frame: %#v", err)
	}
	if _, err := decodeAnswer(frame{kind: 'Z'}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("unknown frame: %v", err)
	}
}

func TestEncodeRequest(t *testing.T) {
	cases := []struct {
		name string
		in   *flavors.Input
		want string
	}{
		{"frame", &flavors.Input{Frame: &flavors.Frame{
			Columns: []string{"x", "s", "b", "i", "n", "bin", "arr"},
			Data:    [][]any{{1.0, 2.5}, {"a\"\n", "é"}, {true, false}, {int64(3), int32(-4)}, {nil, math.NaN()}, {[]byte("hi"), []byte{}}, {[]any{1.0, "x"}, map[string]any{"k": int64(1)}}},
		}, Params: map[string]any{"scale": 2.0, "label": "p"}},
			`{"dataframe_split":{"columns":["x","s","b","i","n","bin","arr"],"data":[[1.0,"a\"\n",true,3,null,"aGk=",[1.0,"x"]],[2.5,"é",false,-4,NaN,"",{"k":1}]]},"params":{"label":"p","scale":2.0}}`},
		{"tensors", &flavors.Input{Tensors: map[string]*flavors.Tensor{
			"b": {DType: flavors.Int64, Shape: []int64{2}, Data: []int64{1, 2}},
			"a": {DType: flavors.Float32, Shape: []int64{1, 2, 2}, Data: []float32{0.1, 1, float32(math.Inf(1)), -2e-9}},
		}}, `{"inputs":{"a":[[[0.1,1.0],[Infinity,-2e-09]]],"b":[1,2]}}`},
		{"tensor_strings", &flavors.Input{Tensor: &flavors.Tensor{DType: flavors.String, Shape: []int64{2, 1}, Data: []string{"x", "y"}}},
			`{"inputs":[["x"],["y"]]}`},
		{"scalar", &flavors.Input{Tensor: &flavors.Tensor{DType: flavors.Bool, Shape: nil, Data: []bool{true}}}, `{"inputs":true}`},
		{"raw", &flavors.Input{Raw: json.RawMessage(`{"messages":[{"role":"user"}]}`)}, `{"messages":[{"role":"user"}]}`},
		{"raw_params", &flavors.Input{Raw: json.RawMessage(`{"prompt":"hi"}`), Params: map[string]any{"t": 1.0}}, `{"params":{"t":1},"prompt":"hi"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := encodeRequest(c.in, false)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	bad := []*flavors.Input{
		nil, {},
		{Tensor: &flavors.Tensor{DType: flavors.Float32, Shape: []int64{3}, Data: []float32{1}}},
		{Raw: json.RawMessage(`[1]`), Params: map[string]any{"a": 1}},
	}
	for i, in := range bad {
		if _, err := encodeRequest(in, false); !errors.Is(err, flavors.ErrBadInput) {
			t.Fatalf("bad input %d: want ErrBadInput, got %v", i, err)
		}
	}
}

func TestEncodeTypeHintedRequest(t *testing.T) {
	for in, want := range map[*flavors.Input]string{
		{Raw: json.RawMessage(`["a", "b"]`), Params: map[string]any{"t": 1.0}}: `{"inputs":["a", "b"],"params":{"t":1.0}}`,
		{Raw: json.RawMessage(`{"messages":[]}`)}:                              `{"inputs":{"messages":[]}}`,
	} {
		got, err := encodeRequest(in, true)
		if err != nil || string(got) != want {
			t.Fatalf("got %s, %v; want %s", got, err, want)
		}
	}
}

func TestParseWorkerFlavor(t *testing.T) {
	name, cmd, err := ParseWorkerFlavor("js_linear=node  /opt/w.js --fast")
	if err != nil || name != "js_linear" || strings.Join(cmd, "|") != "node|/opt/w.js|--fast" {
		t.Fatalf("got %q %q %v", name, cmd, err)
	}
	for _, s := range []string{"", "x", "=node", "x=", "x=  "} {
		if _, _, err := ParseWorkerFlavor(s); err == nil {
			t.Fatalf("%q: want an error", s)
		}
	}
}

func TestRegisterExternal(t *testing.T) {
	r := flavors.NewRegistry()
	if err := RegisterExternal(r, []string{"js_linear=node w.js", "rs=./worker"}, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Names(), ","); got != "js_linear,rs" {
		t.Fatalf("registered %s", got)
	}
	if err := RegisterExternal(r, []string{"rs=./other"}, Options{}); err == nil {
		t.Fatal("a duplicate must be refused")
	}
	if err := RegisterExternal(flavors.NewRegistry(), []string{"nocommand"}, Options{}); err == nil {
		t.Fatal("a bad entry must be refused")
	}
}

func FuzzHandshake(f *testing.F) {
	f.Add("mlgate-worker 2 {\"pid\":1,\"frames\":[\"B\"]}\n")
	f.Add("noise\nmlgate-worker-error 1 {\"message\":\"x\"}\n")
	f.Add("mlgate-worker 99\n")
	f.Fuzz(func(t *testing.T, s string) {
		info, err := readHandshake(bufio.NewReader(strings.NewReader(s)), nil)
		if err == nil && info == nil {
			t.Fatal("nil info without error")
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 'O', '[', ']'})
	f.Add([]byte{0, 0, 0, 1, 'E'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, body, err := readFrame(bytes.NewReader(b))
		if err != nil {
			return
		}
		if _, err := decodeAnswer(frame{kind: kind, body: body}); err == nil && kind != frameOK && kind != frameUnwrapped {
			t.Fatalf("frame type %q accepted", kind)
		}
	})
}

func TestReadFrameLargeLengths(t *testing.T) {
	// a corrupt header claiming most of maxFrame with little behind it
	short := append([]byte{0x3f, 0xff, 0xff, 0xff}, []byte("Oabc")...)
	if _, _, err := readFrame(bytes.NewReader(short)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short large frame: err %v, want unexpected EOF", err)
	}
	// a real frame above the 1 MiB direct-allocation size
	body := bytes.Repeat([]byte("x"), 3<<20)
	hdr := []byte{0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr, uint32(len(body)+1))
	kind, got, err := readFrame(bytes.NewReader(append(append(hdr, 'O'), body...)))
	if err != nil || kind != 'O' || !bytes.Equal(got, body) {
		t.Fatalf("3 MiB frame: kind %q, %d bytes, err %v", kind, len(got), err)
	}
}
