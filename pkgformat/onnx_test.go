package pkgformat

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type expectedValue struct {
	Name     string  `json:"name"`
	Kind     string  `json:"kind"`
	ElemType int32   `json:"elem_type"`
	Shape    []int64 `json:"shape"`
}

type expectedGraph struct {
	IRVersion    int64            `json:"ir_version"`
	Opsets       map[string]int64 `json:"opsets"`
	ProducerName string           `json:"producer_name"`
	Inputs       []expectedValue  `json:"inputs"`
	Outputs      []expectedValue  `json:"outputs"`
	ExternalData []string         `json:"external_data"`
}

func TestParseONNXAgainstOnnxPackage(t *testing.T) {
	raw := mustRead(t, "testdata/onnx/expected.json")
	var want map[string]expectedGraph
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 2 {
		t.Fatal("expected.json lists no models (run interop/gen_golden.py)")
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			g, err := ParseONNX(mustRead(t, filepath.Join("testdata/onnx", name)))
			if err != nil {
				t.Fatal(err)
			}
			if g.IRVersion != w.IRVersion || !reflect.DeepEqual(g.Opsets, w.Opsets) || g.ProducerName != w.ProducerName {
				t.Errorf("header: %d %v %q", g.IRVersion, g.Opsets, g.ProducerName)
			}
			conv := func(vs []ONNXValue) []expectedValue {
				var out []expectedValue
				for _, v := range vs {
					e := expectedValue{Name: v.Name, Kind: v.Kind}
					if v.Kind == "tensor" {
						e.ElemType, e.Shape = v.ElemType, v.Shape
					} else {
						e.Kind = map[string]string{"sequence": "sequence_type", "map": "map_type"}[v.Kind]
					}
					out = append(out, e)
				}
				return out
			}
			if got := conv(g.Inputs); !reflect.DeepEqual(normalize(t, got), normalize(t, w.Inputs)) {
				t.Errorf("inputs\n got %+v\nwant %+v", got, w.Inputs)
			}
			if got := conv(g.Outputs); !reflect.DeepEqual(normalize(t, got), normalize(t, w.Outputs)) {
				t.Errorf("outputs\n got %+v\nwant %+v", got, w.Outputs)
			}
			if !reflect.DeepEqual(normalize(t, g.ExternalData), normalize(t, w.ExternalData)) && len(g.ExternalData)+len(w.ExternalData) > 0 {
				t.Errorf("external data %v, want %v", g.ExternalData, w.ExternalData)
			}
		})
	}
}

func TestONNXSignature(t *testing.T) {
	g, err := ParseONNX(mustRead(t, "testdata/onnx/types.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := g.Signature()
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name": "f32", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}, ` +
		`{"name": "f64", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}, ` +
		`{"name": "i64", "type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [5]}}, ` +
		`{"name": "s", "type": "tensor", "tensor-spec": {"dtype": "object", "shape": [-1]}}, ` +
		`{"name": "b", "type": "tensor", "tensor-spec": {"dtype": "bool", "shape": [2, -1, 4]}}, ` +
		`{"name": "u8", "type": "tensor", "tensor-spec": {"dtype": "uint8", "shape": []}}]`
	if got := sig.Inputs.JSON(); got != want {
		t.Errorf("inputs\n got %s\nwant %s", got, want)
	}
	if got := sig.Outputs.JSON(); got != `[{"name": "y", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]` {
		t.Errorf("outputs %s", got)
	}
	norank := &ONNXGraph{Inputs: []ONNXValue{{Name: "x", Kind: "tensor", ElemType: 1}}}
	if _, err := norank.Signature(); err == nil || !strings.Contains(err.Error(), "unknown rank") {
		t.Errorf("unknown rank: %v", err)
	}
	bad := &ONNXGraph{Inputs: []ONNXValue{{Name: "bf", Kind: "tensor", ElemType: 16}}}
	if _, err := bad.Signature(); err == nil || !strings.Contains(err.Error(), "BFLOAT16") {
		t.Errorf("bfloat16: %v", err)
	}
}

func TestParseONNXErrors(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("not protobuf \xff\xff"), {0x08, 0x08}, {0x3a, 0x05, 0x01}} {
		if _, err := ParseONNX(in); !errors.Is(err, ErrBadONNX) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestPackageONNXExternalData(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "model")
	extra := filepath.Join(dir, "README.md")
	if err := os.WriteFile(extra, []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 1, 15, 10, 30, 45, 123456000, time.UTC)
	m, err := PackageONNX(context.Background(), ONNXPackageOptions{
		ModelPath: "testdata/onnx/external.onnx", OutDir: out, ExtraFiles: []string{extra},
		InputExample: []byte(`{"x": [[` + strings.Repeat("0.5, ", 255) + `1.0]]}`), Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"MLmodel", "model.onnx", "external.onnx.data", "README.md", "python_env.yaml",
		"conda.yaml", "requirements.txt", "input_example.json", "serving_input_example.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	back, err := ReadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.UTCTimeCreated != "2024-01-15 10:30:45.123456" || back.MLflowVersion != DefaultMLflowVersion ||
		len(back.ModelUUID) != 32 || back.Signature.Inputs.Tensors[0].Shape[0] != -1 {
		t.Errorf("MLmodel: %+v", back)
	}
	if back.Flavors["python_function"]["loader_module"] != "mlflow.onnx" || back.Flavors["onnx"]["data"] != "model.onnx" {
		t.Errorf("flavors: %v", back.Flavors)
	}
	size, _ := dirSize(out)
	mlmodel, _ := os.Stat(filepath.Join(out, MLmodelFile))
	if *m.ModelSizeBytes != size-mlmodel.Size() {
		t.Errorf("model_size_bytes %d, files without MLmodel %d", *m.ModelSizeBytes, size-mlmodel.Size())
	}
	env, err := ReadEnv(out)
	if err != nil || env.Python != DefaultPythonVersion || !reflect.DeepEqual(env.Requirements,
		[]string{"mlflow==3.17.2", "onnx==1.23.2", "onnxruntime==1.32.0"}) {
		t.Errorf("env %+v %v", env, err)
	}
	ex, err := ReadInputExample(out, back)
	if err != nil || ex.Type != ExampleNdarray {
		t.Errorf("example %+v %v", ex, err)
	}

	// A non-empty output folder is refused and left alone.
	if _, err := PackageONNX(context.Background(), ONNXPackageOptions{ModelPath: "testdata/onnx/types.onnx", OutDir: out, NoSignature: true}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty out: %v", err)
	}
	// Extra file colliding with a generated one.
	coll := filepath.Join(dir, "MLmodel")
	_ = os.WriteFile(coll, []byte("x"), 0o600)
	out2 := filepath.Join(dir, "m2")
	if _, err := PackageONNX(context.Background(), ONNXPackageOptions{ModelPath: "testdata/onnx/types.onnx", OutDir: out2, ExtraFiles: []string{coll}}); err == nil || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("collision: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("left behind: %v", entries)
	}
	// Bad ONNX.
	badPath := filepath.Join(dir, "README.md")
	if _, err := PackageONNX(context.Background(), ONNXPackageOptions{ModelPath: badPath, OutDir: out2}); !errors.Is(err, ErrBadONNX) {
		t.Errorf("bad onnx: %v", err)
	}
}
