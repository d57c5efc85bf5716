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
