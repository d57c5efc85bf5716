package pkgformat

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	cases := []struct {
		in   string
		want URI
	}{
		{"models:/iris/3", URI{Scheme: "models", Kind: KindModelVersion, Name: "iris", Version: "3"}},
		{"models:/iris/3/", URI{Scheme: "models", Kind: KindModelVersion, Name: "iris", Version: "3"}},
		{"models:/iris/Production", URI{Scheme: "models", Kind: KindModelStage, Name: "iris", Stage: "Production"}},
		{"models:/iris/staging", URI{Scheme: "models", Kind: KindModelStage, Name: "iris", Stage: "staging"}},
		{"models:/iris/latest", URI{Scheme: "models", Kind: KindModelLatest, Name: "iris"}},
		{"models:/iris/LATEST", URI{Scheme: "models", Kind: KindModelLatest, Name: "iris"}},
		{"models:/iris@champion", URI{Scheme: "models", Kind: KindModelAlias, Name: "iris", Alias: "champion"}},
		{"models:/a@b@c", URI{Scheme: "models", Kind: KindModelAlias, Name: "a@b", Alias: "c"}},
		{"models:/iris@champion/sub/model.onnx", URI{Scheme: "models", Kind: KindModelAlias, Name: "iris", Alias: "champion", Path: "sub/model.onnx"}},
		{"models:/m-0123456789abcdef0123456789abcdef", URI{Scheme: "models", Kind: KindModelID, ModelID: "m-0123456789abcdef0123456789abcdef"}},
		{"models:/iris/3/data/model.onnx", URI{Scheme: "models", Kind: KindModelVersion, Name: "iris", Version: "3", Path: "data/model.onnx"}},
		{"models:/my model/Staging/MLmodel", URI{Scheme: "models", Kind: KindModelStage, Name: "my model", Stage: "Staging", Path: "MLmodel"}},
		{"MODELS:/iris/1", URI{Scheme: "models", Kind: KindModelVersion, Name: "iris", Version: "1"}},
		{"models://profile@databricks/iris/2", URI{Scheme: "models", Kind: KindModelVersion, Host: "profile@databricks", Name: "iris", Version: "2"}},
		{"runs:/0a1b2c/model", URI{Scheme: "runs", Kind: KindRun, RunID: "0a1b2c", Path: "model"}},
		{"runs:/0a1b2c", URI{Scheme: "runs", Kind: KindRun, RunID: "0a1b2c"}},
		{"runs:/0a1b2c/a/b/", URI{Scheme: "runs", Kind: KindRun, RunID: "0a1b2c", Path: "a/b"}},
		{"file:///tmp/my%20model", URI{Scheme: "file", Kind: KindLocal, Path: "/tmp/my model"}},
		{"file:/tmp/m", URI{Scheme: "file", Kind: KindLocal, Path: "/tmp/m"}},
		{"file://localhost/tmp/m", URI{Scheme: "file", Kind: KindLocal, Path: "/tmp/m"}},
		{"/abs/model", URI{Kind: KindLocal, Path: "/abs/model"}},
		{"rel/model", URI{Kind: KindLocal, Path: "rel/model"}},
		{"./model:v1", URI{Kind: KindLocal, Path: "./model:v1"}},
		{"mlflow-artifacts:/1/abc/artifacts/model", URI{Scheme: "mlflow-artifacts", Kind: KindMLflowArtifacts, Path: "1/abc/artifacts/model"}},
		{"mlflow-artifacts://127.0.0.1:5000/1/abc", URI{Scheme: "mlflow-artifacts", Kind: KindMLflowArtifacts, Host: "127.0.0.1:5000", Path: "1/abc"}},
		{"s3://bucket/path/to/model", URI{Scheme: "s3", Kind: KindS3, Host: "bucket", Path: "path/to/model"}},
		{"s3://bucket", URI{Scheme: "s3", Kind: KindS3, Host: "bucket"}},
		{"gs://bucket/path/to/model", URI{Scheme: "gs", Kind: KindGCS, Host: "bucket", Path: "path/to/model"}},
		{"wasbs://ctr@acct.blob.core.windows.net/m", URI{Scheme: "wasbs", Kind: KindAzure, Host: "ctr@acct.blob.core.windows.net", Path: "m"}},
		{"abfss://fs@acct.dfs.core.windows.net/m", URI{Scheme: "abfss", Kind: KindAzure, Host: "fs@acct.dfs.core.windows.net", Path: "m"}},
		{"https://example.com/m/model.tar.gz", URI{Scheme: "https", Kind: KindHTTP, Host: "example.com", Path: "m/model.tar.gz"}},
		{"http://127.0.0.1:8080/x", URI{Scheme: "http", Kind: KindHTTP, Host: "127.0.0.1:8080", Path: "x"}},
	}
	for _, c := range cases {
		got, err := ParseURI(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		c.want.Raw = c.in
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

func TestParseURIErrors(t *testing.T) {
	cases := map[string]string{
		"":                                     "empty URI",
		"models:/":                             "models:/<name>/<version>",
		"models:":                              "missing model name",
		"models:/ /1":                          "empty model name",
		"models:/iris@":                        "alias",
		"models:/@champion":                    "alias",
		"models:/iris/ /x":                     "empty version",
		"runs:/":                               "'runs:/<run_id>/<path>'",
		"runs:":                                "missing run id",
		"s3:/bucket/key":                       "missing bucket",
		"https:///x":                           "host",
		"ftp://b/k":                            `unsupported scheme "ftp"`,
		"gs:///k":                              "missing bucket",
		"wasbs://acct.blob.core.windows.net/k": "missing container",
		"file://remote/x":                      "not local",
		"mlflow-artifacts://":                  "empty host",
		"models:/a\n/1":                        "control character",
	}
	for in, want := range cases {
		_, err := ParseURI(in)
		var ue *URIError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to contain %q", in, err, want)
			continue
		}
		if in != "" && !strings.Contains(err.Error(), strings.TrimSpace(strings.Split(in, "\n")[0])) {
			t.Errorf("%q: error does not quote the URI: %v", in, err)
		}
		if ue.ErrorCode() != "INVALID_PARAMETER_VALUE" {
			t.Errorf("code %s", ue.ErrorCode())
		}
	}
}

func TestModelURI(t *testing.T) {
	for in, want := range map[string]string{
		"models:/iris/3/a/b":     "models:/iris/3",
		"models:/iris@c/x":       "models:/iris@c",
		"models:/iris/Latest":    "models:/iris/latest",
		"models:/iris/Staging/x": "models:/iris/Staging",
		"models:/m-1":            "models:/m-1",
	} {
		u, err := ParseURI(in)
		if err != nil || u.ModelURI() != want {
			t.Errorf("%s: %q %v", in, u.ModelURI(), err)
		}
	}
	u, _ := ParseURI("runs:/r/m")
	if u.IsRegistry() || u.ModelURI() != "" {
		t.Error("runs URI is not a registry URI")
	}
}
