package serve

import (
	"testing"

	"github.com/mlgate/mlgate/pkgformat"
)

var fuzzSigs = []*pkgformat.Signature{nil, colSig, floatColSig, tensorSig, namedTensorSig, paramSig}

// FuzzInvocationsJSON feeds arbitrary bodies through parsing, schema
// enforcement and rendering: errors are fine, panics are not.
func FuzzInvocationsJSON(f *testing.F) {
	f.Add([]byte(`{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, "x"]]}}`))
	f.Add([]byte(`{"inputs": {"p": [[1, 2]], "q": [1]}, "params": {"k": 2}}`))
	f.Add([]byte(`{"instances": [{"a": 1, "b": [1, 2]}]}`))
	f.Add([]byte(`{"dataframe_records": [{"a": NaN, "b": -Infinity}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseJSONBody(body)
		if err != nil {
			return
		}
		for _, sig := range fuzzSigs {
			in, err := buildInput(req, sig)
			if err != nil {
				continue
			}
			e := &echo{}
			out, err := e.Predict(t.Context(), in)
			if err == nil {
				_, _ = renderPredictions(out)
			}
		}
	})
}

// FuzzParseCSV feeds arbitrary CSV through the CSV path.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("a,b,c\n1,2,x\n"))
	f.Add([]byte("a\n\"q\"\"\"\n,\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := parseCSV(body)
		if err != nil {
			return
		}
		for _, sig := range fuzzSigs {
			_, _ = buildInput(&request{frame: fr}, sig)
		}
	})
}

// FuzzOIPTensor feeds arbitrary v2 input tensors through the checker.
func FuzzOIPTensor(f *testing.F) {
	f.Add([]byte(`{"name": "p", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}`))
	f.Add([]byte(`{"name": "s", "shape": [1], "datatype": "BYTES", "data": ["x"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := parseJSON(body)
		if err != nil {
			return
		}
		for _, flat := range []bool{false, true} {
			name, data, err := oipTensor(&v, flat)
			if err != nil {
				continue
			}
			req := &request{format: fmtInputs, data: &value{k: kObject, keys: []string{name}, vals: []value{data}}}
			for _, sig := range fuzzSigs {
				_, _ = buildInput(req, sig)
			}
		}
	})
}

// The shadow comparison of two answers never panics, every answer agrees
// with itself, and agreement does not depend on the order.
func FuzzSameAnswers(f *testing.F) {
	f.Add([]byte(`{"predictions": [1, 2.5, "a", {"k": NaN}]}`), []byte(`{"predictions": [1.0, 2.5000000001, "a", {"k": NaN}]}`))
	f.Add([]byte(`[Infinity, -Infinity, null, true]`), []byte(`[1e308, -1e308, 0, false]`))
	f.Add([]byte(`{"x": 1, "x": 2}`), []byte(`{"x": 2, "x": 2}`))
	f.Add([]byte(`{"x": 1, "x": 2}`), []byte(`{"x":1,"x":2}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if !sameAnswers(a, a, 1e-6) {
			t.Fatalf("%q does not agree with itself", a)
		}
		if sameAnswers(a, b, 1e-6) != sameAnswers(b, a, 1e-6) {
			t.Fatalf("agreement of %q and %q depends on the order", a, b)
		}
	})
}
