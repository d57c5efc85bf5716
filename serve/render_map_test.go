package serve

import (
	"encoding/json"
	"testing"

	"github.com/mlgate/mlgate/flavors"
)

func TestMapsRenderInOrder(t *testing.T) {
	zip := flavors.Map{Keys: []string{"0", "1", "10", "2"}, Values: []any{float32(0.5), float32(0.25), float32(0.125), float32(0.125)}}
	out := &flavors.Output{Tensor: &flavors.Tensor{DType: flavors.Object, Shape: []int64{2},
		Data: []any{zip, map[string]any{"b": int64(1), "a": int64(2), "c": int64(3)}}}}
	for range 20 { // Go randomises map order: a stable answer is sorted
		b, err := renderPredictions(out)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"predictions": [{"0": 0.5, "1": 0.25, "10": 0.125, "2": 0.125}, {"a": 2, "b": 1, "c": 3}]}`
		if string(b) != want {
			t.Fatalf("got  %s\nwant %s", b, want)
		}
	}
	j, err := json.Marshal(zip)
	if err != nil || string(j) != `{"0":0.5,"1":0.25,"10":0.125,"2":0.125}` {
		t.Fatalf("MarshalJSON = %s, %v", j, err)
	}
}
