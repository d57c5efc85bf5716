package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestToV2(t *testing.T) {
	tests := []struct {
		name, body, want string
		wantErr          bool
	}{
		{
			name: "dataframe_split with a string column",
			body: `{"dataframe_split": {"columns": ["x1", "color"], "data": [[0.5, "red"], [1, "blue"]]}}`,
			want: `{"parameters":{"content_type":"pd"},"inputs":[` +
				`{"name":"x1","shape":[2],"datatype":"FP64","data":[0.5,1]},` +
				`{"name":"color","shape":[2],"datatype":"BYTES","data":["red","blue"],"parameters":{"content_type":"str"}}]}`,
		},
		{
			name: "named tensor",
			body: `{"inputs": {"x": [[1, 2, 3], [4, 5, 6]]}}`,
			want: `{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`,
		},
		{name: "ragged rows", body: `{"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}`, wantErr: true},
		{name: "no known key", body: `{"instances": [1]}`, wantErr: true},
		{name: "not json", body: `{`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toV2([]byte(tt.body))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestHasKey(t *testing.T) {
	check := hasKey("predictions")
	if err := check([]byte(`{"predictions": [1]}`)); err != nil {
		t.Errorf("valid answer rejected: %v", err)
	}
	for _, bad := range []string{`{"outputs": []}`, `[1]`, `oops`} {
		if check([]byte(bad)) == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
