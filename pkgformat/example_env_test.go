package pkgformat

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestGoldenInputExamples(t *testing.T) {
	for _, c := range []struct{ dir, typ, orient string }{
		{"testdata/golden/sklearn", ExampleDataframe, "split"},
		{"testdata/golden/onnx", ExampleNdarray, ""},
	} {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			m, err := ReadModel(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			ex, err := ReadInputExample(c.dir, m)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Type != c.typ || ex.PandasOrient != c.orient {
				t.Errorf("type %q orient %q", ex.Type, ex.PandasOrient)
			}
			wantEx, _ := os.ReadFile(filepath.Join(c.dir, InputExampleFile))
			wantServe, _ := os.ReadFile(filepath.Join(c.dir, ServingInputExampleFile))
			if !bytes.Equal(ex.Data, wantEx) {
				t.Errorf("data %s, want %s", ex.Data, wantEx)
			}
			serve, err := ex.ServingPayload()
			if err != nil || !bytes.Equal(serve, wantServe) {
				t.Errorf("serving payload (%v):\n%s\nwant\n%s", err, serve, wantServe)
			}
			// Write it back: same bytes as mlflow wrote, same info.
			tmp := t.TempDir()
			info, err := WriteInputExample(tmp, ex)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(t, info), normalize(t, m.SavedInputExampleInfo)) {
				t.Errorf("info %v, want %v", info, m.SavedInputExampleInfo)
			}
			gotEx, _ := os.ReadFile(filepath.Join(tmp, InputExampleFile))
			gotServe, _ := os.ReadFile(filepath.Join(tmp, ServingInputExampleFile))
			if !bytes.Equal(gotEx, wantEx) || !bytes.Equal(gotServe, wantServe) {
				t.Errorf("written files differ:\n%s\n%s", gotEx, gotServe)
			}
			rs, err := ReadServingInputExample(c.dir, m)
			if err != nil || !bytes.Equal(rs, wantServe) {
				t.Errorf("ReadServingInputExample: %v", err)
			}
		})
	}
}

func TestExampleWithParams(t *testing.T) {
	ex, err := ExampleFromPayload([]byte(`{"inputs": {"x": [[1.0, 2]]}, "params": {"k": 3}}`))
	if err != nil || ex.Type != ExampleNdarray || ex.Params["k"] == nil {
		t.Fatalf("%+v %v", ex, err)
	}
	tmp := t.TempDir()
	info, err := WriteInputExample(tmp, ex)
	if err != nil || info["params"] != "true" {
		t.Fatalf("%v %v", info, err)
	}
	raw, _ := os.ReadFile(filepath.Join(tmp, InputExampleFile))
	if string(raw) != `{"inputs": {"x": [[1.0, 2]]}, "params": {"k": 3}}` {
		t.Errorf("input_example.json = %s", raw)
	}
	m := &Model{SavedInputExampleInfo: info}
	back, err := ReadInputExample(tmp, m)
	if err != nil || string(back.Data) != `{"x": [[1.0, 2]]}` || back.Params == nil {
		t.Errorf("read back %+v %v", back, err)
	}
}

func TestExampleFromPayloadForms(t *testing.T) {
	cases := map[string]struct{ typ, data string }{
		`{"dataframe_split": {"columns": ["a"], "data": [[1]]}}`: {ExampleDataframe, `{"columns": ["a"], "data": [[1]]}`},
		`{"dataframe_records": [{"b": 1, "a": 2}, {"c": 3}]}`:    {ExampleDataframe, `{"columns": ["b", "a", "c"], "data": [[1, 2, null], [null, null, 3]]}`},
		`{"inputs": {"z": [1], "a": [2]}}`:                       {ExampleNdarray, `{"z": [1], "a": [2]}`},
		`{"columns": ["a"], "data": [[1.5]], "index": [0]}`:      {ExampleDataframe, `{"columns": ["a"], "data": [[1.5]]}`},
		`[[1, 2], [3, 4]]`:       {ExampleNdarray, `[[1, 2], [3, 4]]`},
		`{"x": [[1.0]]}`:         {ExampleNdarray, `{"x": [[1.0]]}`},
		`{"instances": [[1.0]]}`: {ExampleNdarray, `[[1.0]]`},
	}
	for in, want := range cases {
		ex, err := ExampleFromPayload([]byte(in))
		if err != nil || ex.Type != want.typ || string(ex.Data) != want.data {
			t.Errorf("%s: %+v (%s) %v", in, ex, ex.Data, err)
		}
	}
	if _, err := ExampleFromPayload([]byte(`{"x": `)); !errors.Is(err, ErrBadExample) {
		t.Errorf("bad JSON: %v", err)
	}
	if _, err := ExampleFromPayload([]byte(`{"dataframe_records": 3}`)); !errors.Is(err, ErrBadExample) {
		t.Errorf("bad records: %v", err)
	}
}

func TestReadInputExampleRefusesEscape(t *testing.T) {
	m := &Model{SavedInputExampleInfo: map[string]any{"artifact_path": "../../etc/passwd", "type": "ndarray"}}
	if _, err := ReadInputExample(t.TempDir(), m); err == nil || !strings.Contains(err.Error(), "outside the model folder") {
		t.Errorf("err = %v", err)
	}
}

func TestGoldenEnv(t *testing.T) {
	env, err := ReadEnv("testdata/golden/sklearn")
	if err != nil {
		t.Fatal(err)
	}
	reqs := ParseRequirements(mustRead(t, "testdata/golden/sklearn/requirements.txt"))
	if env.Source != PythonEnvFile || env.Python != "3.11.7" || len(env.BuildDependencies) != 3 ||
		!strings.HasPrefix(env.BuildDependencies[0], "pip==") || !reflect.DeepEqual(env.Requirements, reqs) {
		t.Errorf("env = %+v", env)
	}
	if len(env.CondaChannels) != 1 || env.CondaChannels[0] != "conda-forge" {
		t.Errorf("conda channels %v", env.CondaChannels)
	}
	conda, err := ParseCondaEnv(mustRead(t, "testdata/golden/sklearn/conda.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if conda.Python != "3.11.7" || !reflect.DeepEqual(conda.Requirements, reqs) ||
		len(conda.BuildDependencies) != 1 || !strings.HasPrefix(conda.BuildDependencies[0], "pip<=") {
		t.Errorf("conda env = %+v", conda)
	}

	tmp := t.TempDir()
	env.Constraints = []string{"numpy<3"}
	if err := WriteEnv(tmp, env); err != nil {
		t.Fatal(err)
	}
	back, err := ReadEnv(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if back.Python != env.Python || !reflect.DeepEqual(back.BuildDependencies, env.BuildDependencies) ||
		!reflect.DeepEqual(back.Requirements, env.Requirements) || !reflect.DeepEqual(back.Constraints, env.Constraints) {
		t.Errorf("round trip:\n%+v\n%+v", back, env)
	}
	fromConda, err := ParseCondaEnv(mustRead(t, filepath.Join(tmp, CondaFile)))
	if err != nil || fromConda.Python != env.Python || len(fromConda.Requirements) != len(env.Requirements)+1 {
		t.Errorf("written conda.yaml: %+v %v", fromConda, err)
	}
}

func TestEnvFallbacksAndErrors(t *testing.T) {
	tmp := t.TempDir()
	if _, err := ReadEnv(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty folder: %v", err)
	}
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(RequirementsFile, "# comment\nonnx==1.16 # pinned\n\n-r extra.txt\n")
	write("extra.txt", "numpy\\\n>=1\n-c cons.txt\n")
	write("cons.txt", "numpy<3\n")
	env, err := ReadEnv(tmp)
	if err != nil || !reflect.DeepEqual(env.Requirements, []string{"onnx==1.16", "numpy>=1"}) ||
		!reflect.DeepEqual(env.Constraints, []string{"numpy<3"}) {
		t.Errorf("%+v %v", env, err)
	}
	write(RequirementsFile, "-r requirements.txt\n")
	if _, err := ReadEnv(tmp); !errors.Is(err, ErrBadEnv) {
		t.Errorf("cycle: %v", err)
	}
	write(RequirementsFile, "-r ../../etc/passwd\n")
	if _, err := ReadEnv(tmp); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("escape: %v", err)
	}
	write(CondaFile, "dependencies:\n- python>3.8\n")
	if _, err := ReadEnv(tmp); !errors.Is(err, ErrBadEnv) {
		t.Errorf("unpinned python: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WriteEnv of what ReadEnv read gives back mlflow's own bytes.
func TestGoldenEnvFilesByteIdentical(t *testing.T) {
	for _, n := range []string{"sklearn", "onnx", "custom"} {
		dir := filepath.Join("testdata/golden", n)
		env, err := ReadEnv(dir)
		if err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		if err := WriteEnv(tmp, env); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{PythonEnvFile, CondaFile, RequirementsFile} {
			if got, want := mustRead(t, filepath.Join(tmp, f)), mustRead(t, filepath.Join(dir, f)); !bytes.Equal(got, want) {
				t.Errorf("%s/%s:\n got %q\nwant %q", n, f, got, want)
			}
		}
	}
}
