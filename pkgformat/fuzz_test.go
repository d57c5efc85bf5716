package pkgformat

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Seeds are also checked in under testdata/fuzz/<target>/.

func FuzzParseMLmodel(f *testing.F) {
	// Small seeds keep the fuzzer's minimization fast; the golden files are
	// covered by TestGoldenMLmodels.
	f.Add([]byte("flavors: {onnx: {data: model.onnx}}\nsignature: {inputs: '[]'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMLmodel(data)
		if err != nil {
			if !errors.Is(err, ErrBadMLmodel) {
				t.Fatalf("error does not wrap ErrBadMLmodel: %v", err)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			return // e.g. values YAML can hold but not re-encode
		}
		m2, err := ParseMLmodel(out)
		if err != nil {
			t.Fatalf("re-parse of our own output failed: %v\n%s", err, out)
		}
		if (m.Signature == nil) != (m2.Signature == nil) || len(m.Flavors) != len(m2.Flavors) {
			t.Fatalf("round trip changed the model:\n%s", out)
		}
	})
}

func FuzzParseSchema(f *testing.F) {
	f.Add([]byte(`[{"type": "double", "name": "x", "required": true}]`))
	f.Add([]byte(`[{"name": "a", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]`))
	f.Add([]byte(`[{"type": "object", "properties": {"a": {"type": "array", "items": {"type": "map", "values": {"type": "any"}}}}}]`))
	f.Add([]byte(`[{"name": "t", "type": "float", "default": 0.5, "shape": null}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := ParseSchema(data); err == nil {
			again, err := ParseSchema([]byte(s.JSON()))
			if err != nil {
				t.Fatalf("re-parse failed: %v (%s)", err, s.JSON())
			}
			if again.JSON() != s.JSON() {
				t.Fatalf("not stable:\n%s\n%s", s.JSON(), again.JSON())
			}
		} else if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error does not wrap ErrBadSignature: %v", err)
		}
		if p, err := ParseParamSchema(data); err == nil {
			if _, err := ParseParamSchema([]byte(p.JSON())); err != nil {
				t.Fatalf("params re-parse failed: %v (%s)", err, p.JSON())
			}
		}
	})
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"models:/iris/3/sub", "models:/iris@champ", "models:/m-abc", "runs:/r/model",
		"file:///tmp/x", "mlflow-artifacts://h:5000/a", "s3://b/k", "https://h/p", "./rel", "models:/a/Staging",
		"gs://b/k", "wasbs://c@a.blob.core.windows.net/p", "abfss://f@a.dfs.core.windows.net/p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			var ue *URIError
			if !errors.As(err, &ue) || ue.URI != s {
				t.Fatalf("error is not a *URIError quoting the URI: %v", err)
			}
			return
		}
		if u.Kind == "" || u.Raw != s {
			t.Fatalf("parsed without a kind: %+v", u)
		}
		if u.IsRegistry() {
			if u.Name == "" || strings.TrimSpace(u.Name) == "" {
				t.Fatalf("registry URI without a name: %+v", u)
			}
			again, err := ParseURI(u.ModelURI())
			if err != nil || again.Kind != u.Kind || again.Name != u.Name {
				t.Fatalf("ModelURI %q does not re-parse to the same model: %+v %v", u.ModelURI(), again, err)
			}
		}
	})
}

func FuzzExtract(f *testing.F) {
	for _, p := range []string{"testdata/fuzz-seeds/ok.tar.gz", "testdata/fuzz-seeds/ok.zip", "testdata/fuzz-seeds/slip.tar"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../x"})
	_ = tw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		target := filepath.Join(base, "sub", "out")
		err := Extract(context.Background(), bytes.NewReader(data), "x", target, Limits{MaxBytes: 1 << 20, MaxEntries: 64})
		// Whatever happened, nothing may exist outside the target, and on
		// failure nothing at all.
		entries, _ := os.ReadDir(filepath.Join(base, "sub"))
		if err != nil && len(entries) != 0 {
			t.Fatalf("failed extraction left %v", entries)
		}
		if err == nil && (len(entries) != 1 || entries[0].Name() != "out") {
			t.Fatalf("extraction wrote %v", entries)
		}
		top, _ := os.ReadDir(base)
		if len(top) > 1 {
			t.Fatalf("wrote outside the target: %v", top)
		}
		if err == nil {
			_ = filepath.WalkDir(target, func(p string, d os.DirEntry, _ error) error {
				if d != nil && d.Type()&os.ModeSymlink != 0 {
					dest, _ := os.Readlink(p)
					resolved := filepath.Join(filepath.Dir(p), dest)
					if rel, err := filepath.Rel(target, resolved); err != nil || strings.HasPrefix(rel, "..") {
						t.Fatalf("symlink %s -> %s escapes", p, dest)
					}
				}
				return nil
			})
		}
	})
}

func FuzzParseONNX(f *testing.F) {
	for _, p := range []string{"testdata/onnx/types.onnx", "testdata/onnx/external.onnx"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseONNX(data)
		if err != nil {
			if !errors.Is(err, ErrBadONNX) {
				t.Fatalf("error does not wrap ErrBadONNX: %v", err)
			}
			return
		}
		if sig, err := g.Signature(); err == nil {
			if _, err := ParseSchema([]byte(sig.Inputs.JSON())); err != nil {
				t.Fatalf("signature does not re-parse: %v", err)
			}
		}
	})
}

func FuzzExampleFromPayload(f *testing.F) {
	f.Add([]byte(`{"dataframe_split": {"columns": ["a"], "data": [[1]]}, "params": {"k": 1}}`))
	f.Add([]byte(`{"dataframe_records": [{"a": 1}, {"b": 2}]}`))
	f.Add([]byte(`{"inputs": {"x": [[1.0, 2]]}}`))
	f.Add([]byte(`[[1, 2], [3, 4]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := ExampleFromPayload(data)
		if err != nil {
			return
		}
		if _, err := ex.ServingPayload(); err != nil && !errors.Is(err, ErrBadExample) {
			t.Fatalf("serving payload: %v", err)
		}
	})
}
