package serve

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/internal/pyfmt"
	"github.com/mlgate/mlgate/pkgformat"
)

var (
	colSig = &pkgformat.Signature{Inputs: &pkgformat.Schema{Columns: []pkgformat.ColSpec{
		col("a", "double"), col("b", "long"), col("c", "string"),
	}}}
	floatColSig = &pkgformat.Signature{Inputs: &pkgformat.Schema{Columns: []pkgformat.ColSpec{
		col("x", "float"), col("y", "integer"), col("z", "boolean"),
	}}}
	tensorSig = &pkgformat.Signature{Inputs: &pkgformat.Schema{Tensors: []pkgformat.TensorSpec{
		tensor("", "float32", -1, 2),
	}}}
	namedTensorSig = &pkgformat.Signature{Inputs: &pkgformat.Schema{Tensors: []pkgformat.TensorSpec{
		tensor("p", "float64", -1, 2), tensor("q", "int64", -1),
	}}}
	paramSig = &pkgformat.Signature{
		Inputs: &pkgformat.Schema{Columns: []pkgformat.ColSpec{col("a", "double")}},
		Params: &pkgformat.ParamSchema{Params: []pkgformat.ParamSpec{
			{Name: "k", Type: "long", Default: int64(3)},
			{Name: "t", Type: "double", Default: 0.5},
		}},
	}
)

// big400 is 10^400 written out.
var big400 = "1" + strings.Repeat("0", 400)

func TestInvocations(t *testing.T) {
	type tc struct {
		name   string
		sig    *pkgformat.Signature
		ctype  string
		body   string
		status int
		want   string // exact body for 200, error_code otherwise
		msg    string // substring of the error message
	}
	const js = "application/json"
	cases := []tc{
		// formats, column schema
		{"split", colSig, js, `{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, "x"], [1.5, 3, "y"]]}}`,
			200, `{"predictions": [{"a": 1.0, "b": 2, "c": "x"}, {"a": 1.5, "b": 3, "c": "y"}]}`, ""},
		{"split reorders and drops extra", colSig, js, `{"dataframe_split": {"columns": ["c", "zz", "b", "a"], "data": [["x", 0, 2, 1]]}}`,
			200, `{"predictions": [{"a": 1.0, "b": 2, "c": "x"}]}`, ""},
		{"records", colSig, js, `{"dataframe_records": [{"a": 1, "b": 2, "c": "x"}, {"c": "y", "b": 5, "a": 0.25}]}`,
			200, `{"predictions": [{"a": 1.0, "b": 2, "c": "x"}, {"a": 0.25, "b": 5, "c": "y"}]}`, ""},
		{"instances records", colSig, js, `{"instances": [{"a": 1, "b": 2, "c": "x"}]}`,
			200, `{"predictions": [{"a": 1.0, "b": 2, "c": "x"}]}`, ""},
		{"inputs columns", colSig, js, `{"inputs": {"a": [1, 2], "b": [3, 4], "c": ["x", "y"]}}`,
			200, `{"predictions": [{"a": 1.0, "b": 3, "c": "x"}, {"a": 2.0, "b": 4, "c": "y"}]}`, ""},
		{"inputs one row of scalars", colSig, js, `{"inputs": {"a": 1, "b": 3, "c": "x"}}`,
			200, `{"predictions": [{"a": 1.0, "b": 3, "c": "x"}]}`, ""},
		{"float32 int32 bool casts", floatColSig, js, `{"dataframe_split": {"columns": ["x", "y", "z"], "data": [[0.1, 7, true], [2, 1.9, 0]]}}`,
			200, `{"predictions": [{"x": 0.10000000149011612, "y": 7, "z": true}, {"x": 2.0, "y": 1, "z": false}]}`, ""},
		{"csv", colSig, "text/csv", "a,b,c\n1,2,x\n2.5,3,y\n",
			200, `{"predictions": [{"a": 1.0, "b": 2, "c": "x"}, {"a": 2.5, "b": 3, "c": "y"}]}`, ""},
		{"csv string column keeps text", colSig, "text/csv", "a,b,c\n1,2,007\n",
			200, `{"predictions": [{"a": 1.0, "b": 2, "c": "007"}]}`, ""},
		{"csv with charset", colSig, "text/csv; charset=UTF-8", "a,b,c\n1,2,x\n",
			200, `{"predictions": [{"a": 1.0, "b": 2, "c": "x"}]}`, ""},
		{"no schema split infers", nil, js, `{"dataframe_split": {"data": [[1, 2.5, "s", true]]}}`,
			200, `{"predictions": [{"0": 1, "1": 2.5, "2": "s", "3": true}]}`, ""},
		{"no schema inputs list", nil, js, `{"inputs": [[1, 2], [3, 4]]}`, 200, `{"predictions": [[1, 2], [3, 4]]}`, ""},
		// an integer literal beyond float64 (MLflow: Python's int does not convert)
		{"int 10^400 split", colSig, js, `{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[` + big400 + `, 2, "x"]]}}`,
			400, "BAD_REQUEST", "Invalid input. int too large to convert to float"},
		{"int -10^400 inputs", nil, js, `{"inputs": [[-` + big400 + `]]}`, 400, "BAD_REQUEST", "int too large to convert to float"},
		{"int 10^400 in params", nil, js, `{"inputs": [[1]], "params": {"p": ` + big400 + `}}`, 400, "BAD_REQUEST", "int too large"},
		{"csv int 10^400", colSig, "text/csv", "a,b,c\n" + big400 + ",2,x\n", 400, "BAD_REQUEST", ""},
		{"int 10^308 converts, beyond int64", nil, js, `{"inputs": [[1` + big400[1:309] + `]]}`, 400, "BAD_REQUEST", "out of bounds for int64"},
		{"no schema inputs dict", nil, js, `{"inputs": {"b": [1.5], "a": ["x"]}}`, 200, `{"predictions": {"a": ["x"], "b": [1.5]}}`, ""},
		// tensor schemas
		{"tensor inputs", tensorSig, js, `{"inputs": [[1, 2], [3, 4.5]]}`, 200, `{"predictions": [[1.0, 2.0], [3.0, 4.5]]}`, ""},
		{"tensor instances", tensorSig, js, `{"instances": [[1, 2]]}`, 200, `{"predictions": [[1.0, 2.0]]}`, ""},
		{"tensor from split", tensorSig, js, `{"dataframe_split": {"columns": ["u", "v"], "data": [[1, 2]]}}`, 200, `{"predictions": [[1.0, 2.0]]}`, ""},
		{"named tensors", namedTensorSig, js, `{"inputs": {"q": [7, 8], "p": [[1, 2], [3, 4]]}}`,
			200, `{"predictions": {"p": [[1.0, 2.0], [3.0, 4.0]], "q": [7, 8]}}`, ""},
		{"named tensors from records", namedTensorSig, js, `{"dataframe_records": [{"p": [1, 2], "q": 1}]}`,
			200, `{"predictions": {"p": [[1.0, 2.0]], "q": [1]}}`, ""},
		// params
		{"params defaults", paramSig, js, `{"inputs": {"a": [1]}}`, 200, `{"predictions": [{"a": 1.0}]}`, ""},
		{"params ok", paramSig, js, `{"inputs": {"a": [1]}, "params": {"k": 5, "t": 1, "unknown": "x"}}`, 200, `{"predictions": [{"a": 1.0}]}`, ""},
		{"params wrong type", paramSig, js, `{"inputs": {"a": [1]}, "params": {"k": 1.5}}`, 400, "INVALID_PARAMETER_VALUE", "Invalid parameters found"},
		{"params not a dict", paramSig, js, `{"inputs": {"a": [1]}, "params": [1]}`, 400, "INVALID_PARAMETER_VALUE", "Parameters must be a dictionary"},
		// LLM-style bodies pass through unwrapped
		{"llm passthrough", nil, js, `{"messages": [{"role": "user", "content": "hi"}]}`, 200, `{"messages": [{"role": "user", "content": "hi"}]}`, ""},
		// request errors
		{"malformed json", colSig, js, `{"inputs": [1,`, 400, "BAD_REQUEST", "Ensure that input is a valid JSON formatted string"},
		{"top-level list", colSig, js, `[1, 2]`, 400, "BAD_REQUEST", "Received a list."},
		{"scalar body", colSig, js, `3`, 400, "BAD_REQUEST", "Received unexpected input type"},
		{"no format key", colSig, js, `{"columns": ["a"], "data": [[1]]}`, 400, "BAD_REQUEST", "scoring protocol has changed"},
		{"two format keys", colSig, js, `{"inputs": [1], "instances": [1]}`, 400, "BAD_REQUEST", "Received dictionary with input fields: ['inputs', 'instances']"},
		{"split not dict", colSig, js, `{"dataframe_split": [[1]]}`, 400, "BAD_REQUEST", "Dataframe split format must be a dictionary. Got list."},
		{"split extra key", colSig, js, `{"dataframe_split": {"data": [[1]], "x": 1}}`, 400, "BAD_REQUEST", "must have 'data' field"},
		{"split width mismatch", colSig, js, `{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}`, 400, "BAD_REQUEST", "1 columns passed, passed data had 2 columns"},
		{"records not list", colSig, js, `{"dataframe_records": {"a": 1}}`, 400, "BAD_REQUEST", "Got dictionary."},
		{"missing column", colSig, js, `{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}`, 400, "INVALID_PARAMETER_VALUE", "Model is missing inputs ['c']."},
		{"uncastable column", colSig, js, `{"dataframe_split": {"columns": ["a", "b", "c"], "data": [["zz", 2, "x"]]}}`, 400, "BAD_REQUEST", "Failed to convert column a to type 'float64'"},
		{"null in long column", colSig, js, `{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, null, "x"]]}}`, 400, "BAD_REQUEST", "Failed to convert column b to type 'int64'"},
		{"tensor shape", tensorSig, js, `{"inputs": [[1, 2, 3]]}`, 400, "INVALID_PARAMETER_VALUE", "Shape of input (1, 3) does not match expected shape (-1, 2)."},
		{"tensor ragged", tensorSig, js, `{"inputs": [[1, 2], [3]]}`, 400, "BAD_REQUEST", "inhomogeneous shape after 1 dimensions"},
		{"tensor bad string", tensorSig, js, `{"inputs": [["a", 2]]}`, 400, "BAD_REQUEST", "could not convert string to float: 'a'"},
		{"tensor dict for unnamed", tensorSig, js, `{"inputs": {"x": [[1, 2]]}}`, 400, "BAD_REQUEST", "un-named"},
		{"named tensor missing", namedTensorSig, js, `{"inputs": {"p": [[1, 2]]}}`, 400, "INVALID_PARAMETER_VALUE", "Model is missing inputs ['q']."},
		{"instances unequal", namedTensorSig, js, `{"instances": {"p": [[1, 2]], "q": [1, 2]}}`, 400, "BAD_REQUEST", "are not the same"},
		{"predictor failure", colSig, js, `{"inputs": {"a": [666], "b": [1], "c": ["x"]}}`, 400, "BAD_REQUEST", "Encountered an unexpected error while evaluating the model"},
		{"unsupported content type", colSig, "text/plain", `x`, 415, "BAD_REQUEST", "This predictor only supports the following content types"},
		{"missing content type", colSig, "", `{}`, 415, "BAD_REQUEST", "Got ''."},
		{"bad charset", colSig, "application/json; charset=latin-1", `{}`, 415, "BAD_REQUEST", "only supports UTF-8"},
		{"unknown ctype param", colSig, "application/json; format=pandas-split", `{}`, 415, "BAD_REQUEST", "Unrecognized content type parameters: format"},
		{"csv too many fields", colSig, "text/csv", "a,b,c\n1,2,3,4\n", 400, "BAD_REQUEST", "Failed to parse input as a Pandas DataFrame"},
		{"empty csv", colSig, "text/csv", "", 400, "BAD_REQUEST", "No columns to parse from file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ts := newTestServer(t, &echo{}, c.sig, nil)
			status, body, _ := post(t, ts.URL+"/invocations", c.ctype, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d; body %s", status, c.status, body)
			}
			if status == 200 {
				if body != c.want {
					t.Fatalf("body\n got %s\nwant %s", body, c.want)
				}
				return
			}
			if status == 415 { // MLflow answers these in plain text
				if !strings.Contains(body, c.msg) || strings.HasPrefix(body, "{") {
					t.Fatalf("415 body %q, want plain text containing %q", body, c.msg)
				}
				return
			}
			var e struct {
				ErrorCode string `json:"error_code"`
				Message   string `json:"message"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("error body is not JSON: %s", body)
			}
			if e.ErrorCode != c.want || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("got %s %q, want %s containing %q", e.ErrorCode, e.Message, c.want, c.msg)
			}
		})
	}
}

func TestPyFloat(t *testing.T) {
	cases := map[float64]string{
		1: "1.0", 0.1: "0.1", 1e-5: "1e-05", 1e16: "1e+16", 123456789012345.6: "123456789012345.6",
		0.0001: "0.0001", -2.5e-7: "-2.5e-07", 1.5e300: "1.5e+300", float64(float32(0.1)): "0.10000000149011612",
	}
	for f, want := range cases {
		if got := pyfmt.Float(f); got != want {
			t.Errorf("pyfmt.Float(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestHealthVersionAndNotLoaded(t *testing.T) {
	s, ts := newTestServer(t, nil, nil, nil)
	if status, _ := get(t, ts.URL+"/ping"); status != 503 {
		t.Fatalf("ping before load: %d", status)
	}
	if status, body, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`); status != 503 || !strings.Contains(body, "TEMPORARILY_UNAVAILABLE") {
		t.Fatalf("invocations before load: %d %s", status, body)
	}
	s.Install(&Model{Meta: &pkgformat.Model{}, Predictor: &echo{}})
	for _, p := range []string{"/ping", "/health"} {
		if status, body := get(t, ts.URL+p); status != 200 || body != "\n" {
			t.Fatalf("%s: %d %q", p, status, body)
		}
	}
	if status, body := get(t, ts.URL+"/version"); status != 200 || body != "3.17.2" {
		t.Fatalf("version: %d %q", status, body)
	}
	if status, body := get(t, ts.URL+"/nope"); status != 404 || body != `{"detail":"Not Found"}` {
		t.Fatalf("unknown route: %d %s", status, body)
	}
	s.Drain()
	if status, _ := get(t, ts.URL+"/health"); status != 503 {
		t.Fatalf("health while draining: %d", status)
	}
}
