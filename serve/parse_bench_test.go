package serve

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/pkgformat"
)

// mlpBody is an MLP-sized request: 4 rows of 512 float literals.
func mlpBody() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	sb.WriteString(`{"inputs": {"x": [`)
	for i := range 4 {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('[')
		for j := range 512 {
			if j > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "%.3f", r.NormFloat64())
		}
		sb.WriteByte(']')
	}
	sb.WriteString(`]}}`)
	return []byte(sb.String())
}

// BenchmarkParseBuildTensor is the request half of /invocations for a
// 2048-float tensor: parse, then schema enforcement into a float32 tensor.
func BenchmarkParseBuildTensor(b *testing.B) {
	body := mlpBody()
	sig := &pkgformat.Signature{Inputs: &pkgformat.Schema{Tensors: []pkgformat.TensorSpec{
		{Name: "x", DType: "float32", Shape: []int64{-1, 512}}}}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := parseJSONBody(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := buildInput(req, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseBuildFrame is the same for a small dataframe_split request.
func BenchmarkParseBuildFrame(b *testing.B) {
	body := []byte(`{"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.5, 4.0, 2.5]]}}`)
	b.ReportAllocs()
	for b.Loop() {
		req, err := parseJSONBody(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := buildInput(req, frameSig); err != nil {
			b.Fatal(err)
		}
	}
}

var frameSig = &pkgformat.Signature{Inputs: &pkgformat.Schema{Columns: []pkgformat.ColSpec{
	col("x1", "double"), col("x2", "double"), col("x3", "double")}}}
