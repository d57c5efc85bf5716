package store

import (
	"os"
	"testing"
)

// TestResolveLocal checks MLflow's artifact location rule (values taken
// from a real mlflow server 3.17.2 started in the directory cwd).
func TestResolveLocal(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"my_loc":              cwd + "/my_loc",
		"./dot":               cwd + "/dot",
		"a//b/./c":            cwd + "/a/b/c",
		"file:rel":            "file://" + cwd + "/rel",
		"file:///abs/x":       "file:///abs/x",
		"/abs/y":              "/abs/y",
		"s3://b/x":            "s3://b/x",
		"":                    "",
		"mlflow-artifacts:/x": "mlflow-artifacts:/x",
	} {
		if got := ResolveLocal(in); got != want {
			t.Errorf("ResolveLocal(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSampleRows checks the bulk interval sampling against what a real
// mlflow server 3.17.2 answered for 40 steps (0..39) and max_results 7.
func TestSampleRows(t *testing.T) {
	rows := make([]Metric, 40)
	for i := range rows {
		rows[i].Step = int64(i)
	}
	// NTILE(39) over 40 rows: the first bucket holds rows 0 and 1.
	all, but1 := make([]int64, 40), []int64{0}
	for i := range all {
		all[i] = int64(i)
		if i >= 2 {
			but1 = append(but1, int64(i))
		}
	}
	for k, want := range map[int][]int64{7: {0, 6, 12, 18, 24, 30, 39}, 1: {39}, 40: all, 39: but1} {
		got := sampleRows(rows, k)
		if len(got) != len(want) {
			t.Fatalf("k=%d: %d rows, want %v", k, len(got), want)
		}
		for i := range got {
			if got[i].Step != want[i] {
				t.Fatalf("k=%d: row %d is step %d, want %v", k, i, got[i].Step, want)
			}
		}
	}
}
